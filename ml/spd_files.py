"""Reading SPD crime files: format detection and row parsing, no database.

The one parser of SPD files: the importer (crimes.services.importing) stages its rows
in PostgreSQL, ml.events.load_spd_csv turns them into Events. Django-free.

Three formats carry the same records (see tests/fixtures/spd/README.md):

* the portal CSV export in the pre-2025 schema (UTF-8 BOM, ``MM/DD/YYYY hh:mm:ss AM``),
* the 2025 NIBRS republish CSV (``2025 May 23 03:00:00 PM``),
* SODA API JSON (an array of objects, every value a string, nulls omitted,
  floating ``2019-01-01T00:00:00.000`` timestamps), in either schema's field names.

`open_spd_file` recognises the format from the first bytes and header and yields one
staging row per record: either the normalised values or a rejection reason. Everything
streams: memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import json
import math
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from ml.timeutil import TZ_NAME

SEATTLE = ZoneInfo(TZ_NAME)
CHUNK_BYTES = 1 << 20
RAW_MAX_CHARS = 2000

# Far outside Seattle = outside the city's bounding box (-122.46..-122.22 lon,
# 47.48..47.74 lat) plus about 8 km on every side: records a little outside the city
# limits are real (border streets, geocoding slop) and are kept.
LON_MIN, LON_MAX = -122.56, -122.12
LAT_MIN, LAT_MAX = 47.41, 47.81

# The Incident columns every format maps to, in staging-table order. The import
# writes exactly these (importing.STAGING_COLUMNS); the generated columns (x_utm,
# y_utm, local_hour, local_dow) are never written: PostgreSQL derives them.
DATA_COLUMNS = (
    "report_number",
    "offense_start",
    "offense_end",
    "reported_at",
    "group_a_b",
    "crime_against",
    "offense_parent_group",
    "offense",
    "offense_code",
    "precinct",
    "sector",
    "beat",
    "mcpp",
    "block_address",
    "shooting_type_group",
    "reporting_area",
)
TIME_COLUMNS = ("offense_start", "offense_end", "reported_at")
# What a format's source columns map to: the key, the data columns, the location.
TARGET_FIELDS = ("offense_id", *DATA_COLUMNS, "longitude", "latitude")
# Column widths of crimes.Incident: a longer value is rejected here, because one
# over-long value would make the whole COPY fail.
MAX_LENGTHS = {
    "report_number": 32,
    "group_a_b": 2,
    "offense_parent_group": 96,
    "offense": 128,
    "offense_code": 8,
    "precinct": 16,
    "sector": 16,
    "beat": 16,
    "mcpp": 64,
    "block_address": 128,
    "shooting_type_group": 64,
    "reporting_area": 16,
}
CRIME_AGAINST = {"PERSON", "PROPERTY", "SOCIETY", "NOT_A_CRIME"}
# The 2025 republish spells precincts out; the older data (and every query) uses codes.
PRECINCT_CODES = {
    "NORTH": "N",
    "EAST": "E",
    "SOUTH": "S",
    "SOUTHWEST": "SW",
    "WEST": "W",
}
MISSING_COORDINATE = {"", "REDACTED", "NULL"}


class UnreadableFile(Exception):
    """The file as a whole cannot be imported (nothing of it may be written)."""


class RowError(ValueError):
    """One record is bad; the reason is stored with its line number."""


@dataclass(frozen=True)
class SpdFormat:
    name: str
    label: str
    # Source column (CSV header name or JSON key) for each of TARGET_FIELDS; "" = none.
    sources: tuple[str, ...]
    date_example: str
    # The header as the export writes it (CSV formats), for error messages.
    header: str = ""


PORTAL_CSV = SpdFormat(
    name="portal_csv",
    label="SPD portal CSV export (pre-2025 schema)",
    sources=(
        "Offense ID",
        "Report Number",
        "Offense Start DateTime",
        "Offense End DateTime",
        "Report DateTime",
        "Group A B",
        "Crime Against Category",
        "Offense Parent Group",
        "Offense",
        "Offense Code",
        "Precinct",
        "Sector",
        "Beat",
        "MCPP",
        "100 Block Address",
        "",
        "",
        "Longitude",
        "Latitude",
    ),
    date_example="MM/DD/YYYY hh:mm:ss AM",
    header=(
        "Report Number,Offense ID,Offense Start DateTime,Offense End DateTime,"
        "Report DateTime,Group A B,Crime Against Category,Offense Parent Group,"
        "Offense,Offense Code,Precinct,Sector,Beat,MCPP,100 Block Address,"
        "Longitude,Latitude"
    ),
)
NIBRS_CSV = SpdFormat(
    name="nibrs_csv",
    label="SPD NIBRS CSV export (2025 republish)",
    sources=(
        "Offense ID",
        "Report Number",
        "Offense Date",
        "",
        "Report DateTime",
        "NIBRS Group AB",
        "NIBRS Crime Against Category",
        "Offense Sub Category",
        "NIBRS Offense Code Description",
        "NIBRS_offense_code",
        "Precinct",
        "Sector",
        "Beat",
        "Neighborhood",
        "Block Address",
        "Shooting Type Group",
        "Reporting Area",
        "Longitude",
        "Latitude",
    ),
    date_example="YYYY Mon DD hh:mm:ss AM",
    header=(
        "Report Number,Report DateTime,Offense ID,Offense Date,NIBRS Group AB,"
        "NIBRS Crime Against Category,Offense Sub Category,Shooting Type Group,"
        "Block Address,Latitude,Longitude,Beat,Precinct,Sector,Neighborhood,"
        "Reporting Area,Offense Category,NIBRS Offense Code Description,"
        "NIBRS_offense_code"
    ),
)
# Columns of the NIBRS export that have no Incident field but belong to its header.
NIBRS_EXTRA_COLUMNS = ("Offense Category",)
SODA_JSON = SpdFormat(
    name="soda_json",
    label="SODA API JSON (tazs-3rd5, pre-2025 field names)",
    sources=(
        "offense_id",
        "report_number",
        "offense_start_datetime",
        "offense_end_datetime",
        "report_datetime",
        "group_a_b",
        "crime_against_category",
        "offense_parent_group",
        "offense",
        "offense_code",
        "precinct",
        "sector",
        "beat",
        "mcpp",
        "_100_block_address",
        "",
        "",
        "longitude",
        "latitude",
    ),
    date_example="YYYY-MM-DDThh:mm:ss.000",
)
SODA_NIBRS_JSON = SpdFormat(
    name="soda_nibrs_json",
    label="SODA API JSON (tazs-3rd5, 2025 field names)",
    sources=(
        "offense_id",
        "report_number",
        "offense_date",
        "",
        "report_date_time",
        "nibrs_group_a_b",
        "nibrs_crime_against_category",
        "offense_sub_category",
        "nibrs_offense_code_description",
        "nibrs_offense_code",
        "precinct",
        "sector",
        "beat",
        "neighborhood",
        "block_address",
        "shooting_type_group",
        "reporting_area",
        "longitude",
        "latitude",
    ),
    date_example="YYYY-MM-DDThh:mm:ss.000",
)
CSV_FORMATS = (PORTAL_CSV, NIBRS_CSV)
EXPECTED = (
    f"expected one of: {PORTAL_CSV.label} with header '{PORTAL_CSV.header}'; "
    f"{NIBRS_CSV.label} with header '{NIBRS_CSV.header}'; "
    "or a SODA API JSON array of records"
)


# --- Time ---------------------------------------------------------------------------
# Every time in these files is naive Seattle wall-clock time. Converting one through
# zoneinfo costs microseconds, so each calendar day's UTC offset is computed once;
# only the two DST-change days a year go through the careful path.
_DAY_OFFSETS: dict[tuple[int, int, int], str] = {}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN")
        + ("JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}


def _offset_text(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}" + (f":{mins:02d}" if mins else "")


def _day_offset(y: int, mo: int, d: int) -> str:
    """'-08' / '-07' for an ordinary day, '' for a day with a DST change."""
    key = (y, mo, d)
    cached = _DAY_OFFSETS.get(key)
    if cached is None:
        if not 1900 <= y <= 2100:
            raise RowError(f"implausible year {y}")
        try:
            midnight = dt.datetime(y, mo, d, tzinfo=SEATTLE)
        except ValueError as exc:
            raise RowError(f"no such date {y:04d}-{mo:02d}-{d:02d}") from exc
        late = midnight.replace(hour=23)
        first, last = midnight.utcoffset(), late.utcoffset()
        cached = _offset_text(first) if first == last else ""
        _DAY_OFFSETS[key] = cached
    return cached


def local_to_utc_offset(naive: dt.datetime) -> dt.timedelta:
    """The UTC offset for a naive Seattle time, deterministic around DST changes.

    An ambiguous time (the repeated hour in November) and a nonexistent one (the
    skipped hour in March) are both read as Pacific Standard Time, UTC-8: the rule
    PostgreSQL applies to ``timestamp AT TIME ZONE``, so SQL and Python agree.
    """
    a = naive.replace(tzinfo=SEATTLE, fold=0).utcoffset()
    b = naive.replace(tzinfo=SEATTLE, fold=1).utcoffset()
    return min(a, b)


def local_to_utc(naive: dt.datetime) -> dt.datetime:
    return (naive - local_to_utc_offset(naive)).replace(tzinfo=dt.UTC)


_HOURS: dict[str, tuple[str, str]] = {}
_HOURS_MAX = 200_000  # distinct local hours cached (~23 years), then start over


def _hour_prefix(y: int, mo: int, d: int, h: int) -> tuple[str, str]:
    """('YYYY-MM-DD HH:', '-08') for a local hour; RowError for an impossible one."""
    if not 0 <= h < 24:
        raise RowError("hour out of range")
    offset = _day_offset(y, mo, d)
    if not offset:
        # A DST-change day. Seattle's changes happen on the hour, so one offset
        # holds for the whole local hour.
        offset = _offset_text(
            local_to_utc_offset(dt.datetime(y, mo, d, h))  # noqa: DTZ001
        )
    return f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:", offset


def _cached_hour(key: str, parse: Callable[[str], tuple[int, int, int, int]]):
    hit = _HOURS.get(key)
    if hit is None:
        if len(_HOURS) >= _HOURS_MAX:
            _HOURS.clear()
        hit = _hour_prefix(*parse(key))
        _HOURS[key] = hit
    return hit


def _portal_key(key: str) -> tuple[int, int, int, int]:
    # "MM/DD/YYYY hh AM"
    if key[5] != "/" or key[10] != " " or key[13] != " ":
        raise ValueError(key)
    return (
        int(key[6:10]),
        int(key[0:2]),
        int(key[3:5]),
        _hour12(int(key[11:13]), key[14:16]),
    )


def _iso_key(key: str) -> tuple[int, int, int, int]:
    # "YYYY-MM-DDThh"
    if key[7] != "-":
        raise ValueError(key)
    return int(key[0:4]), int(key[5:7]), int(key[8:10]), int(key[11:13])


def _minutes_seconds(ms: str) -> str:
    """':MM:SS' -> 'MM:SS', checked."""
    if (
        len(ms) == 6
        and ms.isascii()  # "0²" passes isdigit() and the comparisons below
        and ms[0] == ":"
        and ms[3] == ":"
        and ms[1:3].isdigit()
        and ms[4:6].isdigit()
        and ms[1:3] < "60"
        and ms[4:6] < "60"
    ):
        return ms[1:]
    raise ValueError(ms)


def _hour12(h: int, ampm: str) -> int:
    if not 1 <= h <= 12:
        raise RowError("hour out of range")
    ampm = ampm.upper()
    if ampm == "AM":
        return 0 if h == 12 else h
    if ampm == "PM":
        return 12 if h == 12 else h + 12
    raise RowError("AM/PM missing")


def parse_local_time(s: str) -> str:
    """Any of the three SPD spellings of a Seattle local time -> timestamptz text.

    The result carries its UTC offset, so PostgreSQL stores the exact instant.
    Raises RowError (never returns a guess) for anything else. Hot path: one dict
    lookup per value (the local hour), the rest is slicing.
    """
    try:
        if len(s) == 22 and s[2] == "/":  # 02/12/2012 12:13:00 AM
            prefix, offset = _cached_hour(s[:13] + s[19:], _portal_key)
            return prefix + _minutes_seconds(s[13:19]) + offset
        if len(s) >= 19 and s[4] == "-" and s[10] == "T":  # 2019-01-01T00:00:00.000
            if len(s) > 19 and (
                s[19] != "." or not (s[20:].isascii() and s[20:].isdigit())
            ):
                return _aware_iso(s)
            prefix, offset = _cached_hour(s[:13], _iso_key)
            return prefix + _minutes_seconds(s[13:19]) + offset
        parts = s.split()
        if len(parts) == 5 and len(parts[0]) == 4:  # 2025 May 23 03:00:00 PM
            hh, mm, ss = parts[3].split(":")
            prefix, offset = _hour_prefix(
                int(parts[0]),
                _MONTHS[parts[1][:3].upper()],
                int(parts[2]),
                _hour12(int(hh), parts[4]),
            )
            return prefix + _minutes_seconds(f":{mm}:{ss}") + offset
    except RowError:
        raise
    except (ValueError, KeyError, IndexError):
        pass
    raise RowError("unreadable date")


MISSING_TIME = -1  # utc_seconds of a missing (None) time
_HOUR_STARTS: dict[str, int] = {}


def utc_seconds(text: str | None) -> int:
    """A time as `parse_local_time` writes it, in UTC epoch seconds (MISSING_TIME
    for None): what PostgreSQL stores for that text, computed without it."""
    if text is None:
        return MISSING_TIME
    if len(text) == 22:  # "YYYY-MM-DD HH:MM:SS-08", every local time's form
        key = text[:14] + text[19:]
        hour = _HOUR_STARTS.get(key)
        if hour is None:
            if len(_HOUR_STARTS) >= _HOURS_MAX:
                _HOUR_STARTS.clear()
            start = dt.datetime.fromisoformat(text[:14] + "00:00" + text[19:])
            hour = _HOUR_STARTS[key] = int(start.timestamp())
        return hour + int(text[14:16]) * 60 + int(text[17:19])
    return int(dt.datetime.fromisoformat(text).timestamp())


def _aware_iso(s: str) -> str:
    moment = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(s)
    return moment.astimezone(dt.UTC).isoformat(sep=" ")


# --- One record ---------------------------------------------------------------------
def normalise(values: list[str]) -> tuple:
    """Source strings in TARGET_FIELDS order -> staging values (or RowError)."""
    row = [v.strip() for v in values]
    offense_id = row[0]
    if not offense_id:
        raise RowError("missing offense id")
    if not (offense_id.isascii() and offense_id.isdigit()) or len(offense_id) > 18:
        raise RowError(f"invalid offense id {offense_id[:40]!r}")
    row[0] = int(offense_id)
    if not row[_REPORT_NUMBER]:
        raise RowError("missing report number")
    if not row[_REPORTED]:
        raise RowError("missing report time")
    for index, label in _TIMES:
        text = row[index]
        if not text:
            row[index] = None
            continue
        try:
            row[index] = parse_local_time(text)
        except RowError as exc:
            raise RowError(f"bad {label} {text[:40]!r}: {exc}") from None
    crime_against = row[_CRIME_AGAINST].upper()
    row[_CRIME_AGAINST] = crime_against if crime_against in CRIME_AGAINST else "OTHER"
    row[_PRECINCT] = PRECINCT_CODES.get(row[_PRECINCT].upper(), row[_PRECINCT])
    if row[_MCPP] == "-":  # the 2025 republish's placeholder for "no neighborhood"
        row[_MCPP] = ""
    row[-2:] = parse_location(row[-2], row[-1])
    for index, limit in _LENGTH_CHECKS:
        if len(row[index]) > limit:
            raise RowError(f"{TARGET_FIELDS[index]} longer than {limit} characters")
    return tuple(row)


_REPORT_NUMBER = TARGET_FIELDS.index("report_number")
_REPORTED = TARGET_FIELDS.index("reported_at")
_CRIME_AGAINST = TARGET_FIELDS.index("crime_against")
_PRECINCT = TARGET_FIELDS.index("precinct")
_MCPP = TARGET_FIELDS.index("mcpp")
# Checked in this order, so a row with several bad times reports the report time.
_TIMES = tuple(
    (TARGET_FIELDS.index(name), label)
    for name, label in (
        ("reported_at", "report time"),
        ("offense_start", "offense start time"),
        ("offense_end", "offense end time"),
    )
)
_LENGTH_CHECKS = tuple(
    (TARGET_FIELDS.index(name), limit) for name, limit in MAX_LENGTHS.items()
)


def parse_location(lon: str, lat: str) -> tuple[float | None, float | None]:
    """(lon, lat), or (None, None) for SPD's "no location" placeholders."""
    if lon.upper() in MISSING_COORDINATE or lat.upper() in MISSING_COORDINATE:
        return None, None
    try:
        x, y = float(lon), float(lat)
    except ValueError:
        raise RowError(f"invalid coordinates {lon[:30]!r}, {lat[:30]!r}") from None
    # 0,0 (portal CSV, API "0.000000000") and -1 (2025 republish) mean "not given".
    if x in (0.0, -1.0) or y in (0.0, -1.0):
        return None, None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise RowError(f"invalid coordinates {lon!r}, {lat!r}")
    if not (LON_MIN <= x <= LON_MAX and LAT_MIN <= y <= LAT_MAX):
        raise RowError(f"coordinates far outside Seattle: {x}, {y}")
    return x, y


