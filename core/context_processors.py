from django.conf import settings
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse

from core.local_time import TZ_NAME


def _street_tiles_url() -> str:
    """The site's own street tiles (served by commutes), as a {z}/{x}/{y} template."""
    try:
        sample = reverse("streets:street-tile", args=(0, 0, 0))
    except NoReverseMatch:
        return ""
    return sample.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")


def site(request):
    """Settings every page's JavaScript reads (static/js/basemap.js: readConfig):
    the map (tiles are optional) and Seattle's time zone.

    Without MAP_TILES_URL the pages draw the bundled OpenStreetMap streets as vector
    tiles served by this site, so no map view leaves it.
    """
    return {
        "site_config": {
            "tilesUrl": settings.MAP_TILES_URL,
            "tilesAttribution": settings.MAP_TILES_ATTRIBUTION,
            "streetTilesUrl": "" if settings.MAP_TILES_URL else _street_tiles_url(),
            "streetsAttribution": (
                '&copy; <a href="https://www.openstreetmap.org/copyright">'
                "OpenStreetMap</a> contributors"
            ),
            "vectorGridUrl": static(
                "vendor/leaflet-vectorgrid/Leaflet.VectorGrid.bundled.min.js"
            ),
            "center": list(settings.SEATTLE_CENTER),
            "timeZone": TZ_NAME,
        }
    }
