"""History filters: one parser shared by the history page and the API.

Both read the same query parameters, so a page URL and an API URL with the same query
string select exactly the same incidents. Every bad value raises FilterError naming the
parameter and what is allowed; views turn it into a 400.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from core.api_errors import UNPROCESSABLE, ApiError
from core.grid_sql import cell_bounds, cell_id_sql
from core.local_time import SEATTLE
from core.params import ascii_int, coordinate_list, coordinates_pattern, is_text
from crimes.models import CrimeAgainst

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# What `dow` takes: a day's name, or its number from 0 = Monday.
DOW_VALUES = (*DAY_NAMES, *(str(day) for day in range(7)))
CATEGORY_VALUES = {value.lower(): value for value in CrimeAgainst.values}
# Longest range one request may cover; the data starts in 2008 at the earliest.
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 1, 1)
# Filter parameters every history endpoint and the page accept.
FILTER_PARAMS = (
    "start",
    "end",
    "category",
    "group",
    "offense_code",
    "hour_from",
    "hour_to",
    "dow",
    "beat",
    "mcpp",
    "bbox",
    "cell",
    "cell_size",
)
# Parameters whose values never contain a comma may also be given comma-separated
# (`dow=mon,tue`); offense groups such as "FAMILY OFFENSES, NONVIOLENT" do contain
# commas, so `group` (and `mcpp`, free text) only repeat (`group=A&group=B`).
COMMA_SPLIT = {"category", "dow", "beat", "offense_code"}
MAX_VALUES = 64
MAX_TEXT = 128
BBOX_PATTERN = coordinates_pattern("lon", "lat", "lon", "lat")
# Offense codes (NIBRS: 13A, 240, 90J; every code in the data since 2008 is such),
# several in one value with commas; spaces around each. The schema's pattern.
_CODE = "[0-9]{2}[0-9A-Za-z]"
OFFENSE_CODES_PATTERN = f"^ *(?:{_CODE})? *(?:, *(?:{_CODE})? *)*$"
BBOX_WORDS = (
    "min_lon,min_lat,max_lon,max_lat in degrees (EPSG:4326), plain decimals, lon "
    "-180 to 180, lat -90 to 90"
)
# Values as sent (before they are trimmed) that must match a pattern, the schema's,
# unless empty (not given); and the words when they do not.
PATTERNS = {
    "offense_code": (
        OFFENSE_CODES_PATTERN,
        "offense codes such as 13A or 240 (three characters), repeated or "
        "comma-separated",
    ),
    "bbox": (BBOX_PATTERN, BBOX_WORDS),
}


class FilterError(ApiError):
    """A query parameter the history endpoints cannot accept (a 400 naming it; a 422
    when the schema allows the value and a rule in words refuses it)."""

    def __init__(self, param: str, message: str, status: int | None = None):
        self.param = param
        self.message = message
        super().__init__(f"{param}: {message}", param, status=status)


@dataclass(frozen=True)
class HistoryFilters:
    """A validated selection of incidents. Dates are Seattle-local and inclusive."""

    start: dt.date
    end: dt.date
    categories: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    offense_codes: tuple[str, ...] = ()
    hour_from: int | None = None
    hour_to: int | None = None
    dows: tuple[int, ...] = ()
    beats: tuple[str, ...] = ()
    mcpps: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    cell: int | None = None
    cell_size: int = field(default_factory=lambda: settings.GRID_CELL_SIZE)

    # --- derived -----------------------------------------------------------------
    @property
    def start_dt(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=SEATTLE)

    @property
    def end_dt(self) -> dt.datetime:
        """Exclusive end: local midnight after the last day."""
        day = self.end + dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(), tzinfo=SEATTLE)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def query_items(self) -> list[tuple[str, str]]:
        """The filters as (parameter, value) pairs, in a fixed order."""
        items: list[tuple[str, str]] = [
            ("start", self.start.isoformat()),
            ("end", self.end.isoformat()),
        ]
        items += [("category", c.lower()) for c in self.categories]
        items += [("group", g) for g in self.groups]
        items += [("offense_code", c) for c in self.offense_codes]
        if self.hour_from is not None:
            items.append(("hour_from", str(self.hour_from)))
        if self.hour_to is not None:
            items.append(("hour_to", str(self.hour_to)))
        items += [("dow", DAY_NAMES[d]) for d in self.dows]
        items += [("beat", b) for b in self.beats]
        items += [("mcpp", m) for m in self.mcpps]
        if self.bbox is not None:
            items.append(("bbox", ",".join(f"{v:.6f}" for v in self.bbox)))
        if self.cell is not None:
            items.append(("cell", str(self.cell)))
            items.append(("cell_size", str(self.cell_size)))
        return items

    def querystring(self) -> str:
        return urlencode(self.query_items())

    def cache_key(self) -> str:
        """A short stable digest; the same selection always gives the same key."""
        return hashlib.sha1(self.querystring().encode()).hexdigest()[:24]

    def without_cell(self) -> HistoryFilters:
        return replace(self, cell=None)

    # --- SQL -----------------------------------------------------------------------
    def where_sql(self) -> tuple[str, list]:
        """A WHERE clause over crimes_incident (no alias) and its parameters."""
        clauses = ["offense_start >= %s", "offense_start < %s"]
        params: list = [self.start_dt, self.end_dt]
        for column, values in (
            ("crime_against", self.categories),
            ("offense_parent_group", self.groups),
            ("offense_code", self.offense_codes),
            ("beat", self.beats),
            ("mcpp", self.mcpps),
        ):
            if values:
                clauses.append(f"{column} = ANY(%s)")
                params.append(list(values))
        if self.hour_from is not None or self.hour_to is not None:
            low = 0 if self.hour_from is None else self.hour_from
            high = 23 if self.hour_to is None else self.hour_to
            if low <= high:
                clauses.append("local_hour BETWEEN %s AND %s")
            else:
                # A range over midnight (22 to 4) wraps around.
                clauses.append("(local_hour >= %s OR local_hour <= %s)")
            params += [low, high]
        if self.dows:
            clauses.append("local_dow = ANY(%s::smallint[])")
            params.append(list(self.dows))
        if self.bbox is not None:
            clauses.append("location && ST_MakeEnvelope(%s, %s, %s, %s, 4326)")
            params += list(self.bbox)
        if self.cell is not None:
            # The range test lets PostgreSQL skip rows cheaply; the id test makes the
            # cell exactly the one the grid aggregation put the incident in.
            xmin, ymin, xmax, ymax = cell_bounds(self.cell, self.cell_size)
            clauses.append(
                "x_utm >= %s AND x_utm <= %s AND y_utm >= %s AND y_utm <= %s"
                f" AND {cell_id_sql(size=self.cell_size)} = %s"
            )
            params += [xmin - 1, xmax + 1, ymin - 1, ymax + 1, self.cell]
        return " AND ".join(clauses), params

    def q(self) -> RawSQL:
        """The same WHERE clause as a filter() argument for ORM querysets."""
        sql, params = self.where_sql()
        return RawSQL(sql, params, output_field=BooleanField())


# --- parsing ---------------------------------------------------------------------


def _values(query: Mapping, name: str) -> list[str]:
    raw = query.getlist(name) if hasattr(query, "getlist") else query.get(name, [])
    if isinstance(raw, str):
        raw = [raw]
    if len(raw) > MAX_VALUES:  # as sent, empty ones too (the schema's maxItems)
        raise FilterError(name, f"at most {MAX_VALUES} values")
    out: list[str] = []
    for value in raw:
        # Each value as sent (the schema's text_schema), before it is split or trimmed.
        if not is_text(value, MAX_TEXT):
            raise FilterError(
                name, f"text of at most {MAX_TEXT} characters, no control characters"
            )
        if value and name in PATTERNS and not re.fullmatch(PATTERNS[name][0], value):
            raise FilterError(name, PATTERNS[name][1])
        parts = value.split(",") if name in COMMA_SPLIT else [value]
        out += [p.strip() for p in parts if p.strip()]
    if len(out) > MAX_VALUES:
        raise FilterError(name, f"at most {MAX_VALUES} values")
    return out


def read_as_sent(name: str, value: str) -> bool:
    """Whether a value of parameter ``name`` is read as exactly itself: text (the
    schema's rule), not split at a comma, not trimmed. The schema lists only such
    values of the data's vocabulary (crimes.api.schema)."""
    try:
        return _values({name: [value]}, name) == [value]
    except FilterError:
        return False


def _single(query: Mapping, name: str) -> str | None:
    values = _values(query, name)
    if len(values) > 1:
        raise FilterError(name, "give it once")
    return values[0] if values else None


def _date(query: Mapping, name: str) -> dt.date | None:
    raw = _single(query, name)
    if raw is None:
        return None
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise FilterError(name, "a date as YYYY-MM-DD (Seattle local)") from None
    if not EARLIEST_DATE <= value < LATEST_DATE:
        raise FilterError(name, f"a date between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


def parse_int(
    query: Mapping, name: str, low: int, high: int, default: int | None = None
) -> int | None:
    raw = _single(query, name)
    if raw is None:
        return default
    value = ascii_int(raw)
    if value is None or not low <= value <= high:
        raise FilterError(name, f"an integer from {low} to {high}")
    return value


def parse_choice(
    query: Mapping, name: str, allowed: Iterable[str], default: str
) -> str:
    allowed = tuple(allowed)
    raw = _single(query, name)
    if raw is None:
        return default
    if raw not in allowed:
        raise FilterError(name, f"one of {', '.join(allowed)}")
    return raw


def parse_bool(query: Mapping, name: str, default: bool) -> bool:
    """``true`` or ``false``, a boolean as the schema writes it in a query (1, yes,
    no and other cases were read too, which the schema calls invalid)."""
    raw = _single(query, name)
    if raw is None:
        return default
    if raw in ("true", "false"):
        return raw == "true"
    raise FilterError(name, "true or false")


def _dows(query: Mapping) -> tuple[int, ...]:
    """Days as DOW_VALUES spell them (the schema's enum): mon..sun or 0..6. Any
    word starting with a day's three letters ("monkey") and "+3" were read too."""
    out = set()
    for raw in _values(query, "dow"):
        if raw not in DOW_VALUES:
            raise FilterError("dow", "days mon..sun (or 0 = Monday .. 6 = Sunday)")
        out.add(DOW_VALUES.index(raw) % 7)
    return tuple(sorted(out))


def _bbox(query: Mapping) -> tuple[float, float, float, float] | None:
    """Two opposite corners, lon,lat,lon,lat (BBOX_PATTERN, the schema's), in either
    order: the box between them."""
    raw = _single(query, "bbox")
    if raw is None:
        return None
    values = coordinate_list(raw, BBOX_PATTERN)
    if values is None:  # as sent it matched (_values); trimmed, it still does
        raise FilterError("bbox", BBOX_WORDS)
    x0, y0, x1, y1 = values
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _known(
    query: Mapping, name: str, allowed: Iterable[str], upper: bool = False
) -> tuple[str, ...]:
    values = _values(query, name)
    if upper:
        values = [v.upper() for v in values]
    if not values:
        return ()
    allowed_set = set(allowed)
    unknown = [v for v in values if v not in allowed_set]
    if unknown:
        sample = ", ".join(sorted(allowed_set)[:60])
        raise FilterError(name, f"unknown value {unknown[0]!r}; known values: {sample}")
    return tuple(sorted(set(values)))


def check_unknown(query: Mapping, allowed: Iterable[str]) -> None:
    """Refuse parameters nobody reads, so a typo is not silently ignored."""
    allowed = set(allowed)
    for name in query.keys():
        if name not in allowed:
            listed = ", ".join(sorted(allowed))
            raise FilterError(name, f"unknown parameter; allowed: {listed}")


@dataclass(frozen=True)
class Vocabulary:
    """What the data holds, for validation: see services.history.vocabulary()."""

    groups: frozenset[str]
    beats: frozenset[str]
    mcpps: frozenset[str]
    default_start: dt.date
    default_end: dt.date


def parse_filters(
    query: Mapping,
    vocabulary: Vocabulary,
    extra_params: Iterable[str] = (),
    strict: bool = True,
) -> HistoryFilters:
    """Validate a query (a QueryDict or a dict of lists) into HistoryFilters.

    strict: refuse unknown parameters (the API); the page ignores them.
    """
    if strict:
        check_unknown(query, (*FILTER_PARAMS, *extra_params))
    start = _date(query, "start")
    end = _date(query, "end")
    if start is None and end is None:
        start, end = vocabulary.default_start, vocabulary.default_end
    elif start is None:
        start = end - (vocabulary.default_end - vocabulary.default_start)
    elif end is None:
        end = start + (vocabulary.default_end - vocabulary.default_start)
    if start > end:
        raise FilterError("end", "on or after start", UNPROCESSABLE)
    lowered = {"category": [v.lower() for v in _values(query, "category")]}
    categories = tuple(
        CATEGORY_VALUES[c] for c in _known(lowered, "category", CATEGORY_VALUES)
    )
    cell_size = parse_int(query, "cell_size", 1, 100000, settings.GRID_CELL_SIZE)
    if cell_size not in settings.HISTORY_CELL_SIZES:
        sizes = ", ".join(str(s) for s in settings.HISTORY_CELL_SIZES)
        raise FilterError("cell_size", f"one of {sizes} (metres)")
    cell = parse_int(query, "cell", 0, 10**9)
    return HistoryFilters(
        start=start,
        end=end,
        categories=categories,
        groups=_known(query, "group", vocabulary.groups),
        offense_codes=tuple(
            sorted({v.upper() for v in _values(query, "offense_code")})
        ),
        hour_from=parse_int(query, "hour_from", 0, 23),
        hour_to=parse_int(query, "hour_to", 0, 23),
        dows=_dows(query),
        beats=_known(query, "beat", vocabulary.beats, upper=True),
        mcpps=_known(query, "mcpp", vocabulary.mcpps, upper=True),
        bbox=_bbox(query),
        cell=cell,
        cell_size=cell_size,
    )
