"""Named training configurations, and how a run's config splits into the forecaster's
settings and this service's own options.

"default" is the production configuration; "quick" keeps the demo to a few minutes on a
2-core CPU; "tiny" makes a test run take seconds. Keys starting with "_" are options of
the training service (backtest weeks and baselines, test hooks), the rest go to the
forecaster.
"""

from __future__ import annotations

from typing import Any

# The baselines a new version is backtested against (those ml/ knows), by default.
BACKTEST_BASELINES = (
    "uniform",
    "longrun",
    "recent",
    "kde",
    "seasonal",
    "seasonal_smooth",
    "hackathon",
)

PRESETS: dict[str, dict[str, Any]] = {
    "default": {"_backtest_weeks": 4},
    "quick": {
        "max_epochs": 3,
        "max_minutes": 2.0,
        "patience": 1,
        "_backtest_weeks": 2,
        "_backtest_baselines": list(BACKTEST_BASELINES),
    },
    "tiny": {
        "hidden": 8,
        "max_epochs": 1,
        "max_minutes": 0.1,
        "patience": 1,
        "min_history_days": 14,
        "origin_stride_h": 96,
        "val_days": 14,
        "windows_h": [24, 168, 672],
        "base_window_h": 672,
        "profile_window_h": 672,
        "_backtest_weeks": 1,
        "_backtest_baselines": ["uniform", "longrun", "recent"],
    },
}


def run_config(preset: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """A run's stored config: the preset overridden by ``config``, and its name."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}")
    return {**PRESETS[preset], **(config or {}), "_preset": preset}


def split_config(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the forecaster's settings, the service's options without their "_")."""
    model_cfg = {k: v for k, v in config.items() if not k.startswith("_")}
    options = {k[1:]: v for k, v in config.items() if k.startswith("_")}
    return model_cfg, options
