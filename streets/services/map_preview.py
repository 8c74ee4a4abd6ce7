"""The base map's preview: images of the city, drawn once by MapLibre.

A page shows these at once (a few small images, no WebGL) and starts MapLibre only
when someone reaches for the map (static/js: the map adapter). MapLibre's first
frames, software-rendered where a phone or a headless browser has no GPU, cost
seconds of main thread; the preview costs none.

Each Leaflet zoom in ``ZOOMS`` is drawn by MapLibre, with the site's own style, tiles
and glyphs, in the system Chromium (Playwright) at twice the pixels (a phone's
screen), in two passes: the map without its labels (opaque) and the labels alone
(transparent), so a page can draw its heat between the two as MapLibre does. A pass
covers the city and a laptop's frame around it and is written as one WebP
under ``static/map/preview/`` (a static file like any other: hashed, cached for
good), with ``preview.json`` saying each image's zoom and bounds and the style it was
drawn with (a test compares that with the style on disk). A page shows the image of
the zoom nearest its own. ``manage.py render_map_preview`` runs it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

from streets.services.street_tiles import HALF_WORLD, network_extent

# Leaflet zooms, in the pages' steps (zoomSnap 0.25): a page fits the city in its
# frame at one of these, so its first view shows an image at its own scale (text the
# size MapLibre draws it). Closer in, MapLibre draws (a zoom past these starts it).
ZOOMS = tuple(10 + q / 4 for q in range(9))  # 10 .. 12
SCALE = 2  # image pixels per CSS pixel (a phone's screen)
TILE = 256  # Leaflet's world is 256 * 2**zoom CSS pixels wide
# Every image covers at least this much around the city's centre (CSS pixels): a
# frame of up to this size that fits the city shows no edge.
MIN_FRAME = (1400, 1000)
MARGIN = 1.1  # and the city with a tenth to spare
QUALITY = 80  # WebP; the map is flat colour and text, lossy at 80 keeps edges clean
STYLE_PATH = Path(settings.BASE_DIR) / "static" / "map" / "style.json"
OUT_DIR = Path(settings.BASE_DIR) / "static" / "map" / "preview"
MANIFEST = "preview.json"
LABEL_TYPES = ("symbol", "circle")  # the style's labels (and station dots)


def style_digest(path: Path = STYLE_PATH) -> str:
    """SHA-256 of the style file: the manifest's record of what drew the preview."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Frame:
    """One image: its zoom, centre (EPSG:3857 metres) and size in CSS pixels."""

    z: float
    cx: float
    cy: float
    width: int
    height: int

    @property
    def metres_per_px(self) -> float:
        return 2 * HALF_WORLD / (TILE * 2**self.z)

    def center_lonlat(self) -> tuple[float, float]:
        return _lonlat(self.cx, self.cy)

    def bounds(self) -> list[list[float]]:
        """[[south, west], [north, east]] (Leaflet's order)."""
        half_w = self.width / 2 * self.metres_per_px
        half_h = self.height / 2 * self.metres_per_px
        west, south = _lonlat(self.cx - half_w, self.cy - half_h)
        east, north = _lonlat(self.cx + half_w, self.cy + half_h)
        return [[round(south, 7), round(west, 7)], [round(north, 7), round(east, 7)]]

    @property
    def name(self) -> str:
        return f"{self.z:g}".replace(".", "_")


def _lonlat(x: float, y: float) -> tuple[float, float]:
    """EPSG:3857 metres -> lon/lat."""
    lon = x / HALF_WORLD * 180
    lat = math.degrees(2 * math.atan(math.exp(y / HALF_WORLD * math.pi)) - math.pi / 2)
    return lon, lat


def city_bounds(extent: tuple[float, float, float, float]) -> list[list[float]]:
    """[[south, west], [north, east]] of ``extent`` (EPSG:3857 metres)."""
    west, south = _lonlat(extent[0], extent[1])
    east, north = _lonlat(extent[2], extent[3])
    return [[round(south, 6), round(west, 6)], [round(north, 6), round(east, 6)]]


def frame_for(z: float, extent: tuple[float, float, float, float]) -> Frame:
    """The image at zoom ``z`` for the city in ``extent`` (EPSG:3857 metres)."""
    xmin, ymin, xmax, ymax = extent
    per_px = 2 * HALF_WORLD / (TILE * 2**z)
    width = max(MIN_FRAME[0], math.ceil((xmax - xmin) / per_px * MARGIN))
    height = max(MIN_FRAME[1], math.ceil((ymax - ymin) / per_px * MARGIN))
    return Frame(z, (xmin + xmax) / 2, (ymin + ymax) / 2, width, height)


_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{css}">
<style>html,body{{margin:0;background:transparent}}#map{{width:{w}px;height:{h}px}}</style>
</head><body><div id="map"></div>
<script type="module">
import * as maplibregl from "{js}";
maplibregl.setWorkerUrl(new URL("{worker}", location.href).href);
const abs = (p) => new URL(p, location.href).href
  .replace(/%7B/g, "{{").replace(/%7D/g, "}}");
