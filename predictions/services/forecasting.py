"""Forecast precompute: a model version's forecast for [start, start + hours) written
as rows (one per hour and category) that pages and the API read later.

Only incidents reported before ``start`` are loaded, so a forecast as of T is the same
whatever was imported afterwards.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from core.cache import MODELS, VersionedCache
from core.local_time import as_aware, floor_hour
from core.models import RunStatus
from core.run_ownership import RunOwnership, worker_label, worker_lost
from predictions.models import Category, ForecastRun, ModelVersion
from predictions.services import checkpoints, forecast_store
from predictions.services.cells import grid_arrays
from predictions.services.incident_events import load_events
from predictions.signals import forecast_stored

log = logging.getLogger(__name__)
MAX_HOURS = forecast_store.MAX_HOURS
# Owned like every run (core.run_ownership); "SPDf".
RUN_LOCK_CLASS = 0x53504466
RUNS = RunOwnership(ForecastRun, RUN_LOCK_CLASS, worker_lost)

# One model per process is plenty; any change to the versions reloads it.
_MODELS = VersionedCache("forecaster", (MODELS,), local=1)


def load_model(version: ModelVersion):
    """The fitted forecaster of a version, loaded once per process."""
    from ml import forecasters

    def load():
        return forecasters.load(checkpoints.local_path(version))

    return _MODELS.get((version.pk, version.checkpoint), load)


def create_run(
    start: datetime | None = None,
    hours: int = 168,
    model_version_id: int | None = None,
    user=None,
) -> ForecastRun:
    """A PENDING run for [start, start + hours) (start None = the current hour)."""
    if not 1 <= int(hours) <= MAX_HOURS:
        raise ValueError(f"hours must be between 1 and {MAX_HOURS}")
    if model_version_id is None:
        version = forecast_store.active_version()
        if version is None:
            raise ValueError("no model version is active; train and activate one")
    else:
        version = ModelVersion.objects.filter(pk=model_version_id).first()
        if version is None:
            raise ValueError(f"model version {model_version_id} does not exist")
    start = floor_hour(as_aware(start or timezone.now()))
    return ForecastRun.objects.create(
        model_version=version, start=start, hours=int(hours), created_by=user
    )


def execute(run_id: int) -> ForecastRun:
    """Claim and perform one forecast run; marks it failed on any error."""
    if not RUNS.claim(run_id, worker=worker_label()):
        status = ForecastRun.objects.get(pk=run_id).status
        raise RuntimeError(f"forecast run {run_id} is {status}, not pending")
    with RUNS.running(run_id):
        run = ForecastRun.objects.select_related("model_version").get(pk=run_id)
        _precompute(run)
    run.refresh_from_db()
    if run.status == RunStatus.SUCCEEDED:
        forecast_stored.send(sender=ForecastRun, run_id=run.pk)
    return run


def predict_arrays(
    version: ModelVersion, start: datetime, hours: int
) -> dict[str, np.ndarray]:
    """{category: float32 (hours, n_cells)} in Cell.idx order, from the model."""
    model = load_model(version)
    origin_s = int(start.timestamp())
    events = load_events(start)  # reported before start only: no leakage
    pred = np.asarray(model.predict(events, origin_s, hours), dtype=np.float32)
    cell_ids = grid_arrays()["cell_ids"]
    model_ids = np.asarray(model.grid.cell_ids, dtype=np.int64)
    if not np.array_equal(model_ids, cell_ids):
        # The grid was rebuilt since training: place what we can, zero elsewhere.
        pos = np.searchsorted(model_ids, cell_ids)
        pos = np.minimum(pos, len(model_ids) - 1)
        ok = model_ids[pos] == cell_ids
        mapped = np.zeros((hours, len(cell_ids), pred.shape[2]), dtype=np.float32)
        mapped[:, ok] = pred[:, pos[ok]]
        pred = mapped
    return {
        Category.PERSON.value: pred[:, :, 0],
        Category.PROPERTY.value: pred[:, :, 1],
        Category.ALL.value: pred[:, :, 0] + pred[:, :, 1],
    }


def _precompute(run: ForecastRun) -> None:
    started = time.perf_counter()
    start = run.start.astimezone(UTC)
    ForecastRun.objects.filter(pk=run.pk).update(
        progress=0.1, message="predicting", heartbeat_at=timezone.now()
    )
    arrays = predict_arrays(run.model_version, start, run.hours)
    ForecastRun.objects.filter(pk=run.pk).update(
        progress=0.7, message="writing rows", heartbeat_at=timezone.now()
    )
    hour_starts = [start + timedelta(hours=h) for h in range(run.hours)]
    with transaction.atomic():
        rows = forecast_store.write_forecast(
            run.model_version_id, run.pk, hour_starts, arrays
        )
        seconds = time.perf_counter() - started
        ForecastRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED,
            progress=1.0,
            rows_written=rows,
            n_cells=int(arrays[Category.ALL.value].shape[1]),
            seconds=round(seconds, 3),
            finished_at=timezone.now(),
            message=f"{rows} rows in {seconds:.1f}s ({rows / seconds:.0f} rows/s)",
        )
