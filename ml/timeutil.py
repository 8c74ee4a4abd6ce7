"""Vectorised Seattle local-time conversions.

zoneinfo only converts one datetime at a time; 680k rows through it is slow. We read the
zone's UTC-offset transitions once (by scanning zoneinfo) and then convert whole arrays
with
``np.searchsorted`` on that table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

TZ_NAME = "America/Los_Angeles"
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
_EPOCH_MONDAY_OFFSET = 3 * DAY  # 1970-01-01 was a Thursday; shift so Monday = day 0


@lru_cache(maxsize=4)
def transitions(
    tz_name: str = TZ_NAME, first_year: int = 1900, last_year: int = 2045
) -> tuple[np.ndarray, np.ndarray]:
    """(utc_instants, offsets): offset ``offsets[i]`` (seconds) applies from
    ``utc_instants[i]`` on. ``utc_instants[0]`` is -inf-like so every instant is
    covered."""
    tz = ZoneInfo(tz_name)

    def off(ts: int) -> int:
        return int(datetime.fromtimestamp(ts, tz).utcoffset().total_seconds())

    start = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    stop = int(datetime(last_year, 1, 1, tzinfo=UTC).timestamp())
    instants = [np.iinfo(np.int64).min // 4]
    offsets = [off(start)]
    # Daily scan finds the day of each change; an hourly scan inside it finds the hour.
    # Seattle's changes fall on whole hours, so hour resolution is exact.
    prev = offsets[0]
    for day in range(start, stop, DAY):
        cur = off(day + DAY)
        if cur != prev:
            for h in range(day, day + DAY + HOUR, HOUR):
                if off(h) != prev:
                    instants.append(h)
                    offsets.append(off(h))
                    break
            prev = cur
    return np.asarray(instants, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


def utc_offset(utc_s: np.ndarray, tz_name: str = TZ_NAME) -> np.ndarray:
    """UTC offset in seconds (local = utc + offset) for each UTC instant."""
    inst, offs = transitions(tz_name)
    idx = np.searchsorted(inst, np.asarray(utc_s, dtype=np.int64), side="right") - 1
    return offs[idx]


def to_local_naive(utc_s: np.ndarray, tz_name: str = TZ_NAME) -> np.ndarray:
    """Local wall-clock seconds (as if the wall clock were UTC) for UTC instants."""
    utc_s = np.asarray(utc_s, dtype=np.int64)
    return utc_s + utc_offset(utc_s, tz_name)


def local_naive_to_utc(local_s: np.ndarray, tz_name: str = TZ_NAME) -> np.ndarray:
    """UTC seconds for local wall-clock seconds, with zoneinfo's ``fold=0`` rule.

    Ambiguous times (the repeated hour in autumn) take the first, daylight-time
    occurrence; non-existent times (the skipped spring hour) are read with the offset in
    force before the change. In both cases the switch happens at wall clock
    ``utc_instant + max(old, new offset)``.
    """
    inst, offs = transitions(tz_name)
    local_s = np.asarray(local_s, dtype=np.int64)
    # Local boundary of transition i (between offs[i-1] and offs[i]).
    bounds = inst[1:] + np.maximum(offs[:-1], offs[1:])
    idx = np.searchsorted(bounds, local_s, side="right")
    return local_s - offs[idx]


def local_hour_of_day(utc_s: np.ndarray, tz_name: str = TZ_NAME) -> np.ndarray:
    """Local clock hour 0..23."""
    return (to_local_naive(utc_s, tz_name) // HOUR) % 24


def local_hour_of_week(utc_s: np.ndarray, tz_name: str = TZ_NAME) -> np.ndarray:
    """Local hour of week 0..167 with Monday 00:00 = 0."""
    local = to_local_naive(utc_s, tz_name) + _EPOCH_MONDAY_OFFSET
    return (local // HOUR) % 168


def local_day_start(utc_s: np.ndarray, tz_name: str = TZ_NAME) -> np.ndarray:
    """UTC instant of the local midnight that starts each instant's local day."""
    local = to_local_naive(utc_s, tz_name)
    return local_naive_to_utc(local - local % DAY, tz_name)


def local_datetime_to_utc_s(dt: datetime, tz_name: str = TZ_NAME) -> int:
    """One naive (Seattle local) or aware datetime to UTC epoch seconds."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz_name))
    return int(dt.timestamp())


def utc_s_to_local_datetime(t_s: int, tz_name: str = TZ_NAME) -> datetime:
    return datetime.fromtimestamp(int(t_s), ZoneInfo(tz_name))


def local_naive_seconds(
    year: np.ndarray,
    month: np.ndarray,
    day: np.ndarray,
    hour: np.ndarray,
    minute: np.ndarray,
    second: np.ndarray,
) -> np.ndarray:
    """Vectorised civil date -> seconds since 1970-01-01 00:00 (no zone)."""
    # numpy datetime64 arithmetic does the calendar (leap years) for us.
    y = np.asarray(year, dtype=np.int64)
    m = np.asarray(month, dtype=np.int64)
    months = (y - 1970) * 12 + (m - 1)
    days = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    days = days + np.asarray(day, dtype=np.int64) - 1
    return (
        days * DAY
        + np.asarray(hour, dtype=np.int64) * HOUR
        + np.asarray(minute, dtype=np.int64) * 60
        + np.asarray(second, dtype=np.int64)
    )


__all__ = [
    "DAY",
    "HOUR",
    "TZ_NAME",
    "WEEK",
    "local_datetime_to_utc_s",
    "local_day_start",
    "local_hour_of_day",
    "local_hour_of_week",
    "local_naive_seconds",
    "local_naive_to_utc",
    "to_local_naive",
    "transitions",
    "utc_offset",
    "utc_s_to_local_datetime",
]
