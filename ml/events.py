"""Incident events as flat NumPy arrays, and SPD files read into them.

Event time (docs/DESIGN.md "Event time"): the offense start; where an end is given and
the span is at most 72 h, the midpoint; longer spans are unusable for hourly modelling.
A placeholder start time (`is_placeholder`: 00:00:00 or 12:00:00 Seattle clock time
with no real end) is kept but flagged ``imprecise`` so that forecasters can keep it in
spatial levels while leaving it out of hour-of-day profiles.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ml.timeutil import DAY, HOUR, to_local_naive

MAX_SPAN_S = 72 * HOUR
MISSING = -1  # sentinel for a missing end time (UTC seconds are positive for our data)
# The Seattle clock times (seconds after local midnight) SPD writes when the time of
# day is unknown: midnight and noon sharp.
PLACEHOLDER_LOCAL_TIMES_S = (0, 12 * HOUR)

CATEGORY_CODES = {"PERSON": 0, "PROPERTY": 1, "SOCIETY": 2}
OTHER_CATEGORY = 3
CATEGORY_NAMES = ("PERSON", "PROPERTY", "SOCIETY", "OTHER")


@dataclass
class Events:
    """Equal-length arrays, one entry per incident (offense)."""

    event_time: np.ndarray  # int64 UTC epoch seconds, modelling time
    report_time: np.ndarray  # int64 UTC epoch seconds
    x: np.ndarray  # float64 EPSG:32610 metres
    y: np.ndarray  # float64 EPSG:32610 metres
    category: np.ndarray  # int8: 0 PERSON, 1 PROPERTY, 2 SOCIETY, 3 other
    imprecise: np.ndarray  # bool: placeholder start time

    def __post_init__(self) -> None:
        self.event_time = np.asarray(self.event_time, dtype=np.int64)
        self.report_time = np.asarray(self.report_time, dtype=np.int64)
        self.x = np.asarray(self.x, dtype=np.float64)
        self.y = np.asarray(self.y, dtype=np.float64)
        self.category = np.asarray(self.category, dtype=np.int8)
        self.imprecise = np.asarray(self.imprecise, dtype=bool)
        n = len(self.event_time)
        for f in fields(self):
            if len(getattr(self, f.name)) != n:
                raise ValueError(f"Events.{f.name} has length != {n}")

    def __len__(self) -> int:
        return len(self.event_time)

    def select(self, mask: np.ndarray) -> Events:
        """Subset by a boolean mask or an index array."""
        return Events(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    def reported_before(self, t_s: int) -> Events:
        """Only what was known at ``t_s``: the no-leakage filter."""
        return self.select(self.report_time < int(t_s))

    def in_categories(self, categories: tuple[int, ...]) -> Events:
        return self.select(
            np.isin(self.category, np.asarray(categories, dtype=np.int8))
        )

    @classmethod
    def empty(cls) -> Events:
        z = np.zeros(0)
        return cls(z, z, z, z, z, z.astype(bool))

    @classmethod
    def concat(cls, parts: list[Events]) -> Events:
        return cls(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(cls)
            }
        )

    def save_npz(self, path: str | Path) -> None:
        np.savez_compressed(
            path, **{f.name: getattr(self, f.name) for f in fields(self)}
        )

    @classmethod
    def load_npz(cls, path: str | Path) -> Events:
        with np.load(path) as z:
            return cls(**{f.name: z[f.name] for f in fields(cls)})


def event_times(
    start_s: np.ndarray, end_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply the design's event-time rules.

    ``start_s``/``end_s`` are int64 UTC seconds, ``end_s == -1`` where missing. Returns
    ``(event_time_s, imprecise, usable)``. An end before the start is a data error: it
    is ignored (treated as missing) rather than discarding the offense.
    """
    start = np.asarray(start_s, dtype=np.int64)
    end = np.asarray(end_s, dtype=np.int64)
    has_end = (end != MISSING) & (end >= start)
    span = np.where(has_end, end - start, 0)
    usable = span <= MAX_SPAN_S
    event = np.where(has_end, start + span // 2, start)
    return event, is_placeholder(start, end), usable


def incident_events(
    start_s: np.ndarray,
    end_s: np.ndarray,
    report_s: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    category: np.ndarray,
) -> tuple[Events, np.ndarray]:
    """Events of incidents given as raw offense start / end and report times (UTC
    seconds, ``MISSING`` where missing), with the event-time rules applied, and the
    mask of those whose times are usable (a start, a span of at most 72 h). The one
    path from incident records (a file, the database) to Events."""
    event, imprecise, usable = event_times(start_s, end_s)
    events = Events(
        event_time=event,
        report_time=report_s,
        x=x,
        y=y,
        category=category,
        imprecise=imprecise,
    )
    return events, usable & (np.asarray(start_s) != MISSING)


def is_placeholder(start_s: np.ndarray, end_s: np.ndarray) -> np.ndarray:
    """The placeholder-time rule, the one definition (SQL is generated from it:
    crimes.models.PLACEHOLDER_SQL).

    A start at a `PLACEHOLDER_LOCAL_TIMES_S` clock time (on the Seattle clock: DST
    moves it between 07:00 and 08:00 UTC) with no real end: the end is missing
    (``MISSING``) or not after the start.
    """
    start = np.asarray(start_s, dtype=np.int64)
    end = np.asarray(end_s, dtype=np.int64)
    local_sec_of_day = to_local_naive(start) % DAY
    at_placeholder = np.isin(local_sec_of_day, PLACEHOLDER_LOCAL_TIMES_S)
    return at_placeholder & ((end == MISSING) | (end <= start))


def category_codes(names: np.ndarray) -> np.ndarray:
    names = np.asarray(names).astype(str)
    out = np.full(len(names), OTHER_CATEGORY, dtype=np.int8)
    for name, code in CATEGORY_CODES.items():
        out[names == name] = code
    return out


def lonlat_to_utm(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat -> EPSG:32610 metres."""
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:32610", always_xy=True)
    x, y = tr.transform(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return np.asarray(x), np.asarray(y)


def utm_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:32610", "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    )
    return np.asarray(lon), np.asarray(lat)


def load_spd_csv(path: str | Path) -> tuple[Events, dict[str, int]]:
    """Read an SPD file (any format ml.spd_files reads, plain or .gz) into Events.

    Parsed by the importer's own parser, so a row means here what it means in the
    database: rows the parser rejects, rows without a location and rows without a
    usable event time are dropped (duplicate offense ids are not merged: the importer
    keeps the last, the full 2012-2021 file has none). The dict counts the rows.
    """
    from ml.spd_files import TARGET_FIELDS, SpdFile, utc_seconds

    i_start, i_end, i_report, i_category = (
        TARGET_FIELDS.index(name)
        for name in ("offense_start", "offense_end", "reported_at", "crime_against")
    )
    start, end, report, category, lon, lat = [], [], [], [], [], []
    rows = rejected = 0
    with SpdFile(Path(path)) as spd:
        for row in spd.rows():
            rows += 1
            values = row.values
            if values is None:
                rejected += 1
                continue
            start.append(utc_seconds(values[i_start]))
            end.append(utc_seconds(values[i_end]))
            report.append(utc_seconds(values[i_report]))
            category.append(values[i_category])
            lon.append(values[-2])
            lat.append(values[-1])
    start_s = np.asarray(start, dtype=np.int64)
    end_s = np.asarray(end, dtype=np.int64)
    report_s = np.asarray(report, dtype=np.int64)
    located = np.asarray([v is not None for v in lon], dtype=bool)
    lon_a = np.asarray([v if v is not None else np.nan for v in lon], dtype=np.float64)
    lat_a = np.asarray([v if v is not None else np.nan for v in lat], dtype=np.float64)
    x, y = lonlat_to_utm(lon_a, lat_a)  # NaN where unlocated
    categories = category_codes(np.asarray(category, dtype=str))

    everything, usable = incident_events(start_s, end_s, report_s, x, y, categories)
    has_time = start_s != MISSING  # the parser requires a report time
    keep = usable & located
    events = everything.select(keep)
    imprecise = everything.imprecise
    stats = {
        "rows": rows,
        "rejected": rejected,
        "bad_time": int((~has_time).sum()),
        "span_over_72h": int((has_time & ~usable).sum()),
        "no_location": int((has_time & usable & ~located).sum()),
        "kept": int(keep.sum()),
        "kept_imprecise": int(imprecise[keep].sum()),
    }
    return events, stats
