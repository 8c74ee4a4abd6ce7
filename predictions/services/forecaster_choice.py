"""Which forecaster a training run builds, and with which settings.

The neural model is preferred; if ml/ cannot build it, the strongest baselines in
FALLBACK_KINDS order (ml.backtest ranks seasonal_smooth first), and the version's notes
say so.
"""

from __future__ import annotations

from typing import Any

PREFERRED_KIND = "neural"
FALLBACK_KINDS = ("seasonal_smooth", "seasonal", "longrun")


class NoForecaster(RuntimeError):
    """ml/ offers no forecaster this service can use."""


def available() -> list[str]:
    from ml import forecasters

    return forecasters.available()


def choose_kind(requested: str) -> tuple[str, str]:
    """(kind, note). Falls back to the strongest baseline only when it must."""
    known = available()
    if requested in known:
        return requested, ""
    for kind in FALLBACK_KINDS:
        if kind in known:
            return kind, (
                f"forecaster {requested!r} is not available in ml/ (known: "
                f"{', '.join(known)}); fell back to the baseline {kind!r}"
            )
    raise NoForecaster(f"no usable forecaster in ml/ (known: {known})")


def forecaster_config(kind: str, model_cfg: dict[str, Any], device: str) -> dict:
    """The settings ``kind`` is built with: the run's model settings for the neural
    model; baselines take their own (small) defaults, the neural keys do not apply."""
    if kind == "neural":
        return {**model_cfg, "device": device}
    return {}


def build(kind: str, model_cfg: dict[str, Any], device: str):
    """An unfitted forecaster of ``kind``."""
    from ml import forecasters

    return forecasters.get(kind, **forecaster_config(kind, model_cfg, device))
