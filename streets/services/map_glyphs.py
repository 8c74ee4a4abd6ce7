"""The base map's glyphs: MapLibre's font PBF ranges, made from a font on the machine.

MapLibre draws every label from signed-distance-field glyphs it fetches in ranges of
256 code points (``{fontstack}/{start}-{end}.pbf``). The usual maker (npm
``fontnik``) downloads native binaries from another host, so the site makes its own:
each glyph is rasterised by FreeType (Pillow) at ``OVERSAMPLE`` times the 24 px em
MapLibre expects, a Euclidean distance transform (scipy) on both sides of the edge
gives the signed distance, and the field is averaged down to 24 px and written with
the same constants as fontnik (3 px border, 8 px radius, cutoff 0.25: the glyph's
edge is the value 191, which MapLibre's shader reads as the outline) in the
``glyphs.proto`` message layout, encoded by hand (three messages, seven fields).

No Django here: ``manage.py build_glyphs`` writes the files and the glyph view serves
them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import distance_transform_edt

EM_PX = 24  # MapLibre lays text out on a 24 px em (ONE_EM)
BORDER = 3  # GLYPH_PBF_BORDER in MapLibre
RADIUS = 8.0
CUTOFF = 0.25
OVERSAMPLE = 4
# MapLibre places a glyph by its top relative to an origin above the em box; FreeType
# makers put it near the ascender. 26 px lines DejaVu's capitals up with MapLibre's
# own local-font glyphs (its topAdjustment is 27.5 on the baseline).
TOP_ORIGIN = 26
RANGE_SIZE = 256
MAX_CODEPOINT = 65535

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Font stack name (what a style's text-font says) -> file (apt fonts-dejavu-core).
FONTS = {
    "DejaVu Sans Book": "DejaVuSans.ttf",
    "DejaVu Sans Bold": "DejaVuSans-Bold.ttf",
}


class UnknownFont(LookupError):
    pass


@dataclass(frozen=True)
class Glyph:
    codepoint: int
    bitmap: bytes  # (width + 6) x (height + 6) SDF bytes, empty for a blank glyph
    width: int
    height: int
    left: int
    top: int
    advance: int


def font_path(stack: str, font_dir: Path = FONT_DIR) -> Path:
    try:
        return font_dir / FONTS[stack]
    except KeyError:
        raise UnknownFont(f"no font stack {stack!r}; known: {sorted(FONTS)}") from None


def range_bounds(start: int) -> tuple[int, int]:
    """(start, end) of the range that begins at ``start`` (a multiple of 256)."""
    if start % RANGE_SIZE or not 0 <= start <= MAX_CODEPOINT:
        raise ValueError(f"a glyph range starts at a multiple of 256, not {start}")
    return start, start + RANGE_SIZE - 1


@cache
def _coverage(path: Path) -> frozenset[int]:
    return frozenset(TTFont(str(path), lazy=True).getBestCmap())


@cache
def _font(path: Path) -> ImageFont.FreeTypeFont:
    # One glyph at a time needs no shaping; raqm refuses some lone marks and controls.
    return ImageFont.truetype(
        str(path), EM_PX * OVERSAMPLE, layout_engine=ImageFont.Layout.BASIC
    )


def render_glyph(path: Path, codepoint: int) -> Glyph:
    """One glyph's SDF and metrics (px at the 24 px em)."""
    font = _font(path)
    char = chr(codepoint)
    s = OVERSAMPLE
    advance = round(font.getlength(char) / s)
    x0, y0, x1, y1 = font.getbbox(char, anchor="ls")
    if x1 <= x0 or y1 <= y0:
        return Glyph(codepoint, b"", 0, 0, 0, 0, advance)
    # The glyph's box in 24 px pixels (y grows downwards, 0 at the baseline).
    left, top = math.floor(x0 / s), math.floor(y0 / s)
    width, height = math.ceil(x1 / s) - left, math.ceil(y1 / s) - top
    out_w, out_h = width + 2 * BORDER, height + 2 * BORDER
    image = Image.new("L", (out_w * s, out_h * s), 0)
    origin = ((BORDER - left) * s, (BORDER - top) * s)
    ImageDraw.Draw(image).text(origin, char, font=font, fill=255, anchor="ls")
    ink = np.asarray(image) >= 128
    # Distance (in 24 px pixels) to the edge: positive outside the glyph.
    signed = (distance_transform_edt(~ink) - distance_transform_edt(ink)) / s
    field = signed.reshape(out_h, s, out_w, s).mean(axis=(1, 3))
    values = np.clip(np.rint(255 - 255 * (field / RADIUS + CUTOFF)), 0, 255)
    return Glyph(
        codepoint,
        values.astype(np.uint8).tobytes(),
        width,
        height,
        left,
        -top - TOP_ORIGIN,
        advance,
    )


def glyph_range(stack: str, start: int, font_dir: Path = FONT_DIR) -> bytes:
    """The PBF of one font stack's range ``start``..``start + 255``."""
    first, last = range_bounds(start)
    path = font_path(stack, font_dir)
    covered = _coverage(path)
    glyphs = [render_glyph(path, cp) for cp in range(first, last + 1) if cp in covered]
    return encode_fontstack(stack, f"{first}-{last}", glyphs)


def covered_ranges(stack: str, font_dir: Path = FONT_DIR) -> list[int]:
    """Starts of the ranges in which the font has at least one glyph."""
    return sorted(
        {
            cp - cp % RANGE_SIZE
            for cp in _coverage(font_path(stack, font_dir))
            if cp <= MAX_CODEPOINT
        }
    )


# --- protobuf (glyphs.proto: glyphs { repeated fontstack stacks = 1 }) --------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _glyph_message(g: Glyph) -> bytes:
    out = _key(1, 0) + _varint(g.codepoint)
    if g.bitmap:
        out += _bytes_field(2, g.bitmap)
    out += _key(3, 0) + _varint(g.width) + _key(4, 0) + _varint(g.height)
    out += _key(5, 0) + _varint(_zigzag(g.left)) + _key(6, 0) + _varint(_zigzag(g.top))
    return out + _key(7, 0) + _varint(g.advance)


def encode_fontstack(name: str, range_name: str, glyphs: list[Glyph]) -> bytes:
    stack = _bytes_field(1, name.encode()) + _bytes_field(2, range_name.encode())
    for g in glyphs:
        stack += _bytes_field(3, _glyph_message(g))
    return _bytes_field(1, stack)
