"""Baseline forecasters, all behind the ml.forecasters protocol.

Each ``predict`` recomputes its statistics from events reported before the origin (cheap
bincounts), so baselines are as up to date as any model; ``fit`` only tunes
hyper-parameters (KDE bandwidth, shrinkage) on the training data and records the data
start. Hour-of-day/week profiles never use ``imprecise`` (placeholder-time) events, so
the baselines learn no false midnight or noon peaks; spatial levels do use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml import TARGET_CATEGORIES
from ml.counts import build_counts, channel_of
from ml.events import Events
from ml.forecasters import BaseForecaster, Progress, register
from ml.grid import GridSpec
from ml.metrics import poisson_deviance
from ml.timeutil import DAY, HOUR, local_hour_of_week

N_CH = len(TARGET_CATEGORIES)


def _located(events: Events, grid: GridSpec) -> tuple[np.ndarray, ...]:
    """(cell, channel, event_time, imprecise) of target events inside the grid."""
    ch = channel_of(events.category)
    cell = grid.index_of(events.x, events.y)
    ok = (ch >= 0) & (cell >= 0)
    return cell[ok], ch[ok], events.event_time[ok], events.imprecise[ok]


def _cell_totals(
    events: Events, grid: GridSpec, start_s: int, end_s: int
) -> np.ndarray:
    """float64 (n_cells, 2) counts with event time in [start_s, end_s)."""
    cell, ch, t, _ = _located(events, grid)
    ok = (t >= start_s) & (t < end_s)
    out = np.bincount(cell[ok] * N_CH + ch[ok], minlength=grid.n_cells * N_CH)
    return out.reshape(grid.n_cells, N_CH).astype(np.float64)


def _hours_of(origin_s: int, hours: int) -> np.ndarray:
    return int(origin_s) + HOUR * np.arange(hours, dtype=np.int64)


def _exposure_h(origin_s: int, lookback_days: float, data_start_s: int | None) -> float:
    start = origin_s - lookback_days * DAY
    if data_start_s is not None:
        start = max(start, data_start_s)
    return max((origin_s - start) / HOUR, 1.0)


def _constant(rate: np.ndarray, hours: int) -> np.ndarray:
    """(n_cells, 2) hourly rate -> (hours, n_cells, 2) float32."""
    return np.broadcast_to(rate.astype(np.float32), (hours,) + rate.shape).copy()


def how_profile(events: Events, grid: GridSpec, start_s: int, end_s: int) -> np.ndarray:
    """Citywide hour-of-week profile (168, 2), mean 1 per channel, from precise events
    only: placeholder times would otherwise put false peaks at 00:00 and 12:00."""
    _, ch, t, imp = _located(events, grid)
    ok = (t >= start_s) & (t < end_s) & ~imp
    how = local_hour_of_week(t[ok])
    n = np.bincount(how * N_CH + ch[ok], minlength=168 * N_CH).reshape(168, N_CH)
    n = n.astype(np.float64) + 1.0  # avoid zero hours in sparse synthetic data
    return n / n.mean(axis=0, keepdims=True)


class _Baseline(BaseForecaster):
    def _fit(
        self, events: Events, grid: GridSpec, until_s: int, progress: Progress | None
    ) -> None:
        self.state["data_start_s"] = np.int64(
            events.report_time.min() if len(events) else until_s
        )

    @property
    def data_start_s(self) -> int:
        return int(self.state["data_start_s"])

    def _lookback_totals(
        self, known: Events, origin_s: int, days: float
    ) -> tuple[np.ndarray, float]:
        """Per-cell counts of ``known`` events over the ``days`` before ``origin_s``
        and the hours of data that window covers."""
        tot = _cell_totals(known, self.grid, origin_s - int(days * DAY), origin_s)
        return tot, _exposure_h(origin_s, days, self.data_start_s)


@dataclass
class UniformConfig:
    lookback_days: float = 365.0


@register("uniform")
class Uniform(_Baseline):
    """The same rate everywhere and always: the city's recent mean per cell-hour."""

    Config = UniformConfig

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        known = events.reported_before(origin_s)
        tot, exposure_h = self._lookback_totals(
            known, origin_s, self.config.lookback_days
        )
        rate = tot.sum(0) / exposure_h
        rate = np.tile(rate / self.grid.n_cells, (self.grid.n_cells, 1))
        return _constant(rate, hours)