const style = await (await fetch("{style}")).json();
style.sources.base.tiles = [abs("{tiles}")];
style.glyphs = abs("{glyphs}");
const labels = new Set({label_types});
const pass = new URLSearchParams(location.search).get("pass");
style.layers = style.layers.filter((l) => (pass === "labels") === labels.has(l.type));
const map = new maplibregl.Map({{
  container: "map", style, center: [{lon}, {lat}], zoom: {zoom},
  interactive: false, attributionControl: false, fadeDuration: 0,
  pixelRatio: {scale}, canvasContextAttributes: {{preserveDrawingBuffer: true}},
}});
map.once("idle", () => {{ window.previewDone = true; }});
map.on("error", (e) => {{ window.previewError = String(e.error || e); }});
</script></body></html>"""


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):  # the render's requests are not news
        pass


def _serve():
    """This site (with its static files) on an ephemeral loopback port, in a thread."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application

    httpd = make_server(
        "127.0.0.1",
        0,
        StaticFilesHandler(get_wsgi_application()),
        handler_class=_Quiet,
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def _tiles_template() -> str:
    return reverse("streets:street-tile", args=(0, 0, 0)).replace(
        "/0/0/0.pbf", "/{z}/{x}/{y}.pbf"
    )


def _glyphs_template() -> str:
    return reverse("streets:glyphs", args=("f", 0, 255)).replace(
        "/f/0-255.pbf", "/{fontstack}/{range}.pbf"
    )


def _render_pass(page, base: str, r: Frame, pass_name: str) -> bytes:
    """One pass of one frame as a PNG screenshot."""
    lon, lat = r.center_lonlat()
    html = _PAGE.format(
        css=static("vendor/maplibre-gl/maplibre-gl.css"),
        js=static("vendor/maplibre-gl/maplibre-gl.mjs"),
        worker=static("vendor/maplibre-gl/maplibre-gl-worker.mjs"),
        style=static("map/style.json"),
        tiles=_tiles_template(),
        glyphs=_glyphs_template(),
        label_types=json.dumps(list(LABEL_TYPES)),
        w=r.width,
        h=r.height,
        lon=lon,
        lat=lat,
        zoom=r.z - 1,  # MapLibre's 512 px tiles: its zoom is Leaflet's minus one
        scale=SCALE,
    )
    url = f"{base}/__map_preview__?pass={pass_name}"
    page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.set_viewport_size({"width": r.width, "height": r.height})
    page.goto(url)
    page.wait_for_function(
        "() => window.previewDone || window.previewError", timeout=300_000
    )
    error = page.evaluate("() => window.previewError || null")
    if error:
        raise RuntimeError(f"MapLibre could not draw zoom {r.z}: {error}")
    return page.locator("#map canvas").screenshot(omit_background=True)


def _save(png: bytes, path: Path, opaque: bool) -> int:
    """Writes one pass as WebP; returns the bytes written."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB" if opaque else "RGBA")
    buf = io.BytesIO()
    image.save(buf, "WEBP", quality=QUALITY, method=6)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return len(buf.getvalue())


def _draw(browser, base: str, ranges: list[Frame], out: Path, log) -> list[dict]:
    page = browser.new_page(device_scale_factor=SCALE)
    images = []
    try:
        for r in ranges:
            entry = {"z": r.z, "bounds": r.bounds()}
            for pass_name in ("base", "labels"):
                png = _render_pass(page, base, r, pass_name)
                name = f"{pass_name}-{r.name}.webp"
                size = _save(png, out / name, opaque=pass_name == "base")
                entry[pass_name] = name
                log(
                    f"zoom {r.z:g} {pass_name}: {r.width * SCALE}x"
                    f"{r.height * SCALE} px, {size / 1024:.0f} KiB"
                )
            images.append(entry)
    finally:
        page.close()
    return images


def render(out: Path = OUT_DIR, zooms=ZOOMS, log=print, browser=None) -> dict:
    """Draws every zoom's two passes into ``out`` and writes the manifest. ``browser``:
    a Playwright Chromium to draw in (the tests' own); else the system Chromium is
    started for it."""
    from playwright.sync_api import sync_playwright

    extent = network_extent()
    if extent is None:
        raise RuntimeError("no street network loaded: manage.py load_streets first")
    httpd = _serve()
    base = f"http://127.0.0.1:{httpd.server_port}"
    ranges = [frame_for(z, extent) for z in zooms]
    try:
        if browser is not None:
            images = _draw(browser, base, ranges, out, log)
        else:
            with sync_playwright() as pw:
                chromium = pw.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=["--no-sandbox", "--disable-gpu"],
                )
                images = _draw(chromium, base, ranges, out, log)
                chromium.close()
    finally:
        httpd.shutdown()
    credit = json.loads(STYLE_PATH.read_text())["sources"]["base"]["attribution"]
    manifest = {
        "about": "Made by manage.py render_map_preview (streets.services.map_preview)",
        "style_sha256": style_digest(),
        # What the map credits, as the style's source does (the images are the map).
        "attribution": credit,
        "scale": SCALE,
        # The city's box: a page fits it at once, before the city limits arrive.
        "city": city_bounds(extent),
        "images": images,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
