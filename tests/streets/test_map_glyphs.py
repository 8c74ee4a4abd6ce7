"""The base map's glyphs: SDF font ranges made from DejaVu, in MapLibre's PBF layout.

The PBFs are read back with a protobuf reader written here from glyphs.proto (not the
encoder's helpers), and the browser tests see MapLibre draw labels from them.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from streets.services.map_glyphs import (
    BORDER,
    FONTS,
    UnknownFont,
    font_path,
    glyph_range,
    render_glyph,
)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i : i + size], i + size
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.append((field, value))
    return out


def _unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def read_glyphs(pbf: bytes) -> tuple[str, str, dict[int, dict]]:
    (field, stack), *rest = _fields(pbf)
    assert field == 1 and not rest
    name = range_name = None
    glyphs = {}
    for field, value in _fields(stack):
        if field == 1:
            name = value.decode()
        elif field == 2:
            range_name = value.decode()
        elif field == 3:
            g = {"bitmap": b""}
            for f, v in _fields(value):
                key = {
                    1: "id",
                    2: "bitmap",
                    3: "width",
                    4: "height",
                    5: "left",
                    6: "top",
                    7: "advance",
                }[f]
                g[key] = _unzigzag(v) if f in (5, 6) else v
            glyphs[g["id"]] = g
    return name, range_name, glyphs


@pytest.fixture(scope="module")
def latin():
    return read_glyphs(glyph_range("DejaVu Sans Book", 0))


def test_a_range_names_its_font_stack_and_its_code_points(latin):
    name, range_name, glyphs = latin
    assert (name, range_name) == ("DejaVu Sans Book", "0-255")
    assert set("Broadway Lake Union é") <= {chr(c) for c in glyphs}
    assert all(0 <= c <= 255 for c in glyphs)


def test_each_bitmap_is_the_glyph_box_plus_a_three_pixel_border(latin):
    glyphs = latin[2]
    for char in "BwLé":
        g = glyphs[ord(char)]
        assert len(g["bitmap"]) == (g["width"] + 2 * BORDER) * (
            g["height"] + 2 * BORDER
        )
        assert 8 <= g["advance"] <= 24 and g["height"] > 10


def test_the_field_is_inside_on_the_strokes_and_outside_around_them(latin):
    g = latin[2][ord("l")]  # one vertical stroke
    field = np.frombuffer(g["bitmap"], np.uint8).reshape(
        g["height"] + 2 * BORDER, g["width"] + 2 * BORDER
    )
    middle = field[field.shape[0] // 2]
    # MapLibre's edge is 192/256: the stroke's centre is above it, the margin below,
    # and the field falls off smoothly (a distance field, not a mask).
    assert middle.max() > 200
    assert middle[0] < 150 and middle[-1] < 150
    assert len(set(middle.tolist())) >= 4


def test_a_space_has_an_advance_and_no_bitmap(latin):
    space = latin[2][ord(" ")]
    assert space["bitmap"] == b"" and space["width"] == 0 and space["advance"] > 3


def test_capitals_sit_above_the_baseline_and_descenders_below():
    path = font_path("DejaVu Sans Book")
    cap, desc = render_glyph(path, ord("H")), render_glyph(path, ord("p"))
    # top is relative to a fixed origin above the em box: the same for every glyph,
    # so a taller glyph has a larger top and glyphs share one baseline.
    assert cap.top > desc.top
    assert desc.top - desc.height < cap.top - cap.height  # p reaches lower than H


def test_every_stack_the_style_uses_is_a_font_the_site_makes():
    import json
    from pathlib import Path

    style = json.loads(
        (Path(__file__).parents[2] / "static/map/style.json").read_text()
    )
    used = {
        font
        for layer in style["layers"]
        for font in layer.get("layout", {}).get("text-font", [])
    }
    assert used and used <= set(FONTS)


def test_an_unknown_font_or_a_misaligned_range_is_refused():
    with pytest.raises(UnknownFont):
        glyph_range("Comic Sans MS", 0)
    with pytest.raises(ValueError, match="multiple of 256"):
        glyph_range("DejaVu Sans Book", 100)


@pytest.mark.django_db
def test_the_site_serves_a_range_gzipped_and_cached_for_good(
    client, settings, tmp_path
):
    settings.MAP_GLYPHS_DIR = tmp_path
    from django.urls import reverse

    url = reverse("streets:glyphs", args=("DejaVu Sans Bold", 0, 255))
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    name, range_name, glyphs = read_glyphs(gzip.decompress(response.content))
    assert (name, range_name) == ("DejaVu Sans Bold", "0-255") and ord("W") in glyphs
    assert list(tmp_path.rglob("*.pbf.gz")), "a range made once is kept on disk"
    plain = client.get(url)
    assert "Content-Encoding" not in plain and read_glyphs(plain.content)[0] == name
    # MapLibre asks for a stack by its fonts joined with commas: the first known wins.
    stack = reverse("streets:glyphs", args=("Nope,DejaVu Sans Book", 0, 255))
    assert read_glyphs(client.get(stack).content)[0] == "DejaVu Sans Book"
    for bad in (
        reverse("streets:glyphs", args=("Comic Sans MS", 0, 255)),
        reverse("streets:glyphs", args=("DejaVu Sans Book", 0, 100)),
        reverse("streets:glyphs", args=("DejaVu Sans Book", 100, 355)),
    ):
        assert client.get(bad).status_code == 404, bad
