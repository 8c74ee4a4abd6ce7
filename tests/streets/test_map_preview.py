"""The base map's preview (static/map/preview/, manage.py render_map_preview): images
of the city MapLibre drew once, which the pages show until MapLibre starts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from django.test import RequestFactory
from PIL import Image

from core.context_processors import site
from streets.services import map_preview
from streets.services.street_tiles import HALF_WORLD
from tests.reference_data import ensure_streets

PREVIEW = Path(__file__).parents[2] / "static" / "map" / "preview"
MANIFEST = json.loads((PREVIEW / "preview.json").read_text())
LAKE_UNION = (-122.3380, 47.6390)
DOWNTOWN = (-122.3331, 47.6062)
WATER = (0xAA, 0xCB, 0xE6)  # the style's water fill
SEATTLE = (-122.436, 47.495, -122.235, 47.735)  # the city limits' box, lon/lat


def test_the_preview_was_drawn_with_the_style_on_disk():
    # A change to static/map/style.json needs `manage.py render_map_preview` (and the
    # new images committed): the first view of every map would show the old style.
    assert MANIFEST["style_sha256"] == map_preview.style_digest()
    style = json.loads(map_preview.STYLE_PATH.read_text())
    assert MANIFEST["attribution"] == style["sources"]["base"]["attribution"]


def test_every_page_zoom_has_both_passes_and_they_cover_the_city():
    zooms = [image["z"] for image in MANIFEST["images"]]
    assert zooms == [10 + q / 4 for q in range(9)]  # the pages' quarter zooms
    for image in MANIFEST["images"]:
        (south, west), (north, east) = image["bounds"]
        assert west < SEATTLE[0] and east > SEATTLE[2]
        assert south < SEATTLE[1] and north > SEATTLE[3]
        base = Image.open(PREVIEW / image["base"])
        labels = Image.open(PREVIEW / image["labels"])
        assert base.size == labels.size
        assert base.mode == "RGB" and labels.mode == "RGBA"  # labels: transparent


def _pixel(
    image_entry: dict, lon: float, lat: float, folder: Path = PREVIEW
) -> tuple[int, int, int]:
    """The base image's colour at lon/lat (Web Mercator between its bounds)."""
    (south, west), (north, east) = image_entry["bounds"]
    image = Image.open(folder / image_entry["base"]).convert("RGB")

    def merc_y(la: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(la) / 2))

    x = (lon - west) / (east - west) * image.width
    y = (merc_y(north) - merc_y(lat)) / (merc_y(north) - merc_y(south)) * image.height
    return image.getpixel((int(x), int(y)))


def _near(colour, target, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, target, strict=True))


def test_lake_union_is_water_in_the_preview_and_downtown_is_not():
    for image in MANIFEST["images"]:
        assert _near(_pixel(image, *LAKE_UNION), WATER), image["z"]
        assert not _near(_pixel(image, *DOWNTOWN), WATER), image["z"]


def test_frames_cover_the_city_and_a_laptop_frame_around_it():
    extent = (-13630000.0, 6020000.0, -13605000.0, 6060000.0)  # about Seattle, metres
    frame = map_preview.frame_for(11, extent)
    per_px = 2 * HALF_WORLD / (256 * 2**11)
    assert frame.width >= (extent[2] - extent[0]) / per_px * 1.1
    assert frame.height >= (extent[3] - extent[1]) / per_px * 1.1
    assert (frame.width, frame.height) >= map_preview.MIN_FRAME
    (south, west), (north, east) = frame.bounds()
    assert west < -122.44 < -122.22 < east


def test_site_config_lists_the_preview_with_static_urls():
    site_config = site(RequestFactory().get("/"))["site_config"]
    preview = site_config["mapPreview"]
    assert preview["attribution"].startswith("© OpenStreetMap contributors")
    assert [i["z"] for i in preview["images"]] == [i["z"] for i in MANIFEST["images"]]
    first = preview["images"][0]
    assert first["base"].endswith(".webp") and "/map/preview/base-10" in first["base"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_render_draws_water_and_names_from_the_sites_own_tiles(tmp_path, browser):
    """The renderer itself (one zoom): MapLibre in the system Chromium, this site's
    tiles, style and glyphs, served by a thread of this process."""
    ensure_streets()
    manifest = map_preview.render(
        tmp_path, zooms=(11,), log=lambda _line: None, browser=browser
    )
    (image,) = manifest["images"]
    assert _near(_pixel(image, *LAKE_UNION, folder=tmp_path), WATER)
    labels = Image.open(tmp_path / image["labels"])
    # The labels pass is text on nothing: mostly transparent, some ink.
    alpha = labels.getchannel("A").histogram()
    assert alpha[0] > 0.8 * sum(alpha) and sum(alpha[200:]) > 500


def test_webp_sizes_stay_small():
    # What a page downloads for its first map view: one zoom's two images.
    for image in MANIFEST["images"]:
        size = sum((PREVIEW / image[p]).stat().st_size for p in ("base", "labels"))
        assert size < 200 * 1024, image["z"]
