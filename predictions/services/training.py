"""Training runs: events from PostGIS -> fit -> short backtest -> ModelVersion.

Everything here is called by the Celery task and the `train_model` command alike. A run
only ever activates a version after the version row exists with its checkpoint on
disk; a run that fails (or whose worker dies) leaves the active version untouched.
"""

from __future__ import annotations

import logging
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import RunStatus
from core.run_ownership import RunOwnership, worker_label
from predictions.models import ModelVersion, TrainingRun
from predictions.services.cells import grid_spec
from predictions.services.incident_events import load_events
from predictions.services.training_backtest import (
    HEADLINE_SCALE,
    jsonable,
    short_backtest,
)

log = logging.getLogger(__name__)

PREFERRED_KIND = "neural"
# If the neural forecaster cannot be built, the strongest baselines in this order
# (ML-1's backtest ranks seasonal_smooth first); the version's notes say so.
FALLBACK_KINDS = ("seasonal_smooth", "seasonal", "longrun")
BACKTEST_BASELINES = (
    "uniform",
    "longrun",
    "recent",
    "kde",
    "seasonal",
    "seasonal_smooth",
    "hackathon",
)

# Named configurations. "default" is the production one; "quick" keeps the demo to a
# few minutes on a 2-core CPU; "tiny" makes a test run take seconds. Keys starting with
# "_" are options of this service, the rest go to the forecaster.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {"_backtest_weeks": 4},
    "quick": {
        "max_epochs": 3,
        "max_minutes": 2.0,
        "patience": 1,
        "_backtest_weeks": 2,
        "_backtest_baselines": [
            "uniform",
            "longrun",
            "recent",
            "kde",
            "seasonal",
            "seasonal_smooth",
            "hackathon",
        ],
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


class TrainingFailed(RuntimeError):
    pass


# A RUNNING run is owned through an advisory lock (core.run_ownership):
# a run whose worker died, on any host, is failed by the next check. "SPDt".
RUN_LOCK_CLASS = 0x53504474


def worker_lost_fields(run) -> dict[str, str]:
    """What a training or forecast run whose worker died says."""
    return {
        "error": f"worker {run.worker or '?'} died or was killed mid-run",
        "message": "failed: worker lost",
    }


RUNS = RunOwnership(TrainingRun, RUN_LOCK_CLASS, worker_lost_fields)


def create_run(
    until: datetime | None = None,
    device: str = "auto",
    activate: bool = False,
    preset: str = "default",
    config: dict[str, Any] | None = None,
    kind: str = PREFERRED_KIND,
    user=None,
) -> TrainingRun:
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}")
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError("device must be auto, cpu or cuda")
    merged = {**PRESETS[preset], **(config or {}), "_preset": preset}
    return TrainingRun.objects.create(
        until=until or timezone.now(),
        device=device,
        activate=activate,
        config=merged,
        kind=kind,
        created_by=user,
    )


def _split_config(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    model_cfg = {k: v for k, v in config.items() if not k.startswith("_")}
    options = {k[1:]: v for k, v in config.items() if k.startswith("_")}
    return model_cfg, options


def _build_config(kind: str, model_cfg: dict[str, Any], device: str) -> dict:
    if kind == "neural":
        return {**model_cfg, "device": device}
    # Baselines take their own (small) configs; the neural keys do not apply.
    return {}


def _build(kind: str, model_cfg: dict[str, Any], device: str):
    from ml import forecasters

    return forecasters.get(kind, **_build_config(kind, model_cfg, device))


def choose_kind(requested: str) -> tuple[str, str]:
    """(kind, note). Falls back to the strongest baseline only when it must."""
    from ml import forecasters

    known = forecasters.available()
    if requested in known:
        return requested, ""
    for kind in FALLBACK_KINDS:
        if kind in known:
            return kind, (
                f"forecaster {requested!r} is not available in ml/ (known: "
                f"{', '.join(known)}); fell back to the baseline {kind!r}"
            )
    raise TrainingFailed(f"no usable forecaster in ml/ (known: {known})")


class _Reporter:
    """Progress into the TrainingRun row: throttled writes (with heartbeat_at, the
    time of the last progress, for display)."""

    def __init__(self, run: TrainingRun, sleep_s: float = 0.0):
        self.run = run
        self.sleep_s = float(sleep_s)
        self.lo, self.hi = 0.0, 1.0
        self._last = 0.0

    def stage(self, lo: float, hi: float, message: str) -> None:
        self.lo, self.hi = lo, hi
        self.report(0.0, message, force=True)

    def report(self, fraction: float, message: str = "", force: bool = False) -> None:
        value = self.lo + (self.hi - self.lo) * max(0.0, min(1.0, fraction))
        now = time.monotonic()
        if force or now - self._last > 1.0:
            self._last = now
            TrainingRun.objects.filter(pk=self.run.pk).update(
                progress=round(value, 4),
                message=message[:255],
                heartbeat_at=timezone.now(),
            )
        if self.sleep_s:
            # Test-only hook (config "_sleep_in_progress_s"): lets a test kill the
            # worker while a run is provably in the middle of training.
            time.sleep(self.sleep_s)

    def __call__(self, fraction: float, message: str) -> None:
        """The ml/ progress contract: progress(fraction, message)."""
        self.report(float(fraction), f"fit: {message}")


def execute(run_id: int) -> ModelVersion:
    """Claim and perform one training run; marks it failed on any error."""
    if not RUNS.claim(run_id, worker=worker_label()):
        run = TrainingRun.objects.get(pk=run_id)
        raise TrainingFailed(f"training run {run_id} is {run.status}, not pending")
    try:
        run = TrainingRun.objects.get(pk=run_id)
        return _train(run)
    except BaseException as exc:
        # BaseException: a soft time limit or a KeyboardInterrupt must still leave a
        # failed row behind, never a RUNNING one.
        TrainingRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error="".join(traceback.format_exception(exc))[-8000:],
            message=f"failed: {type(exc).__name__}: {exc}"[:255],
        )
        raise
    finally:
        # After the final status is written; the worker's connection outlives the
        # task (CONN_MAX_AGE), so the lock must not.
        RUNS.release(run_id)


