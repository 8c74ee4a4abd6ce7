"""Aggregated counts per (hour, cell, channel), kept sparse.

A dense cells x hours tensor over ten years (10k cells x 87k hours x 2 channels) would
be ~7 GB in float32; crime is sparse (most cell-hours are zero), so we keep coordinate
lists of non-zero entries and densify only windows (e.g. a week: 168 x 10k x 2 floats
= 14 MB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml import TARGET_CATEGORIES
from ml.events import Events
from ml.grid import GridSpec
from ml.timeutil import DAY, HOUR, local_day_start

IMPRECISE_MODES = ("keep", "spread", "drop")


def channel_of(category: np.ndarray, categories: tuple[int, ...] = TARGET_CATEGORIES):
    """Channel of each event (position of its category in ``categories``), or -1."""
    out = np.full(len(category), -1, dtype=np.int64)
    for ch, cat in enumerate(categories):
        out[np.asarray(category) == cat] = ch
    return out


def floor_hour(t_s: int) -> int:
    return int(t_s) - int(t_s) % HOUR


@dataclass
class SparseCounts:
    """Non-zero counts on hours ``[start_s, start_s + n_hours * 3600)``.

    Entries are unique per (hour, cell, channel) and sorted by hour. ``count`` is
    float32 because imprecise events may be spread as fractions over the hours of their
    day.
    """

    start_s: int
    n_hours: int
    n_cells: int
    n_channels: int
    hour: np.ndarray  # int32 hour index from start_s
    cell: np.ndarray  # int32 position in grid.cell_ids
    channel: np.ndarray  # int8
    count: np.ndarray  # float32

    def dense(self, h0: int = 0, h1: int | None = None) -> np.ndarray:
        """float32 (h1 - h0, n_cells, n_channels) for hour indices [h0, h1)."""
        h1 = self.n_hours if h1 is None else h1
        out = np.zeros((h1 - h0, self.n_cells, self.n_channels), dtype=np.float32)
        a, b = np.searchsorted(self.hour, [h0, h1])
        np.add.at(
            out,
            (self.hour[a:b] - h0, self.cell[a:b], self.channel[a:b].astype(np.int64)),
            self.count[a:b],
        )
        return out

    def dense_at(self, t0_s: int, hours: int) -> np.ndarray:
        """Dense window starting at UTC instant ``t0_s`` (hour aligned)."""
        h0 = (int(t0_s) - self.start_s) // HOUR
        return self.dense(h0, h0 + hours)

    def per_cell(self, h0: int = 0, h1: int | None = None) -> np.ndarray:
        """float64 (n_cells, n_channels) totals over hour indices [h0, h1)."""
        h1 = self.n_hours if h1 is None else h1
        a, b = np.searchsorted(self.hour, [h0, h1])
        out = np.zeros((self.n_cells, self.n_channels))
        np.add.at(
            out, (self.cell[a:b], self.channel[a:b].astype(np.int64)), self.count[a:b]
        )
        return out

    def per_hour(self) -> np.ndarray:
        """float64 (n_hours, n_channels) citywide totals."""
        out = np.zeros((self.n_hours, self.n_channels))
        np.add.at(out, (self.hour, self.channel.astype(np.int64)), self.count)
        return out

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.hour, self.cell, self.channel, self.count))


def spread_over_local_day(t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For instants ``t_s``: (source index, hour start UTC, weight) with each instant's
    unit mass spread evenly over the 23, 24 or 25 hours of its local (DST) day."""
    t_s = np.asarray(t_s, dtype=np.int64)
    d0 = local_day_start(t_s)
    d1 = local_day_start(d0 + DAY + 2 * HOUR)  # next local midnight, DST-safe
    n_h = ((d1 - d0) // HOUR).astype(np.int64)
    src = np.repeat(np.arange(len(t_s)), n_h)
    first = np.repeat(np.cumsum(n_h) - n_h, n_h)
    offset = np.arange(len(src)) - first
    hours = d0[src] + offset * HOUR
    return src, hours, (1.0 / n_h[src]).astype(np.float32)


def build_counts(
    events: Events,
    grid: GridSpec,
    start_s: int,
    end_s: int,
    categories: tuple[int, ...] = TARGET_CATEGORIES,
    imprecise: str = "keep",
) -> SparseCounts:
    """Aggregate events with event time in [start_s, end_s) onto the grid.

    ``imprecise``: "keep" counts placeholder-time events at their recorded hour,
    "spread"
    spreads each evenly over its local day (its date is trusted, its hour is not),
    "drop" leaves them out. Events outside the grid or in other categories are ignored.
    """
    if imprecise not in IMPRECISE_MODES:
        raise ValueError(f"imprecise must be one of {IMPRECISE_MODES}")
    start_s, end_s = floor_hour(start_s), floor_hour(end_s + HOUR - 1)
    n_hours = (end_s - start_s) // HOUR
    ch = channel_of(events.category, categories)
    cell = grid.index_of(events.x, events.y)
    ok = (ch >= 0) & (cell >= 0)
    t = events.event_time
    precise = ok & ~events.imprecise if imprecise != "keep" else ok
    times = [t[precise]]
    cells = [cell[precise]]
    chans = [ch[precise]]
    weights = [np.ones(int(precise.sum()), dtype=np.float32)]
    if imprecise == "spread":
        imp = np.flatnonzero(ok & events.imprecise)
        src, hours, w = spread_over_local_day(t[imp])
        times.append(hours)
        cells.append(cell[imp][src])
        chans.append(ch[imp][src])
        weights.append(w)
    t_all = np.concatenate(times)
    in_range = (t_all >= start_s) & (t_all < end_s)
    hour = ((t_all[in_range] - start_s) // HOUR).astype(np.int64)
    c = np.concatenate(cells)[in_range].astype(np.int64)
    k = np.concatenate(chans)[in_range].astype(np.int64)
    w = np.concatenate(weights)[in_range]
    n_ch = len(categories)
    key = (hour * grid.n_cells + c) * n_ch + k
    uniq, inv = np.unique(key, return_inverse=True)
    count = np.bincount(inv, weights=w, minlength=len(uniq)).astype(np.float32)
    k_u = uniq % n_ch
    c_u = (uniq // n_ch) % grid.n_cells
    h_u = uniq // (n_ch * grid.n_cells)
    return SparseCounts(
        start_s=int(start_s),
        n_hours=int(n_hours),
        n_cells=grid.n_cells,
        n_channels=n_ch,
        hour=h_u.astype(np.int32),
        cell=c_u.astype(np.int32),
        channel=k_u.astype(np.int8),
        count=count,
    )


def cell_counts(
    events: Events,
    grid: GridSpec,
    categories: tuple[int, ...] = TARGET_CATEGORIES,
    start_s: int | None = None,
    end_s: int | None = None,
) -> np.ndarray:
    """float64 (n_cells, n_channels) event counts with event time in [start_s,
    end_s)."""
    ch = channel_of(events.category, categories)
    cell = grid.index_of(events.x, events.y)
    ok = (ch >= 0) & (cell >= 0)
    if start_s is not None:
        ok &= events.event_time >= start_s
    if end_s is not None:
        ok &= events.event_time < end_s
    out = np.zeros((grid.n_cells, len(categories)))
    np.add.at(out, (cell[ok], ch[ok]), 1.0)
    return out
