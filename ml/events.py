"""Incident events as flat NumPy arrays, and the SPD CSV reader.

Event time (docs/DESIGN.md "Event time"): the offense start; where an end is given and
the span is at most 72 h, the midpoint; longer spans are unusable for hourly modelling.
A start at exactly 00:00:00 or 12:00:00 Seattle clock time with no end (or an end equal
to the start) is a placeholder: the event is kept but flagged ``imprecise`` so that
forecasters can keep it in spatial levels while leaving it out of hour-of-day profiles.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ml.timeutil import (
    DAY,
    HOUR,
    local_naive_seconds,
    local_naive_to_utc,
    to_local_naive,
)

MAX_SPAN_S = 72 * HOUR
MISSING = -1  # sentinel for a missing end time (UTC seconds are positive for our data)

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
    # Placeholders live on the local clock, so test there (DST matters: UTC 07:00 or
    # 08:00).
    local_sec_of_day = to_local_naive(start) % DAY
    placeholder = (local_sec_of_day == 0) | (local_sec_of_day == 12 * HOUR)
    imprecise = placeholder & (~has_end | (span == 0))
    return event, imprecise, usable


def parse_portal_datetimes(values: np.ndarray) -> np.ndarray:
    """``MM/DD/YYYY hh:mm:ss AM`` Seattle local strings -> int64 UTC seconds (-1 if
    blank or malformed). Vectorised on the fixed-width byte layout."""
    s = np.asarray(values).astype("S22")
    b = s.view(np.uint8).reshape(len(s), 22).astype(np.int64)
    d = b - ord("0")

    def num(i: int, j: int) -> np.ndarray:
        out = np.zeros(len(s), dtype=np.int64)
        for k in range(i, j):
            out = out * 10 + d[:, k]
        return out

    ok = (b[:, 2] == ord("/")) & (b[:, 5] == ord("/")) & (b[:, 13] == ord(":"))
    digit_cols = [0, 1, 3, 4, 6, 7, 8, 9, 11, 12, 14, 15, 17, 18]
    ok &= ((d[:, digit_cols] >= 0) & (d[:, digit_cols] <= 9)).all(axis=1)
    pm = b[:, 20] == ord("P")
    ok &= pm | (b[:, 20] == ord("A"))
    month, day, year = num(0, 2), num(3, 5), num(6, 10)
    hour12, minute, second = num(11, 13), num(14, 16), num(17, 19)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    ok &= (hour12 >= 1) & (hour12 <= 12) & (minute < 60) & (second < 60)
    hour = hour12 % 12 + np.where(pm, 12, 0)
    local = local_naive_seconds(
        np.where(ok, year, 1970),
        np.where(ok, month, 1),
        np.where(ok, day, 1),
        hour,
        minute,
        second,
    )
    return np.where(ok, local_naive_to_utc(local), MISSING)


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


_COLUMNS = {
    "start": "Offense Start DateTime",
    "end": "Offense End DateTime",
    "report": "Report DateTime",
    "category": "Crime Against Category",
    "lon": "Longitude",
    "lat": "Latitude",
}


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig strips the portal's BOM from the first header name.
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def load_spd_csv(path: str | Path) -> tuple[Events, dict[str, int]]:
    """Read a pre-2025 portal CSV export (.csv or .csv.gz) into Events.

    Rows without a location (0,0 or blank) or without a usable event time are dropped;
    the returned dict counts what happened to the rows.
    """
    path = Path(path)
    cols: dict[str, list[str]] = {k: [] for k in _COLUMNS}
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        header = next(reader)
        pos = {k: header.index(v) for k, v in _COLUMNS.items()}
        getters = [(cols[k], pos[k]) for k in _COLUMNS]
        for row in reader:
            for lst, j in getters:
                lst.append(row[j])
    n = len(cols["start"])
    start = parse_portal_datetimes(np.asarray(cols["start"]))
    end = parse_portal_datetimes(np.asarray(cols["end"]))
    report = parse_portal_datetimes(np.asarray(cols["report"]))
    lon = np.asarray([float(v) if v else 0.0 for v in cols["lon"]])
    lat = np.asarray([float(v) if v else 0.0 for v in cols["lat"]])
    category = category_codes(np.asarray(cols["category"]))
    del cols

    event, imprecise, usable = event_times(start, end)
    has_time = (start != MISSING) & (report != MISSING)
    located = (lon != 0.0) & (lat != 0.0) & np.isfinite(lon) & np.isfinite(lat)
    keep = has_time & usable & located
    x, y = lonlat_to_utm(lon[keep], lat[keep])
    events = Events(
        event_time=event[keep],
        report_time=report[keep],
        x=x,
        y=y,
        category=category[keep],
        imprecise=imprecise[keep],
    )
    stats = {
        "rows": int(n),
        "bad_time": int((~has_time).sum()),
        "span_over_72h": int((has_time & ~usable).sum()),
        "no_location": int((has_time & usable & ~located).sum()),
        "kept": int(keep.sum()),
        "kept_imprecise": int(imprecise[keep].sum()),
    }
    return events, stats
