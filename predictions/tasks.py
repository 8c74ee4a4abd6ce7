"""Celery tasks: thin wrappers taking ids, calling predictions.services.

train_model is routed to the `gpu` queue (settings.CELERY_TASK_ROUTES). Run that worker
with `--max-tasks-per-child 1` so each training gets a fresh process: CUDA state and
memory never leak from one run into the next, and a killed run takes nothing else down.
Nothing here imports torch at module import time.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

from core.models import RunStatus
from core.queue import enqueue
from predictions.models import ForecastRun, TrainingRun
from predictions.services import forecasting, training

log = logging.getLogger(__name__)


_OWNERSHIP = {TrainingRun: training.RUNS, ForecastRun: forecasting.RUNS}


def _redelivered_after_death(model, run_id: int) -> bool:
    """acks_late + reject_on_worker_lost redeliver a task whose worker died. The run
    is then RUNNING under a dead process: mark it failed, do not retry blindly."""
    run = model.objects.filter(pk=run_id).first()
    if run is None:
        log.warning("%s %s does not exist", model.__name__, run_id)
        return True
    if run.status == RunStatus.RUNNING:
        if not _OWNERSHIP[model].reclaim_dead([run_id]):
            log.info("%s %s is running elsewhere", model.__name__, run_id)
        return True
    if run.is_finished:
        log.info("%s %s is already %s", model.__name__, run_id, run.status)
        return True
    return False


@shared_task(
    name="predictions.tasks.train_model",
    acks_late=True,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def train_model(run_id: int) -> int | None:
    if _redelivered_after_death(TrainingRun, run_id):
        return None
    return training.execute(run_id).pk


@shared_task(
    name="predictions.tasks.precompute_forecasts",
    acks_late=True,
    soft_time_limit=900,
    time_limit=960,
)
def precompute_forecasts(run_id: int) -> int | None:
    if _redelivered_after_death(ForecastRun, run_id):
        return None
    return forecasting.execute(run_id).rows_written


@shared_task(name="predictions.tasks.train_model_scheduled")
def train_model_scheduled() -> int:
    """Weekly retrain on everything reported so far; activates the new version."""
    with transaction.atomic():
        run = training.create_run(activate=True)
        enqueue(train_model, run.pk, training.RUNS)
    return run.pk


@shared_task(name="predictions.tasks.precompute_forecasts_scheduled")
def precompute_forecasts_scheduled() -> int | None:
    """Hourly: the next 168 hours from the current hour with the active version."""
    try:
        with transaction.atomic():
            run = forecasting.create_run()
            enqueue(precompute_forecasts, run.pk, forecasting.RUNS)
    except ValueError as exc:  # no active version yet: nothing to forecast
        log.info("precompute skipped: %s", exc)
        return None
    return run.pk
