"""How a model version's backtest is shown: the headline numbers (the page, the API,
the admin, the train_model command) and the model card's tables."""

from __future__ import annotations

from typing import Any

HEADLINE_SCALE = "150m"
METRICS = ("pai_1", "pai_5", "hit_1", "hit_5", "pei_1", "pei_5", "deviance")


def headline(version) -> dict[str, Any]:
    """The model's key backtest means (150 m cells) and the best baseline's."""
    bt = (version.metrics or {}).get("backtest", {})
    summary = bt.get("summary", {}).get(HEADLINE_SCALE, {})
    out: dict[str, Any] = {}
    for window in ("8h", "24h"):
        by_kind = summary.get(window, {})
        mine = by_kind.get(version.kind, {})
        for metric in ("pai_1", "pai_5", "deviance"):
            out[f"{metric}_{window}"] = (mine.get(metric) or {}).get("mean")
        others = {k: v for k, v in by_kind.items() if k != version.kind}
        if others:
            best = max(others, key=lambda k: others[k]["pai_1"]["mean"] or 0)
            out[f"best_baseline_{window}"] = best
            out[f"best_baseline_pai_1_{window}"] = others[best]["pai_1"]["mean"]
    return out


def table(metrics: dict[str, Any], window: str, scale: str = HEADLINE_SCALE):
    """Rows for a template: [(kind, {metric: {mean, lo, hi}})], reference first."""
    by_kind = metrics.get("summary", {}).get(scale, {}).get(window, {})
    ref = metrics.get("reference")
    order = sorted(by_kind, key=lambda k: (k != ref, k))
    return [(k, by_kind[k]) for k in order]


def calibration(version) -> dict[str, list[float]] | None:
    """The model card's calibration: the version's own forecasts of 24-hour totals
    in 150 m cells against what was reported, by decile (None without one)."""
    bt = (version.metrics or {}).get("backtest", {}) if version else {}
    return (
        bt.get("calibration", {})
        .get(HEADLINE_SCALE, {})
        .get("24h", {})
        .get(version.kind)
        if bt
        else None
    )


def measured_error(version) -> float | None:
    """The model's measured error, as a share (0.05 = 5%): its decile calibration
    error on the model card (ml.metrics.calibration_error). A difference between
    two forecasts smaller than this is not one the model can tell apart."""
    # From ml.metrics (numpy only), not ml.ablation: that imports the forecasters,
    # hence torch, which cost a web process's first commute 4 s.
    from ml.metrics import calibration_error

    found = calibration(version)
    if not found or not found.get("n"):
        return None
    return calibration_error(found)
