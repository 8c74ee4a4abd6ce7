"""Forecast skill metrics for hotspot maps and counts.

Arrays are ``(n_windows, n_cells)``: the forecast (expected count) and the observed
count of each cell summed over a window (an 8-hour shift, a day, a week). Ranking
metrics treat tied forecasts fairly: cells with equal forecasts share the area budget
evenly, so a flat map hits exactly ``fraction`` of events whatever the cell order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_FRACTIONS = (0.01, 0.05)
CURVE_FRACTIONS = tuple(np.round(np.linspace(0.0, 0.20, 41), 4))


def _captured(
    pred: np.ndarray, obs: np.ndarray, fractions: Sequence[float]
) -> np.ndarray:
    """Observed events inside the top ``fraction`` of cells by forecast: (W, F)."""
    pred = np.atleast_2d(np.asarray(pred, dtype=np.float64))
    obs = np.atleast_2d(np.asarray(obs, dtype=np.float64))
    w, n = pred.shape
    order = np.argsort(-pred, axis=1, kind="stable")
    p = np.take_along_axis(pred, order, axis=1)
    o = np.take_along_axis(obs, order, axis=1)
    cum = np.zeros((w, n + 1))
    np.cumsum(o, axis=1, out=cum[:, 1:])
    idx = np.arange(n)
    new = np.ones((w, n), dtype=bool)
    new[:, 1:] = p[:, 1:] != p[:, :-1]
    start = np.maximum.accumulate(np.where(new, idx, 0), axis=1)  # group start
    last = np.ones((w, n), dtype=bool)
    last[:, :-1] = new[:, 1:]
    end = np.minimum.accumulate(np.where(last, idx + 1, n)[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(w)[:, None]

    def tie_cum(j: np.ndarray) -> np.ndarray:
        # Captured count after taking j cells; inside a tie group the group's events
        # accrue linearly, as if its cells were taken in random order.
        q = np.clip(j - 1, 0, n - 1)
        s, e = start[:, q], end[:, q]
        cs, ce = cum[rows, s], cum[rows, e]
        val = cs + (j[None, :] - s) / (e - s) * (ce - cs)
        return np.where(j[None, :] <= 0, 0.0, val)

    k = np.asarray(fractions, dtype=np.float64) * n
    lo = np.floor(k).astype(np.int64)
    hi = np.minimum(lo + 1, n)
    c_lo, c_hi = tie_cum(lo), tie_cum(hi)
    return c_lo + (k - lo)[None, :] * (c_hi - c_lo)


def hit_rate(
    pred: np.ndarray, obs: np.ndarray, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> np.ndarray:
    """Share of observed events in the top-``fraction`` forecast cells: (W, F); NaN
    for windows without events."""
    obs = np.atleast_2d(np.asarray(obs, dtype=np.float64))
    total = obs.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, _captured(pred, obs, fractions) / total, np.nan)


def pai(
    pred: np.ndarray, obs: np.ndarray, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> np.ndarray:
    """Predictive accuracy index: hit rate / area fraction (equal-area cells)."""
    return hit_rate(pred, obs, fractions) / np.asarray(fractions, dtype=np.float64)


def pei(
    pred: np.ndarray, obs: np.ndarray, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> np.ndarray:
    """Predictive efficiency index: events captured / the most any map could capture in
    the same area (the observed counts themselves ranked first)."""
    got = _captured(pred, obs, fractions)
    best = _captured(obs, obs, fractions)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(best > 0, got / best, np.nan)


def poisson_deviance(mu: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Unit Poisson deviance 2 (y log(y/mu) - (y - mu)), elementwise.

    ``mu`` is floored at ``eps`` so a forecast of exactly zero where something happened
    costs a large, finite penalty instead of infinity.
    """
    mu = np.maximum(np.asarray(mu, dtype=np.float64), eps)
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylog = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return 2.0 * (ylog - (y - mu))


def window_sums(hourly: np.ndarray, window_hours: int) -> np.ndarray:
    """(H, n, ...) hourly values -> (H // w, n, ...) sums over consecutive windows."""
    h = hourly.shape[0] // window_hours * window_hours
    return (
        hourly[:h].reshape((h // window_hours, window_hours) + hourly.shape[1:]).sum(1)
    )


def calibration(
    pred: np.ndarray, obs: np.ndarray, n_bins: int = 10
) -> dict[str, list[float]]:
    """Mean forecast vs mean observed count in equal-size bins of the forecast's rank
    (deciles by default); rank-based so heavy ties still give equal-size bins."""
    pred = np.asarray(pred, dtype=np.float64).ravel()
    obs = np.asarray(obs, dtype=np.float64).ravel()
    order = np.argsort(pred, kind="stable")
    bins = np.array_split(order, n_bins)
    return {
        "mean_pred": [float(pred[b].mean()) for b in bins],
        "mean_obs": [float(obs[b].mean()) for b in bins],
        "n": [len(b) for b in bins],
    }


def _boot_index(groups: np.ndarray, n_boot: int, seed: int) -> list[np.ndarray]:
    # Cluster bootstrap: resample whole groups (e.g. forecast origins/weeks) because the
    # windows inside one week share the same forecast and are not independent.
    rng = np.random.default_rng(seed)
    uniq, inv = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inv == g) for g in range(len(uniq))]
    out = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        out.append(np.concatenate([members[g] for g in pick]))
    return out


def bootstrap_mean_ci(
    values: np.ndarray,
    groups: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float]:
    """Mean of ``values`` (NaNs ignored) with a percentile bootstrap interval."""
    values = np.asarray(values, dtype=np.float64)
    groups = np.arange(len(values)) if groups is None else np.asarray(groups)
    boots = np.array([np.nanmean(values[i]) for i in _boot_index(groups, n_boot, seed)])
    a = (1 - level) / 2
    return {
        "mean": float(np.nanmean(values)),
        "lo": float(np.nanquantile(boots, a)),
        "hi": float(np.nanquantile(boots, 1 - a)),
    }


def paired_bootstrap(
    model: np.ndarray,
    baseline: np.ndarray,
    groups: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float]:
    """Model-minus-baseline mean difference over the same windows, with a bootstrap
    interval (same resampled windows for both), plus the relative difference
    mean(model)/mean(baseline) - 1 and its interval."""
    m = np.asarray(model, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    ok = np.isfinite(m) & np.isfinite(b)
    m, b = m[ok], b[ok]
    groups = np.arange(len(m)) if groups is None else np.asarray(groups)[ok]
    diffs, rels = [], []
    for i in _boot_index(groups, n_boot, seed):
        diffs.append(m[i].mean() - b[i].mean())
        rels.append(m[i].mean() / b[i].mean() - 1 if b[i].mean() != 0 else np.nan)
    a = (1 - level) / 2
    return {
        "diff": float(m.mean() - b.mean()),
        "lo": float(np.quantile(diffs, a)),
        "hi": float(np.quantile(diffs, 1 - a)),
        "rel": float(m.mean() / b.mean() - 1) if b.mean() != 0 else float("nan"),
        "rel_lo": float(np.nanquantile(rels, a)),
        "rel_hi": float(np.nanquantile(rels, 1 - a)),
    }


def calibration_error(cal: dict[str, list[float]]) -> float:
    """Decile calibration error: sum over forecast deciles of |forecast - observed|,
    as a fraction of all observed events (0 = every decile's total is right)."""
    p = np.asarray(cal["mean_pred"]) * np.asarray(cal["n"])
    o = np.asarray(cal["mean_obs"]) * np.asarray(cal["n"])
    return float(np.abs(p - o).sum() / max(o.sum(), 1e-12))
