"""Strict readers of request parameters: plain ASCII numbers and bounded times.

Python's own parsers are generous in ways an API must not be: ``int()`` takes
"٣" (an Arabic-Indic 3), " 7 " and "1_000"; ``float()`` takes "nan", "inf" and
"1_0.5"; ``str.isdigit()`` is true for "²", which ``int()`` then refuses with an
error nobody caught (a 500). Times far from the data overflow later, when a time
zone or an hour offset is applied. These readers accept exactly what the API
documents and answer None otherwise, so each caller raises its own 400 naming the
parameter.
"""

from __future__ import annotations

import datetime as dt
import math
import re

_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_NUMBER = re.compile(
    r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,3})?"
)
# The data starts in 2008; no request needs a time outside these (and a time near
# year 1 or 9999 overflows once a zone offset or a week of hours is added).
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def ascii_int(raw: str) -> int | None:
    """The integer written as ASCII decimal digits (optionally signed), else None."""
    if not isinstance(raw, str) or not _INTEGER.fullmatch(raw):
        return None
    return int(raw)


def ascii_float(raw: str) -> float | None:
    """A finite number written in ASCII decimal notation, else None."""
    if not isinstance(raw, str) or not _NUMBER.fullmatch(raw):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def coordinate(raw: object, text: bool = False) -> float | None:
    """The one reader of a longitude or latitude, wherever it comes from, else None.

    A JSON body gives a number (int or float; never a bool, never a string: "47.6"
    and "٤٧.٦" were read as numbers by ``float()`` in commute bodies); a query string
    gives text (``text=True``), read by `ascii_float`. Either must be finite. Ranges
    (the globe, Seattle) are the caller's, since they differ by what is asked."""
    if isinstance(raw, str):
        return ascii_float(raw) if text else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        value = float(raw)
    except OverflowError:  # a JSON integer of hundreds of digits
        return None
    return value if math.isfinite(value) else None


# Text in a query parameter (a filter value, a place search): anything but control
# characters (C0, DEL, C1) and the Unicode line and paragraph separators, which would
# break a log line or an error message. A class both Python's re and the schema's
# ECMA-262 read alike: JSON Schema cannot name Unicode categories, so the rule that
# was str.isprintable() had no schema and refused text the schema promised (a
# no-break space, a zero-width joiner in an emoji).
_TEXT_CHAR = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
TEXT_PATTERN = f"^{_TEXT_CHAR}*$"
_TEXT = re.compile(f"{_TEXT_CHAR}*")


def is_text(raw: object, max_chars: int) -> bool:
    """Whether ``raw`` is text of at most ``max_chars`` characters (TEXT_PATTERN)."""
    return isinstance(raw, str) and len(raw) <= max_chars and bool(_TEXT.fullmatch(raw))


# Longitudes and latitudes written in a query's text as a list (`bbox`, `near`):
# plain decimals (at most 30 decimal places) whose pattern bounds them (-180..180,
# -90..90; a pattern cannot bound an exponent), so the schema's
# pattern is the whole rule. `coordinate` then reads each (every text the patterns
# match is a number it reads).
_FRACTION = r"(?:\.[0-9]{0,30})?"
_AXES = {
    "lon": rf"[+-]?(?:180(?:\.0{{0,30}})?|(?:1[0-7][0-9]|[0-9]{{1,2}}){_FRACTION})",
    "lat": rf"[+-]?(?:90(?:\.0{{0,30}})?|[0-9]{_FRACTION}|[0-8][0-9]{_FRACTION})",
}


def coordinates_pattern(*axes: str) -> str:
    """``lon,lat,...`` in the given order, a space allowed either side of a number
    (one: the whole value stays short enough for any request line)."""
    return "^" + ",".join(f" ?{_AXES[axis]} ?" for axis in axes) + "$"


def coordinate_list(raw: object, pattern: str) -> list[float] | None:
    """The numbers of ``raw`` if it matches a `coordinates_pattern`, else None."""
    if not isinstance(raw, str) or not re.fullmatch(pattern, raw):
        return None
    return [coordinate(part.strip(" "), text=True) for part in raw.split(",")]


def in_supported_range(moment: dt.datetime) -> bool:
    """Whether an aware time lies within [EARLIEST, LATEST)."""
    return EARLIEST <= moment < LATEST


# --- the same limits in the OpenAPI schema (OpenApiParameter(type=...)) --------------

_YEAR_PATTERN = r"^20[0-9]{2}-"


def int_schema(low: int, high: int) -> dict:
    return {"type": "integer", "minimum": low, "maximum": high}


def number_schema(low: float, high: float) -> dict:
    return {"type": "number", "minimum": low, "maximum": high}


def text_schema(max_chars: int) -> dict:
    """What `is_text` accepts (maxLength counts characters, as len() does)."""
    return {"type": "string", "maxLength": max_chars, "pattern": TEXT_PATTERN}


def date_schema() -> dict:
    """A date from EARLIEST to LATEST (a pattern: JSON Schema has no date bounds)."""
    return {"type": "string", "format": "date", "pattern": _YEAR_PATTERN}


def datetime_schema() -> dict:
    return {"type": "string", "format": "date-time", "pattern": _YEAR_PATTERN}


# An empty query value ("?start=") means "not given" to these readers (the history
# form sends its empty fields): a parameter marked with this extension is documented
# with ``allowEmptyValue: true`` (core.schema_hooks turns the mark into it).
BLANK_IS_ABSENT = "x-blank-is-absent"


def blank_is_absent(parameters: list) -> list:
    """``parameters`` (OpenApiParameter) marked: an empty value means not given."""
    for parameter in parameters:
        parameter.extensions = {**(parameter.extensions or {}), BLANK_IS_ABSENT: True}
    return parameters
