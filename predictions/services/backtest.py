"""A short walk-forward backtest run by train_model (the full one is `python -m
ml.backtest`).

Every forecaster is fitted on incidents reported before ``cut_s`` (= until minus the
backtest weeks) and forecasts 168 hours from each weekly origin in [cut_s, until_s);
predict() only sees incidents reported before each origin. Scores come from ml.metrics:
PAI and hit rate at 1% / 5% of the city's area for 8-hour shifts, 24 hours and 7 days,
Poisson deviance per cell-hour, and calibration by decile (24-hour windows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

WINDOWS = {"8h": 8, "24h": 24, "7d": 168}
FRACTIONS = (0.01, 0.05)
WEEK_S = 7 * 24 * 3600


def score(pred: np.ndarray, obs: np.ndarray) -> dict[str, Any]:
    """pred/obs: float (hours, n_cells) for one or more concatenated weeks."""
    from ml import metrics

    out: dict[str, Any] = {
        "deviance": float(metrics.poisson_deviance(pred, obs).mean()),
        "expected_total": float(pred.sum()),
        "observed_total": float(obs.sum()),
    }
    for name, width in WINDOWS.items():
        p, o = metrics.window_sums(pred, width), metrics.window_sums(obs, width)
        hr = metrics.hit_rate(p, o, FRACTIONS)
        pai = metrics.pai(p, o, FRACTIONS)
        for j, f in enumerate(FRACTIONS):
            pct = int(round(f * 100))
            out[f"pai{pct}_{name}"] = float(np.nanmean(pai[:, j]))
            out[f"hit{pct}_{name}"] = float(np.nanmean(hr[:, j]))
    p24, o24 = metrics.window_sums(pred, 24), metrics.window_sums(obs, 24)
    out["calibration_24h"] = metrics.calibration(p24, o24)
    return out


def short_backtest(
    events,
    grid,
    until_s: int,
    weeks: int,
    forecasters: dict[str, Callable[[], Any]],
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """Fit each forecaster (factory) at ``until_s - weeks`` and score its weekly
    forecasts on "all default targets" (person + property). Returns
    {"origins": [...], "models": {name: metrics}} with failures reported, not raised.
    """
    from ml.counts import build_counts

    cut_s = int(until_s) - weeks * WEEK_S
    cut_s -= cut_s % 3600
    origins = [cut_s + k * WEEK_S for k in range(weeks)]
    # Observed counts come only from what was reported before until_s: the same data a
    # real forecast made then could have been checked against.
    known = events.reported_before(until_s)
    end_s = cut_s + weeks * WEEK_S
    counts = build_counts(known, grid, cut_s, end_s, imprecise="spread")
    obs = counts.dense(0, weeks * 168).sum(axis=2)
    result: dict[str, Any] = {
        "fit_until_s": cut_s,
        "origins_s": origins,
        "weeks": weeks,
        "observed": float(obs.sum()),
        "models": {},
    }
    for i, (name, factory) in enumerate(forecasters.items()):
        if progress:
            progress(i / max(1, len(forecasters)), f"backtest: {name}")
        try:
            model = factory()
            model.fit(events.reported_before(cut_s), grid, cut_s)
            pred = np.concatenate(
                [
                    model.predict(events.reported_before(o), o, 168).sum(axis=2)
                    for o in origins
                ]
            )
            result["models"][name] = score(pred, obs)
        except Exception as exc:  # one broken baseline must not sink training
            result["models"][name] = {"error": f"{type(exc).__name__}: {exc}"}
    return result