@dataclass
class LongRunConfig:
    lookback_days: float = 20 * 365.0  # i.e. everything we have


@register("longrun")
class LongRun(_Baseline):
    """Long-run count per cell divided by the hours observed: flat in time."""

    Config = LongRunConfig

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        known = events.reported_before(origin_s)
        tot, exposure_h = self._lookback_totals(
            known, origin_s, self.config.lookback_days
        )
        return _constant(tot / exposure_h, hours)


@dataclass
class RecentConfig:
    lookback_days: float = 28.0


@register("recent")
class Recent(LongRun):
    """Counts of the last four weeks per cell: flat in time."""

    Config = RecentConfig


# --- kernel density ---------------------------------------------------------------


def _gauss_matrix(n: int, sigma_cells: float) -> np.ndarray:
    if sigma_cells < 1e-3:
        return np.eye(n)
    d = np.arange(n)[:, None] - np.arange(n)[None, :]
    k = np.exp(-0.5 * (d / sigma_cells) ** 2)
    return k / (np.sqrt(2 * np.pi) * sigma_cells)


def kde_map(grid: GridSpec, counts: np.ndarray, bandwidth_m: float) -> np.ndarray:
    """Gaussian-smoothed (n_cells, C) counts on the grid; mass that the kernel carries
    outside the city is renormalised back so totals are preserved."""
    _, _, nr, nc = grid.bbox
    s = bandwidth_m / grid.cell_size
    kr, kc = _gauss_matrix(nr, s), _gauss_matrix(nc, s)
    raster = grid.to_raster(counts.T)  # (C, nr, nc)
    smooth = kr @ raster @ kc.T
    out = grid.from_raster(smooth).T  # (n_cells, C)
    tot, got = counts.sum(0), out.sum(0)
    return out * np.where(got > 0, tot / np.where(got > 0, got, 1), 0.0)


@dataclass
class KDEConfig:
    lookback_days: float = 365.0
    bandwidths_m: tuple[float, ...] = (75.0, 150.0, 250.0, 400.0, 600.0, 900.0)
    holdout_days: float = 28.0


@register("kde")
class KDE(_Baseline):
    """Gaussian kernel density of the last year's events, flat in time. The bandwidth
    is chosen by held-out spatial log-likelihood on the last weeks of the training
    data only."""

    Config = KDEConfig

    def _fit(self, events, grid, until_s, progress) -> None:
        super()._fit(events, grid, until_s, progress)
        cut = until_s - int(self.config.holdout_days * DAY)
        before = events.reported_before(cut)
        train = _cell_totals(
            before, grid, cut - int(self.config.lookback_days * DAY), cut
        ).sum(1)
        held = _cell_totals(events, grid, cut, until_s).sum(1)
        scores = []
        for bw in self.config.bandwidths_m:
            p = kde_map(grid, train[:, None], bw)[:, 0]
            p = p / max(p.sum(), 1e-12)
            p = 0.999 * p + 0.001 / grid.n_cells  # so one unseen cell is not -inf
            scores.append(float((held * np.log(p)).sum()))
        self.state["bandwidth_m"] = np.float64(
            self.config.bandwidths_m[int(np.argmax(scores))]
        )
        self.metrics["bandwidth_scores"] = dict(
            zip(map(str, self.config.bandwidths_m), scores, strict=True)
        )

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        known = events.reported_before(origin_s)
        tot, exposure_h = self._lookback_totals(
            known, origin_s, self.config.lookback_days
        )
        dens = kde_map(self.grid, tot, float(self.state["bandwidth_m"]))
        return _constant(dens / exposure_h, hours)


# --- seasonal -------------------------------------------------------------------


@dataclass
class SeasonalConfig:
    level_days: float = 365.0
    profile_days: float = 3 * 365.0


