"""The commute scoring core: pure NumPy, no Django, no database.

Inputs are a forecast as an array ``values`` (hours, n_cells) of expected incidents
per cell-hour and the corridor as column positions into it, so the arithmetic is
testable without predictions' tables (commute.py wires it to forecast_store).

Definitions (documented for visitors in README "## Commute"):

* expected(d): incidents expected in the corridor's cells while the trip lasts, for a
  departure at the start of hour d. The trip covers [d, d + D) hours; each hour's
  corridor total counts for the fraction of that hour the trip overlaps
  (``trip_integral``).
* typical(d): the same integral for a corridor with the same number of cells at the
  city-wide mean cell intensity of those hours: "a route of the same length and mode,
  through an average part of the city, at that time". It shares the trip's duration
  and corridor area, so the ratio isolates *where* the route goes.
* relative_risk(d) = expected(d) / typical(d). 1.0 is the city average; 2.3 means
  2.3 times the expected reported incidents of an average route.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HOURS_PER_WEEK = 168


def columns_for(cell_ids: np.ndarray, grid_cell_ids: np.ndarray) -> np.ndarray:
    """Positions of ``cell_ids`` among ``grid_cell_ids`` (sorted); unknown ids dropped.

    Cells of the corridor outside the forecast grid (beyond the city limits) carry
    no forecast and so contribute nothing.
    """
    cell_ids = np.unique(np.asarray(cell_ids, dtype=np.int64))
    if not cell_ids.size or not grid_cell_ids.size:
        return np.empty(0, dtype=np.int64)
    pos = np.searchsorted(grid_cell_ids, cell_ids)
    pos = np.clip(pos, 0, grid_cell_ids.size - 1)
    return pos[grid_cell_ids[pos] == cell_ids].astype(np.int64)


def extend_hours(series: np.ndarray, needed: int) -> np.ndarray:
    """``series`` (hours,) lengthened to ``needed`` hours.

    A trip leaving in the forecast's last hours ends after it; those hours take the
    value of the same hour of the week before (forecasts are weekly-periodic to first
    order). A forecast shorter than a week repeats its last hour.
    """
    h = series.shape[0]
    if needed <= h:
        return series[:needed]
    idx = np.arange(needed)
    late = idx >= h
    if h >= HOURS_PER_WEEK:
        idx[late] = idx[late] - HOURS_PER_WEEK
    else:
        idx[late] = h - 1
    return series[idx]


def trip_integral(
    per_hour: np.ndarray, duration_h: float, departures: int
) -> np.ndarray:
    """For d = 0..departures-1: integral of the hourly step function over [d, d+D).

    ``per_hour[k]`` is an expected count per hour during hour k. A trip of D hours
    leaving at hour d spends min(1, ...) of each hour it overlaps; this is the exact
    pro-rated sum, computed with one cumulative sum.
    """
    if duration_h <= 0:
        return np.zeros(departures)
    whole = math.floor(duration_h)
    frac = duration_h - whole
    f = extend_hours(np.asarray(per_hour, dtype=np.float64), departures + whole + 1)
    cum = np.concatenate([[0.0], np.cumsum(f)])
    d = np.arange(departures)
    # F(d + D) - F(d) with F(x) = cum[floor x] + (x - floor x) * f[floor x].
    return cum[d + whole] - cum[d] + frac * f[d + whole]


def hour_weights(
    start_h: float, duration_h: float, hours: int
) -> tuple[np.ndarray, np.ndarray]:
    """(hour indices, hours spent in each) for a trip over [start_h, start_h + D).

    ``start_h`` counts hours from the forecast's first hour and may be fractional
    (a departure at 08:20). Indices past ``hours`` fold back a week, as in
    ``extend_hours``.
    """
    if duration_h <= 0:
        return np.empty(0, np.int64), np.empty(0)
    end = start_h + duration_h
    idx = np.arange(math.floor(start_h), math.ceil(end), dtype=np.int64)
    spent = np.minimum(idx + 1, end) - np.maximum(idx, start_h)
    late = idx >= hours
    if hours >= HOURS_PER_WEEK:
        idx[late] -= HOURS_PER_WEEK
    else:
        idx[late] = hours - 1
    return idx, spent


def expected_at(per_hour: np.ndarray, start_h: float, duration_h: float) -> float:
    """The trip integral of ``per_hour`` for one departure (fractional hours ok)."""
    idx, spent = hour_weights(start_h, duration_h, per_hour.shape[0])
    return float((np.asarray(per_hour, dtype=np.float64)[idx] * spent).sum())


def expected_at_many(
    per_hour: np.ndarray, starts_h: np.ndarray, duration_h: float
) -> np.ndarray:
    """``expected_at`` for many departures at once, each the same sum of the same
    terms (a row per departure, as many hours as it overlaps: no padding, which
    would change numpy's summation order and so the last bits)."""
    starts_h = np.asarray(starts_h, dtype=np.float64)
    out = np.zeros(starts_h.size)
    if duration_h <= 0 or not starts_h.size:
        return out
    values = np.asarray(per_hour, dtype=np.float64)
    hours = values.shape[0]
    ends = starts_h + duration_h
    first = np.floor(starts_h).astype(np.int64)
    spans = np.ceil(ends).astype(np.int64) - first
    for span in np.unique(spans):
        rows = np.flatnonzero(spans == span)
        idx = first[rows, None] + np.arange(span, dtype=np.int64)
        spent = np.minimum(idx + 1, ends[rows, None]) - np.maximum(
            idx, starts_h[rows, None]
        )
        late = idx >= hours
        if hours >= HOURS_PER_WEEK:
            idx[late] -= HOURS_PER_WEEK
        else:
            idx[late] = hours - 1
        out[rows] = (values[idx] * spent).sum(axis=1)
    return out


@dataclass(frozen=True)
class CoreScore:
    expected: np.ndarray  # (departures,) expected incidents in the corridor, per trip
    typical: np.ndarray  # (departures,) same for an average corridor of that area
    relative: np.ndarray  # (departures,) expected / typical (nan where typical is 0)
    corridor_cells: int
    segment_rate: np.ndarray  # (segments,) expected incidents per hour, week average
    segment_cells: np.ndarray  # (segments,) cells in each segment's corridor
    segment_relative: np.ndarray  # (segments,) vs an average corridor of that area


def city_mean_per_hour(values: np.ndarray) -> np.ndarray:
    """Mean expected incidents per cell for each hour (the "typical" cell)."""
    return values.mean(axis=1, dtype=np.float64)


def score_corridor(
    values: np.ndarray,
    corridor_cols: np.ndarray,
    segment_cols: list[np.ndarray],
    duration_h: float,
    departures: int = HOURS_PER_WEEK,
    city_mean: np.ndarray | None = None,
) -> CoreScore:
    """Score a corridor for every departure hour (see the module docstring)."""
    hours = values.shape[0]
    departures = min(departures, hours)
    if city_mean is None:
        city_mean = city_mean_per_hour(values)
    corridor_cols = np.asarray(corridor_cols, dtype=np.int64)
    n = int(corridor_cols.size)
    corridor_per_hour = (
        values[:, corridor_cols].sum(axis=1, dtype=np.float64) if n else np.zeros(hours)
    )
    expected = trip_integral(corridor_per_hour, duration_h, departures)
    typical = n * trip_integral(city_mean, duration_h, departures)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(typical > 0, expected / typical, np.nan)

    # Stretches: the week-average rate of each segment's own corridor, so stretches
    # of equal length compare directly and against an average corridor of their area.
    week_mean_city = float(city_mean[:departures].mean()) if departures else 0.0
    rates = np.zeros(len(segment_cols))
    sizes = np.zeros(len(segment_cols), dtype=np.int64)
    if n and segment_cols:
        col_mean = values[:departures, corridor_cols].mean(axis=0, dtype=np.float64)
        lookup = dict(zip(corridor_cols.tolist(), col_mean.tolist(), strict=True))
        for i, cols in enumerate(segment_cols):
            cols = np.unique(np.asarray(cols, dtype=np.int64))
            sizes[i] = cols.size
            rates[i] = sum(lookup.get(c, 0.0) for c in cols.tolist())
    with np.errstate(divide="ignore", invalid="ignore"):
        seg_rel = np.where(
            (sizes > 0) & (week_mean_city > 0),
            rates / (sizes * week_mean_city),
            np.nan,
        )
    return CoreScore(
        expected=expected,
        typical=typical,
        relative=relative,
        corridor_cells=n,
        segment_rate=rates,
        segment_cells=sizes,
        segment_relative=seg_rel,
    )


# The stretch to watch is never the start's or the destination's own block: nobody
# can avoid those, and a warning there is no use.
END_MARGIN_M = 200.0


def stretch_to_watch(
    bounds_m: list[tuple[float, float]],
    rates: np.ndarray,
    cells: np.ndarray,
    length_m: float,
    by_density: bool = True,
    margin_m: float = END_MARGIN_M,
) -> int | None:
    """Index of the stretch to watch: the highest forecast (per nearby cell when
    ``by_density``, for stretches of unequal length) among the stretches lying
    mostly (at least half their length) between ``margin_m`` after the start and
    ``margin_m`` before the end, and never the first or the last stretch (they
    hold the start and the destination themselves, whatever their length). None
    when no stretch qualifies (a trip too short) or none expects anything."""
    rates = np.asarray(rates, dtype=np.float64)
    cells = np.asarray(cells, dtype=np.float64)
    key = rates
    if by_density:
        key = np.where(cells > 0, rates, 0.0) / np.maximum(cells, 1)
    best, best_key = None, 0.0
    lo, hi = margin_m, length_m - margin_m
    for i, (a, b) in enumerate(bounds_m):
        if i in (0, len(bounds_m) - 1):
            continue
        inside = max(0.0, min(b, hi) - max(a, lo))
        if b <= a or inside < 0.5 * (b - a):
            continue
        if key[i] > best_key:
            best, best_key = i, float(key[i])
    return best
