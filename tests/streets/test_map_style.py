"""The base map's one style file (static/map/style.json): readable and credited."""

from __future__ import annotations

import json
from pathlib import Path

STYLE = json.loads(
    (Path(__file__).parents[2] / "static" / "map" / "style.json").read_text()
)


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of #rrggbb."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _fills() -> list[str]:
    """Every colour a label can sit on: the land and every filled area."""
    colours = []
    for layer in STYLE["layers"]:
        paint = layer.get("paint", {})
        colours += [paint[k] for k in ("background-color", "fill-color") if k in paint]
        if layer["type"] == "line":
            colours.append(paint["line-color"])
    return colours


def test_contrast_formula_matches_wcag_reference_values():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the famous near miss


def test_every_label_reads_at_wcag_aa_against_its_halo_and_what_lies_under_it():
    labels = [layer for layer in STYLE["layers"] if layer["type"] == "symbol"]
    assert len(labels) >= 5
    for layer in labels:
        paint = layer["paint"]
        text, halo = paint["text-color"], paint["text-halo-color"]
        assert paint["text-halo-width"] >= 1, layer["id"]
        assert contrast(text, halo) >= 4.5, (layer["id"], contrast(text, halo))
        # A halo is thin: the text must also read on any fill it may cross.
        for under in _fills():
            assert contrast(text, under) >= 4.5, (layer["id"], under)


def test_the_style_credits_every_source_of_its_data():
    attribution = STYLE["sources"]["base"]["attribution"]
    for credit in ("OpenStreetMap contributors", "City of Seattle", "CC BY"):
        assert credit in attribution


def test_the_style_asks_nothing_of_another_host():
    urls = [STYLE["glyphs"], *STYLE["sources"]["base"]["tiles"]]
    assert all(url.startswith("/") and not url.startswith("//") for url in urls)
    assert "sprite" not in STYLE  # no icons: nothing to fetch
