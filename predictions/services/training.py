"""Training runs: events from PostGIS -> fit -> short backtest -> ModelVersion.

What is trained comes from training_presets (configurations) and forecaster_choice
(which forecaster); how the result is shown, from headline_metrics.

Everything here is called by the Celery task and the `train_model` command alike. A run
only ever activates a version after the version row exists with its checkpoint
(stored in PostgreSQL in the same transaction, predictions.services.checkpoints); a
run that fails (or whose worker dies) leaves the active version untouched.
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.local_time import SEATTLE, floor_hour
from core.models import RunStatus
from core.run_ownership import RunOwnership, worker_label, worker_lost
from crimes.models import Incident
from predictions.models import ModelVersion, TrainingRun
from predictions.services import checkpoints
from predictions.services.cells import grid_spec
from predictions.services.forecaster_choice import (
    PREFERRED_KIND,
    available,
    build,
    choose_kind,
    forecaster_config,
)
from predictions.services.incident_events import load_events
from predictions.services.training_backtest import jsonable, short_backtest
from predictions.services.training_presets import (
    BACKTEST_BASELINES,
    run_config,
    split_config,
)

log = logging.getLogger(__name__)


class TrainingFailed(RuntimeError):
    pass


# A RUNNING run is owned through an advisory lock (core.run_ownership): a run whose
# worker died, on any host, is failed by the next check. "SPDt".
RUN_LOCK_CLASS = 0x53504474
# Training runs on the `gpu` queue (settings.CELERY_TASK_ROUTES).
RUNS = RunOwnership(TrainingRun, RUN_LOCK_CLASS, worker_lost, queue="gpu")


def create_run(
    until: datetime | None = None,
    device: str = "auto",
    activate: bool = False,
    preset: str = "default",
    config: dict[str, Any] | None = None,
    kind: str = PREFERRED_KIND,
    user=None,
) -> TrainingRun:
    """A PENDING run. Without ``until`` it trains on everything reported so far: up
    to the newest report, which the run's message names (data that ended long ago
    would leave the model nothing recent to learn from: see `_check_recent`)."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError("device must be auto, cpu or cuda")
    message = ""
    if until is None:
        newest = newest_report()
        if newest is None:
            raise ValueError("no incidents are stored: import data before training")
        # The hour after the newest report: training floors `until` to the hour.
        until = floor_hour(newest) + timedelta(hours=1)
        message = (
            f"no --until given: training on everything reported up to the newest "
            f"report, {_local(newest)}"
        )
    return TrainingRun.objects.create(
        until=until,
        device=device,
        activate=activate,
        config=run_config(preset, config),
        kind=kind,
        created_by=user,
        message=message,
    )


def newest_report() -> datetime | None:
    return Incident.objects.aggregate(newest=Max("reported_at"))["newest"]


def _local(moment: datetime) -> str:
    return f"{moment.astimezone(SEATTLE):%Y-%m-%d %H:%M} (Seattle time)"


# Training needs recent data: a cut-off this long after the newest report leaves the
# model (and its backtest) weeks without a single incident.
MAX_GAP_BEFORE_UNTIL = timedelta(days=7)


def _check_recent(events, until: datetime) -> None:
    newest = datetime.fromtimestamp(int(events.report_time.max()), UTC)
    if until - newest > MAX_GAP_BEFORE_UNTIL:
        suggested = floor_hour(newest) + timedelta(hours=1)
        raise TrainingFailed(
            f"the newest report is {_local(newest)}, {(until - newest).days} days "
            f"before --until {_local(until)}: there is no recent data to train on. "
            f"Import newer data, or train with --until "
            f"{suggested.astimezone(SEATTLE):%Y-%m-%dT%H:%M} (or without --until, "
            "which trains up to the newest report)."
        )


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
    with RUNS.running(run_id):
        return _train(TrainingRun.objects.get(pk=run_id))


def _train(run: TrainingRun) -> ModelVersion:
    model_cfg, options = split_config(run.config)
    progress = _Reporter(run, options.get("sleep_in_progress_s", 0.0))
    progress.stage(0.0, 0.05, "loading incidents")
    until_s = int(run.until.timestamp())
    until_s -= until_s % 3600
    events = load_events(run.until)
    grid = grid_spec()
    if not len(events):
        raise TrainingFailed(f"no incidents reported before {run.until.isoformat()}")
    _check_recent(events, run.until)

    kind, note = choose_kind(run.kind)
    from ml.device import resolve_device

    device = str(resolve_device(run.device).type)
    progress.stage(0.05, 0.6, f"fitting {kind} on {len(events)} incidents")
    started = time.perf_counter()
    forecaster = build(kind, model_cfg, device)
    forecaster.fit(events, grid, until_s, progress=progress)
    fit_seconds = time.perf_counter() - started

    stamp = f"{run.until:%Y%m%dT%H%M}-run{run.pk}-{int(time.time())}"
    checkpoint = f"models/{kind}-{stamp}.pt"  # its name in core.file_store

    weeks = int(options.get("backtest_weeks", 4))
    backtest: dict[str, Any] = {}
    if weeks > 0:
        progress.stage(0.6, 0.97, f"backtest over {weeks} week(s)")
        known = set(available())
        names = [
            b
            for b in options.get("backtest_baselines", BACKTEST_BASELINES)
            if b in known and b != kind
        ]
        kinds = [kind, *names]
        model_config = {kind: forecaster_config(kind, model_cfg, device)}

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
    settings.ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=settings.ARTIFACTS_DIR) as scratch,
        transaction.atomic(),
    ):
        path = Path(scratch) / "checkpoint.pt"
        forecaster.save(path)
        checkpoints.store(checkpoint, path)
        version = ModelVersion.objects.create(
            kind=kind,
            config=run.config,
            checkpoint=checkpoint,
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
