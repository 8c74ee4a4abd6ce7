"""The short walk-forward backtest run by train_model, on ml.backtest's functions
(the full 52-week one is `python -m ml.backtest`).

Every forecaster is fitted on incidents reported before the first origin (a local
Monday midnight ``weeks`` weeks before the training cut-off) and forecasts 168 hours
from each weekly origin, seeing only incidents reported before that origin. The last
horizon ends at or before the cut-off, so the whole backtest uses data the final model
may train on but the backtested copies never saw.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from core.local_time import SEATTLE


def first_origin_day(until_s: int, weeks: int) -> str:
    """Local date (YYYY-MM-DD) of the Monday ``weeks`` weeks before the last Monday
    at or before ``until_s``."""
    from datetime import UTC, datetime

    local = datetime.fromtimestamp(until_s, UTC).astimezone(SEATTLE).date()
    monday = local - timedelta(days=local.weekday())
    if datetime(monday.year, monday.month, monday.day, tzinfo=SEATTLE).timestamp() > (
        until_s
    ):
        monday -= timedelta(days=7)
    return (monday - timedelta(weeks=weeks)).isoformat()


def short_backtest(
    events,
    grid,
    until_s: int,
    weeks: int,
    kinds: list[str],
    model_config: dict[str, dict[str, Any]],
    reference: str,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """Means with bootstrap intervals per (scale, window, kind, metric), paired
    comparisons of ``reference`` against every other kind, calibration by decile."""
    from ml.backtest import BacktestConfig, run_backtest, summarise

    known = events.reported_before(until_s)
    cfg = BacktestConfig(
        first_origin=first_origin_day(until_s, weeks),
        n_origins=weeks,
        cell_sizes=(150, 300),
        n_boot=200,
    )
    raw = run_backtest(
        known, grid, kinds, cfg, model_config=model_config, progress=progress
    )
    raw.pop("_examples", None)
    summary = summarise(raw, cfg, reference=reference)
    return jsonable(
        {
            "reference": reference,
            "weeks": weeks,
            "first_origin": cfg.first_origin,
            "origins_s": raw["origins_s"],
            "fit_until_s": raw["fit_until_s"],
            "summary": summary["summary"],
            "paired": summary["paired"],
            "calibration": raw["calibration"],
            "curves": raw["curves"],
            "timings": raw["timings"],
        }
    )


def jsonable(obj: Any) -> Any:
    """JSON-safe copy for a JSONField (ml.backtest.jsonable; big arrays noted only)."""
    from ml.backtest import jsonable as ml_jsonable

    return ml_jsonable(obj, max_array_size=5000)