# --- Files --------------------------------------------------------------------------
class _CountingReader(io.RawIOBase):
    """Counts the bytes read from the file on disk (compressed bytes for .gz)."""

    def __init__(self, raw: BinaryIO, on_bytes: Callable[[int], None]):
        self._raw = raw
        self._on_bytes = on_bytes
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self.count += n
            self._on_bytes(self.count)
        return n or 0


@dataclass
class StagingRow:
    """One record for the staging table: values, or a rejection (reason + raw)."""

    line: int
    values: tuple | None
    reason: str | None = None
    raw: str = ""


_SURROGATE = re.compile("[\udc80-\udcff]")
_READ_ERRORS = (OSError, EOFError, zlib.error, gzip.BadGzipFile)


def _reject(line: int, reason: str, raw: str) -> StagingRow:
    # Keep the offending text readable and storable (no NUL, no lone surrogates).
    raw = _SURROGATE.sub("\ufffd", raw.replace("\x00", "\ufffd"))[:RAW_MAX_CHARS]
    return StagingRow(line, None, reason, raw)


class SpdFile:
    """An opened SPD file: `.format` is known, `.rows()` streams staging rows."""

    def __init__(self, path: Path, on_bytes: Callable[[int], None] | None = None):
        self.path = Path(path)
        self._file = open(self.path, "rb")
        self._counter = _CountingReader(self._file, on_bytes or (lambda n: None))
        source: io.BufferedReader = io.BufferedReader(self._counter, CHUNK_BYTES)
        magic = source.peek(2)[:2]
        try:
            if magic == b"\x1f\x8b":
                source = io.BufferedReader(gzip.GzipFile(fileobj=source), CHUNK_BYTES)
            elif self.path.suffix.lower() == ".gz":
                raise UnreadableFile(
                    f"{self.path.name} is named .gz but is not gzip-compressed"
                )
            head = source.peek(4096)[:4096]
        except _READ_ERRORS as exc:
            self.close()
            raise UnreadableFile(f"cannot read {self.path.name}: {exc}") from exc
        except UnreadableFile:
            self.close()
            raise
        self._source = source
        try:
            self.format, self._header = self._detect(head)
        except UnreadableFile:
            self.close()
            raise

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpdFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _detect(self, head: bytes) -> tuple[SpdFormat, list[str] | None]:
        text = head.removeprefix(codecs.BOM_UTF8).lstrip()
        if not text:
            raise UnreadableFile(f"{self.path.name} is empty; {EXPECTED}")
        # Judge only the first line: a bad byte further down is one bad row.
        first_line = head.split(b"\n", 1)[0]
        if b"\x00" in first_line:
            raise UnreadableFile(f"{self.path.name} is binary, not text; {EXPECTED}")
        try:
            codecs.getincrementaldecoder("utf-8")().decode(first_line, final=False)
        except UnicodeDecodeError:
            raise UnreadableFile(
                f"{self.path.name} does not start as UTF-8 text; {EXPECTED}"
            ) from None
        if text[:1] == b"[":
            return SODA_JSON, None  # refined per record set in _json_rows
        if text[:1] == b"{":
            raise UnreadableFile(
                f"{self.path.name} holds a single JSON object, not an array of "
                f"records (an API error message?); {EXPECTED}"
            )
        self._text = io.TextIOWrapper(
            self._source, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        self._reader = csv.reader(self._text)
        try:
            header = next(self._reader)
        except (StopIteration, csv.Error):
            header = []
        names = [h.strip().lower() for h in header]
        for fmt in CSV_FORMATS:
            expected = {s.lower() for s in fmt.sources if s}
            if fmt is NIBRS_CSV:
                expected |= {s.lower() for s in NIBRS_EXTRA_COLUMNS}
            if set(names) == expected and len(names) == len(expected):
                return fmt, names
        shown = ",".join(header)[:300]
        raise UnreadableFile(
            f"{self.path.name}: unrecognised header '{shown}'; {EXPECTED}"
        )

    def rows(self) -> Iterator[StagingRow]:
        try:
            if self._header is None:
                yield from self._json_rows()
            else:
                yield from self._csv_rows()
        except _READ_ERRORS as exc:
            raise UnreadableFile(f"cannot read {self.path.name}: {exc}") from exc

    def _csv_rows(self) -> Iterator[StagingRow]:
        header = self._header
        assert header is not None
        width = len(header)
        index = [header.index(s.lower()) if s else None for s in self.format.sources]
        reader = self._reader
        line = reader.line_num
        while True:
            start = line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line = reader.line_num
                yield _reject(start, f"malformed CSV: {exc}", "")
                continue
            line = reader.line_num
            if not row:
                continue  # a blank line is not a record
            if len(row) != width:
                yield _reject(
                    start,
                    f"wrong column count: expected {width}, got {len(row)}",
                    ",".join(row),
                )
                continue
            joined = "".join(row)
            if not joined.isascii() and _SURROGATE.search(joined):
                yield _reject(start, "bad encoding: not UTF-8", ",".join(row))
                continue
            if "\x00" in joined:
                yield _reject(start, "NUL character in row", ",".join(row))
                continue
            try:
                values = normalise([row[i] if i is not None else "" for i in index])
            except RowError as exc:
                yield _reject(start, str(exc), ",".join(row))
                continue
            yield StagingRow(start, values)

    def _json_rows(self) -> Iterator[StagingRow]:
        fmt: SpdFormat | None = None
        for line, record in iter_json_array(self._source, self.path.name):
            if not isinstance(record, dict):
                yield _reject(line, "not a JSON object", json.dumps(record)[:200])
                continue
            if fmt is None:
                fmt = SODA_NIBRS_JSON if "report_date_time" in record else SODA_JSON
                self.format = fmt
            try:
                values = normalise([_json_text(record, key) for key in fmt.sources])
            except RowError as exc:
                yield _reject(line, str(exc), json.dumps(record))
                continue
            if any("\x00" in v for v in values if isinstance(v, str)):
                yield _reject(line, "NUL character in record", json.dumps(record))
                continue
            yield StagingRow(line, values)


def _json_text(record: dict, key: str) -> str:
    if not key:
        return ""
    value = record.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        raise RowError(f"{key} is not a text value")
    return str(value)


def iter_json_array(source: BinaryIO, name: str) -> Iterator[tuple[int, object]]:
    """Stream the elements of a top-level JSON array with the line each starts on.

    Constant memory: the buffer holds one chunk plus at most one partial element.
    A syntax error leaves the rest of the array unreadable, so it fails the file.
    """
    decoder = json.JSONDecoder()
    text_decoder = codecs.getincrementaldecoder("utf-8-sig")()
    buf = ""
    pos = 0
    line = 1
    eof = False
    state = "start"  # start -> open (expect element or ]) -> after (expect , or ])

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        chunk = source.read(CHUNK_BYTES)
        try:
            decoded = text_decoder.decode(chunk or b"", final=not chunk)
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"{name}: not UTF-8 text ({exc})") from None
        if not chunk:
            eof = True
        buf = buf[pos:] + decoded
        pos = 0
        return bool(chunk) or bool(decoded)

    def skip_ws() -> bool:
        nonlocal pos, line
        while True:
            n = len(buf)
            while pos < n and buf[pos] in " \t\r\n":
                if buf[pos] == "\n":
                    line += 1
                pos += 1
            if pos < n:
                return True
            if not more():
                return False

    while True:
        if not skip_ws():
            raise UnreadableFile(f"{name}: the JSON array ends early (line {line})")
        char = buf[pos]
        if state == "start":
            if char != "[":
                raise UnreadableFile(f"{name}: expected a JSON array at line {line}")
            pos += 1
            state = "first"
            continue
        if char == "]" and state in ("first", "after"):
            pos += 1
            if skip_ws():
                raise UnreadableFile(f"{name}: data after the JSON array (line {line})")
            return
        if state == "after":
            if char != ",":
                raise UnreadableFile(f"{name}: JSON syntax error at line {line}")
            pos += 1
            state = "element"
            continue
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if eof or len(buf) - pos > 16 * CHUNK_BYTES:
                    raise UnreadableFile(
                        f"{name}: JSON syntax error at line {line}: {exc.msg}"
                    ) from None
                more()
        yield line, value
        line += buf.count("\n", pos, end)
        pos = end
        state = "after"
