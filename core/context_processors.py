import functools
import json

from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse

from core import csp
from core.local_time import TZ_NAME


def _street_tiles_url() -> str:
    """The site's own street tiles (served by commutes), as a {z}/{x}/{y} template."""
    try:
        sample = reverse("streets:street-tile", args=(0, 0, 0))
    except NoReverseMatch:
        return ""
    return sample.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")


def _glyphs_url() -> str:
    """The base map's glyph ranges, as MapLibre's {fontstack}/{range} template."""
    try:
        sample = reverse("streets:glyphs", args=("f", 0, 255))
    except NoReverseMatch:
        return ""
    return sample.replace("/f/0-255.pbf", "/{fontstack}/{range}.pbf")


@functools.cache
def _map_preview() -> dict | None:
    """The base map's preview images (static/map/preview/preview.json, made by
    ``manage.py render_map_preview``): zoom, bounds and the static URL of each pass,
    and what the map credits. None when the site has none (the map then starts
    MapLibre when idle)."""
    path = finders.find("map/preview/preview.json")
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    return {
        "attribution": manifest["attribution"],
        "city": manifest["city"],
        "images": [
            {
                "z": image["z"],
                "bounds": image["bounds"],
                "base": static("map/preview/" + image["base"]),
                "labels": static("map/preview/" + image["labels"]),
            }
            for image in manifest["images"]
        ],
    }


def site(request):
    """Settings every page's JavaScript reads (static/js/lib/config.js: siteConfig):
    the map (tiles are optional) and Seattle's time zone; and `csp_nonce`, this
    request's Content-Security-Policy nonce (core.csp) for an inline script or style:
    ``<script nonce="{{ csp_nonce }}">``.

    Without MAP_TILES_URL (the default) the pages draw the site's own base map:
    vector tiles, style, glyphs and MapLibre GL all served by this site, so no map
    view leaves it.
    """
    return {
        "csp_nonce": csp.nonce(request),
        "site_config": {
            "tilesUrl": settings.MAP_TILES_URL,
            "tilesAttribution": settings.MAP_TILES_ATTRIBUTION,
            "streetTilesUrl": "" if settings.MAP_TILES_URL else _street_tiles_url(),
            "glyphsUrl": _glyphs_url(),
            "mapStyleUrl": static("map/style.json"),
            "maplibreUrl": static("vendor/maplibre-gl/maplibre-gl.mjs"),
            "maplibreWorkerUrl": static("vendor/maplibre-gl/maplibre-gl-worker.mjs"),
            "maplibreCssUrl": static("vendor/maplibre-gl/maplibre-gl.css"),
            "maplibreLeafletUrl": static(
                "vendor/maplibre-gl-leaflet/leaflet-maplibre-gl.js"
            ),
            "mapPreview": None if settings.MAP_TILES_URL else _map_preview(),
            "center": list(settings.SEATTLE_CENTER),
            "timeZone": TZ_NAME,
        },
    }