@register("seasonal")
class Seasonal(_Baseline):
    """Cell rate (last year) x citywide hour-of-week profile (precise events only)."""

    Config = SeasonalConfig

    def _level(self, known: Events, origin_s: int) -> np.ndarray:
        tot, exposure_h = self._lookback_totals(known, origin_s, self.config.level_days)
        return tot / exposure_h

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        known = events.reported_before(origin_s)
        prof = how_profile(
            known, self.grid, origin_s - int(self.config.profile_days * DAY), origin_s
        )
        how = local_hour_of_week(_hours_of(origin_s, hours))
        level = self._level(known, origin_s)
        return (level[None, :, :] * prof[how][:, None, :]).astype(np.float32)


@dataclass
class SeasonalSmoothConfig:
    level_days: float = 365.0
    profile_days: float = 3 * 365.0
    # Pseudo-counts pulling each cell's hour-of-week shape towards the citywide one;
    # the value is chosen on the last ``holdout_days`` of the training data.
    shrinkages: tuple[float, ...] = (4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0)
    holdout_days: float = 28.0


@register("seasonal_smooth")
class SeasonalSmooth(Seasonal):
    """Smoothed cell x hour-of-week rate: the cell's own weekly shape (precise events,
    neighbouring hours blended), shrunk towards the citywide profile, x its level."""

    Config = SeasonalSmoothConfig

    def _shape(self, known: Events, origin_s: int, shrink: float) -> np.ndarray:
        start = origin_s - int(self.config.profile_days * DAY)
        prof = how_profile(known, self.grid, start, origin_s)  # (168, 2) mean 1
        cell, ch, t, imp = _located(known, self.grid)
        ok = (t >= start) & (t < origin_s) & ~imp
        how = local_hour_of_week(t[ok])
        key = (cell[ok] * 168 + how) * N_CH + ch[ok]
        n = np.bincount(key, minlength=self.grid.n_cells * 168 * N_CH)
        n = n.reshape(self.grid.n_cells, 168, N_CH).astype(np.float32)
        # Blend neighbouring hours (circular over the week): shapes are smooth in time.
        n = 0.5 * n + 0.25 * (np.roll(n, 1, axis=1) + np.roll(n, -1, axis=1))
        tot = n.sum(axis=1, keepdims=True)
        prior = (prof / 168.0).astype(np.float32)[None]
        return 168.0 * (n + shrink * prior) / (tot + shrink)

    def _fit(self, events, grid, until_s, progress) -> None:
        super()._fit(events, grid, until_s, progress)
        cut = until_s - int(self.config.holdout_days * DAY)
        hours = int(self.config.holdout_days * 24)
        before = events.reported_before(cut)
        truth = build_counts(events, grid, cut, cut + hours * HOUR, imprecise="spread")
        y = truth.dense()
        level = self._level(before, cut)
        how = local_hour_of_week(_hours_of(cut, hours))
        scores = []
        n = len(self.config.shrinkages)
        for i, shrink in enumerate(self.config.shrinkages):
            shape = self._shape(before, cut, shrink)
            mu = level[None] * np.transpose(shape, (1, 0, 2))[how]
            scores.append(float(poisson_deviance(mu, y).mean()))
            if progress is not None:
                progress((i + 1) / n, f"shrink {shrink:g}: deviance {scores[-1]:.6g}")
        best = self.config.shrinkages[int(np.argmin(scores))]
        self.state["shrink"] = np.float64(best)
        self.metrics["shrink_deviance"] = dict(
            zip(map(str, self.config.shrinkages), scores, strict=True)
        )

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        known = events.reported_before(origin_s)
        shape = self._shape(known, origin_s, float(self.state["shrink"]))
        how = local_hour_of_week(_hours_of(origin_s, hours))
        level = self._level(known, origin_s).astype(np.float32)
        return level[None] * np.transpose(shape, (1, 0, 2))[how]


BASELINE_KINDS = ("uniform", "longrun", "recent", "kde", "seasonal", "seasonal_smooth")