def _train(run: TrainingRun) -> ModelVersion:
    model_cfg, options = _split_config(run.config)
    progress = _Reporter(run, options.get("sleep_in_progress_s", 0.0))
    progress.stage(0.0, 0.05, "loading incidents")
    until_s = int(run.until.timestamp())
    until_s -= until_s % 3600
    events = load_events(run.until)
    grid = grid_spec()
    if not len(events):
        raise TrainingFailed(f"no incidents reported before {run.until.isoformat()}")

    kind, note = choose_kind(run.kind)
    from ml.forecasters import resolve_device

    device = str(resolve_device(run.device).type)
    progress.stage(0.05, 0.6, f"fitting {kind} on {len(events)} incidents")
    started = time.perf_counter()
    forecaster = _build(kind, model_cfg, device)
    forecaster.fit(events, grid, until_s, progress=progress)
    fit_seconds = time.perf_counter() - started

    path = (
        settings.ARTIFACTS_DIR
        / "models"
        / f"{kind}-{run.until:%Y%m%dT%H%M}-run{run.pk}-{int(time.time())}.pt"
    )
    forecaster.save(path)

    weeks = int(options.get("backtest_weeks", 4))
    backtest: dict[str, Any] = {}
    if weeks > 0:
        progress.stage(0.6, 0.97, f"backtest over {weeks} week(s)")
        from ml import forecasters as registry

        known = set(registry.available())
        names = [
            b
            for b in options.get("backtest_baselines", BACKTEST_BASELINES)
            if b in known and b != kind
        ]
        kinds = [kind, *names]
        model_config = {kind: _build_config(kind, model_cfg, device)}

        def bt_progress(fraction: float, message: str) -> None:
            progress.report(fraction, f"backtest: {message}")

        backtest = short_backtest(
            events, grid, until_s, weeks, kinds, model_config, kind, bt_progress
        )

    progress.stage(0.97, 1.0, "registering the version")
    window = dict(getattr(forecaster, "data_window", {}) or {})
    first = window.get("first_event_s")
    metrics = {
        "backtest": backtest,
        "fit": jsonable(getattr(forecaster, "metrics", {}) or {}),
    }
    with transaction.atomic():
        version = ModelVersion.objects.create(
            kind=kind,
            config=run.config,
            checkpoint=str(path.relative_to(settings.ARTIFACTS_DIR)),
            data_until=datetime.fromtimestamp(until_s, UTC),
            data_first_event=datetime.fromtimestamp(first, UTC) if first else None,
            n_events=int(window.get("n_events") or len(events)),
            metrics=metrics,
            training_seconds=round(fit_seconds, 2),
            device=device,
            notes=note,
        )
        updated = TrainingRun.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING
        ).update(
            status=RunStatus.SUCCEEDED,
            progress=1.0,
            message=f"registered version {version.pk}",
            finished_at=timezone.now(),
            model_version=version,
        )
        if not updated:
            # Marked failed meanwhile (our connection, and so our lock, was lost and
            # the run reclaimed as dead): do not activate.
            raise TrainingFailed("run was no longer RUNNING when it finished")
        if run.activate:
            version.activate()
    return version


def headline(version: ModelVersion) -> dict[str, Any]:
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


def runs_needing_attention() -> Q:
    return Q(status=RunStatus.RUNNING) | Q(status=RunStatus.PENDING)
