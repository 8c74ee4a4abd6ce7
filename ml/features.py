"""Feature building for the neural forecaster (NumPy only; train.py makes tensors).

Everything a forecast "as of" T sees is computed here from events *reported* before T,
so the no-leakage rule lives in one place. Three kinds of inputs:

- recent-rate maps: per cell, events per hour over trailing windows (1 day .. 1 year)
  for PERSON, PROPERTY and everything else (SOCIETY/other as an activity signal);
- hour-of-day profiles: per cell and local clock hour, PERSON/PROPERTY counts over a
  multi-year window;
- calendar features of each forecast hour in Seattle local time: hour of week, month,
  US federal holiday.

Placeholder starts (``Events.imprecise``: local 00:00/12:00 with no end) count fully in
the rate maps (their day and place are right) but their hour is unknown, so in hourly
targets and hour-of-day profiles their unit mass is spread evenly over their local day.
The model therefore never sees a false midnight/noon peak (see docs/model.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from ml.counts import spread_over_local_day
from ml.events import Events
from ml.grid import GridSpec
from ml.timeutil import DAY, HOUR, to_local_naive

N_GROUPS = 3  # rate-map channels: PERSON, PROPERTY, everything else
N_TARGETS = 2  # forecast channels: PERSON, PROPERTY
# Profile bins: local clock hour x (Monday-Friday, weekend). Nightlife and commuting
# differ between the two; a full hour-of-week profile is too sparse per cell.
N_PROFILE_BINS = 48
_MONDAY_SHIFT = 3 * DAY  # 1970-01-01 was a Thursday


# ---------------------------------------------------------------------------- calendar

HOLIDAY_NAMES = (
    "none",
    "new_year",
    "mlk",
    "presidents",
    "memorial",
    "juneteenth",
    "independence",
    "labor",
    "columbus",
    "veterans",
    "thanksgiving",
    "christmas",
)
N_HOLIDAYS = len(HOLIDAY_NAMES)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """n-th (1-based; -1 = last) given weekday (Mon=0) of a month."""
    if n > 0:
        d = date(year, month, 1)
        d += timedelta(days=(weekday - d.weekday()) % 7)
        return d + timedelta(weeks=n - 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    d = nxt - timedelta(days=1)
    return d - timedelta(days=(d.weekday() - weekday) % 7)


def _observed(d: date) -> date:
    """Federal rule: a Saturday holiday is observed Friday, a Sunday one Monday."""
    if d.weekday() == 5:
        return d - timedelta(days=1)
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


@lru_cache(maxsize=256)
def federal_holidays(year: int) -> dict[date, int]:
    """US federal holidays of a year -> holiday id (index in HOLIDAY_NAMES).

    Both the actual date and the observed day off are marked: crime follows the actual
    date (fireworks on 4 July) while work and traffic follow the day off.
    """
    fixed = {
        "new_year": date(year, 1, 1),
        "independence": date(year, 7, 4),
        "veterans": date(year, 11, 11),
        "christmas": date(year, 12, 25),
    }
    if year >= 2021:  # Juneteenth became a federal holiday in June 2021
        fixed["juneteenth"] = date(year, 6, 19)
    floating = {
        "presidents": _nth_weekday(year, 2, 0, 3),
        "memorial": _nth_weekday(year, 5, 0, -1),
        "labor": _nth_weekday(year, 9, 0, 1),
        "columbus": _nth_weekday(year, 10, 0, 2),
        "thanksgiving": _nth_weekday(year, 11, 3, 4),
    }
    if year >= 1986:
        floating["mlk"] = _nth_weekday(year, 1, 0, 3)
    out: dict[date, int] = {}
    for name, d in fixed.items():
        out[d] = out[_observed(d)] = HOLIDAY_NAMES.index(name)
    for name, d in floating.items():
        out[d] = HOLIDAY_NAMES.index(name)
    return out


def holiday_ids(local_days: np.ndarray) -> np.ndarray:
    """Holiday id (0 = none) for local calendar days given as days since 1970-01-01."""
    local_days = np.asarray(local_days, dtype=np.int64)
    if local_days.size == 0:
        return np.zeros(local_days.shape, dtype=np.int64)
    lo, hi = int(local_days.min()), int(local_days.max())
    table = np.zeros(hi - lo + 1, dtype=np.int64)
    y0 = date(1970, 1, 1) + timedelta(days=lo)
    y1 = date(1970, 1, 1) + timedelta(days=hi)
    # One year either side: New Year on a Saturday is observed on 31 December before.
    for year in range(y0.year - 1, y1.year + 2):
        for d, hid in federal_holidays(year).items():
            day = (d - date(1970, 1, 1)).days
            if lo <= day <= hi:
                table[day - lo] = hid
    return table[local_days - lo]


@dataclass
class HourFeatures:
    """Calendar features of a run of UTC hours (all int64 arrays of the same shape)."""

    hour_of_week: np.ndarray  # local, Monday 00:00 = 0
    hour_of_day: np.ndarray  # local clock hour
    profile_bin: np.ndarray  # hour_of_day + 24 on Saturday/Sunday
    month: np.ndarray  # 0..11, local
    holiday: np.ndarray  # 0 = none, else index in HOLIDAY_NAMES


def hour_features(hour_starts_s: np.ndarray) -> HourFeatures:
    local = to_local_naive(np.asarray(hour_starts_s, dtype=np.int64))
    hod = (local // HOUR) % 24
    how = ((local + _MONDAY_SHIFT) // HOUR) % 168
    days = local // DAY
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    weekend = how >= 5 * 24
    return HourFeatures(how, hod, hod + 24 * weekend, month, holiday_ids(days))


# ------------------------------------------------------------------------ event tables


@dataclass
class FeatureConfig:
    # Trailing windows of the rate maps, in hours: day, week, 4 weeks, quarter, year.
    windows_h: tuple[int, ...] = (24, 168, 672, 2184, 8760, 26280)
    # Window of the hour-of-day profile: long, as per-cell hourly counts are sparse.
    profile_window_h: int = 3 * 8760
    # A local day with fewer events than this fraction of the median day is a data gap
    # (SPD's file misses 2020-05-06..26); windows are normalised by their covered days.
    gap_fraction: float = 0.25
    # Extra rate-map groups, each counted on top of its event's own group (see
    # EXTRA_GROUPS): "late" (PERSON/PROPERTY reported over a day after the event),
    # "placeholder" (events with a placeholder time: their day is known).
    extra_groups: tuple[str, ...] = ()


# Events counted by each extra rate-map group: Events -> bool mask. A day of delay
# separates prompt reports from discovered-later ones (burglaries and car prowls found
# the next morning, frauds found weeks later). "offense:<name>" groups (names in
# ml.offenses.OFFENSE_GROUPS) need events with offense codes (ml.offenses).
EXTRA_GROUPS = {
    "late": lambda ev: (
        (ev.category < N_TARGETS) & (ev.report_time - ev.event_time > DAY)
    ),
    "placeholder": lambda ev: ev.imprecise,
}


def extra_group_mask(name: str, events: Events) -> np.ndarray:
    if name.startswith("offense:"):
        from ml.offenses import OFFENSE_CODES

        group = name.split(":", 1)[1]
        if group not in OFFENSE_CODES:
            raise ValueError(f"unknown offense group {group!r}: {list(OFFENSE_CODES)}")
        if getattr(events, "offense", None) is None:
            raise ValueError(
                f"extra group {name!r} needs events with offense groups "
                "(ml.offenses.OffenseEvents; python -m ml.backtest --offenses)"
            )
        return events.offense == OFFENSE_CODES[group]
    if name not in EXTRA_GROUPS:
        raise ValueError(f"unknown extra group {name!r}: {list(EXTRA_GROUPS)}")
    return EXTRA_GROUPS[name](events)


class FeatureBuilder:
    """Indexes events once, then answers "features as of T" quickly for any T.

    Events are sorted by event time so a trailing window is one ``searchsorted`` slice;
    the ``report_time < T`` mask inside the slice enforces no leakage.
    """

    def __init__(
        self, events: Events, grid: GridSpec, config: FeatureConfig | None = None
    ):
        self.config = config or FeatureConfig()
        self.grid = grid
        self.n_cells = grid.n_cells
        cell = grid.index_of(events.x, events.y)
        keep = cell >= 0
        order = np.argsort(events.event_time[keep], kind="stable")
        self.t = events.event_time[keep][order]
        self.rep = events.report_time[keep][order]
        self.cell = cell[keep][order].astype(np.int64)
        cat = events.category[keep][order].astype(np.int64)
        self.group = np.minimum(cat, N_GROUPS - 1)
        imprecise = events.imprecise[keep][order]
        self.extra = []
        if self.config.extra_groups:
            ordered = events.select(np.flatnonzero(keep)[order])
            self.extra = [
                extra_group_mask(name, ordered) for name in self.config.extra_groups
            ]
        self.start_s = int(self.t.min()) if len(self.t) else 0
        self.end_s = int(self.t.max()) + 1 if len(self.t) else 0
        self._build_hourly(cat, imprecise)
        self._build_coverage()

    # Hourly weighted table of PERSON/PROPERTY events: one row per precise event at its
    # hour, 24 (23/25 on DST days) rows of weight 1/len for a placeholder event.
    def _build_hourly(self, cat: np.ndarray, imprecise: np.ndarray) -> None:
        tgt = cat < N_TARGETS
        prec = tgt & ~imprecise
        hours = [self.t[prec] - self.t[prec] % HOUR]
        cells = [self.cell[prec]]
        ks = [cat[prec]]
        ws = [np.ones(int(prec.sum()), dtype=np.float32)]
        reps = [self.rep[prec]]
        imp = np.flatnonzero(tgt & imprecise)
        if imp.size:
            src, hrs, w = spread_over_local_day(self.t[imp])
            hours.append(hrs)
            cells.append(self.cell[imp][src])
            ks.append(cat[imp][src])
            ws.append(w)
            reps.append(self.rep[imp][src])
        h = np.concatenate(hours)
        order = np.argsort(h, kind="stable")
        self.h_hour = h[order]
        self.h_cell = np.concatenate(cells)[order]
        self.h_k = np.concatenate(ks)[order]
        self.h_w = np.concatenate(ws)[order]
        self.h_rep = np.concatenate(reps)[order]
        self.h_bin = hour_features(self.h_hour).profile_bin

    def _build_coverage(self) -> None:
        """Per local day: True when the data covers it (not a gap in the source file).

        The last 30 days are always "covered": there, low counts are reporting delay,
        which a forecast must live with, not a gap.
        """
        if len(self.t) == 0:
            self.day0 = 0
            self.covered = np.ones(1, dtype=bool)
            self.cov_cum = np.zeros(2, dtype=np.int64)
            return
        days = to_local_naive(self.t) // DAY
        self.day0 = int(days.min())
        n = int(days.max()) - self.day0 + 1
        counts = np.bincount(days - self.day0, minlength=n)
        med = np.median(counts[counts > 0])
        covered = counts >= self.config.gap_fraction * med
        covered[max(0, n - 30) :] = True
        self.covered = covered
        self.cov_cum = np.concatenate([[0], np.cumsum(covered)])

    def covered_fraction(self, t0: int, t1: int) -> float:
        """Fraction of local days in [t0, t1) the data covers (1 outside the data)."""
        d0 = int(to_local_naive(np.array([t0]))[0] // DAY) - self.day0
        d1 = int(to_local_naive(np.array([t1 - 1]))[0] // DAY) - self.day0 + 1
        n = d1 - d0
        lo, hi = np.clip([d0, d1], 0, len(self.covered))
        inside = hi - lo
        cov = int(self.cov_cum[hi] - self.cov_cum[lo]) + (n - inside)
        return cov / max(n, 1)

    # ------------------------------------------------------------------- features at T

    @property
    def n_groups(self) -> int:
        """Rate-map groups: PERSON, PROPERTY, everything else, then the extras."""
        return N_GROUPS + len(self.extra)

    def rate_maps(self, t: int) -> np.ndarray:
        """float32 (n_windows * n_groups, n_cells): events per hour in each trailing
        window before ``t``, from events reported before ``t`` only."""
        cfg = self.config
        n, c, g = len(cfg.windows_h), self.n_cells, self.n_groups
        out = np.zeros((n, g, c), dtype=np.float32)
        hi = np.searchsorted(self.t, t, side="left")
        for i, w in enumerate(cfg.windows_h):
            t0 = t - w * HOUR
            lo = np.searchsorted(self.t, t0, side="left")
            sl = slice(lo, hi)
            known = self.rep[sl] < t
            cell = self.cell[sl][known]
            idx = self.group[sl][known] * c + cell
            counts = np.bincount(idx, minlength=N_GROUPS * c).reshape(N_GROUPS, c)
            # Hours actually covered: not before the data starts, not inside a gap.
            span_h = (t - max(t0, self.start_s)) / HOUR
            hours = max(span_h * self.covered_fraction(max(t0, self.start_s), t), 1.0)
            out[i, :N_GROUPS] = counts / hours
            for j, mask in enumerate(self.extra):
                extra = np.bincount(cell[mask[sl][known]], minlength=c)
                out[i, N_GROUPS + j] = extra / hours
        return out.reshape(n * g, c)

    def profile_counts(self, t: int) -> np.ndarray:
        """float32 (n_cells, 48, 2): PERSON/PROPERTY counts by profile bin over the
        profile window before ``t`` (reported before ``t``; placeholders spread)."""
        c = self.n_cells
        lo = np.searchsorted(
            self.h_hour, t - self.config.profile_window_h * HOUR, "left"
        )
        hi = np.searchsorted(self.h_hour, t, side="left")
        sl = slice(lo, hi)
        known = self.h_rep[sl] < t
        idx = (
            self.h_cell[sl][known] * N_PROFILE_BINS + self.h_bin[sl][known]
        ) * 2 + self.h_k[sl][known]
        w = self.h_w[sl][known]
        return (
            np.bincount(idx, weights=w, minlength=c * N_PROFILE_BINS * 2)
            .astype(np.float32)
            .reshape(c, N_PROFILE_BINS, 2)
        )

    def targets(self, t0: int, hours: int) -> tuple[np.ndarray, np.ndarray]:
        """Sparse hourly targets in [t0, t0 + hours): (index (m, 3) of hour, cell, k;
        weight (m,)). Everything eventually reported counts: this is the truth."""
        lo = np.searchsorted(self.h_hour, t0, side="left")
        hi = np.searchsorted(self.h_hour, t0 + hours * HOUR, side="left")
        idx = np.stack(
            [(self.h_hour[lo:hi] - t0) // HOUR, self.h_cell[lo:hi], self.h_k[lo:hi]], 1
        )
        return idx.astype(np.int64), self.h_w[lo:hi]

    def dense_targets(self, t0: int, hours: int) -> np.ndarray:
        """float32 (hours, n_cells, 2) of :meth:`targets` (tests and diagnostics)."""
        idx, w = self.targets(t0, hours)
        out = np.zeros((hours, self.n_cells, N_TARGETS), dtype=np.float32)
        np.add.at(out, (idx[:, 0], idx[:, 1], idx[:, 2]), w)
        return out


def horizon_features(
    origin_s: int, hours: int, lead_offset: int = 0
) -> dict[str, np.ndarray]:
    """Calendar and lead-time features of the forecast hours
    ``origin + (lead_offset + h) hours`` for h in 0..hours-1."""
    leads = lead_offset + np.arange(hours, dtype=np.int64)
    hf = hour_features(origin_s + leads * HOUR)
    return {
        "how": hf.hour_of_week,
        "hod": hf.hour_of_day,
        "pbin": hf.profile_bin,
        "month": hf.month,
        "holiday": hf.holiday,
        "lead": leads,
    }
