"""End to end through the real Celery worker and Redis on real 2021 SPD rows."""

from __future__ import annotations

import os
import signal
from datetime import datetime

import pytest
from django.db import transaction
from django.urls import reverse

from core.local_time import SEATTLE
from core.models import RunStatus
from predictions.models import ForecastValues, ModelVersion, TrainingRun
from predictions.services import forecasting, training
from predictions.tasks import precompute_forecasts, train_model
from tests.conftest import wait_for
from tests.predictions.conftest import ensure_grid
from tests.spd_rows import load_spd, reported_between

pytestmark = [pytest.mark.worker]
UNTIL = datetime(2021, 11, 1, 0, 0, tzinfo=SEATTLE)


@pytest.fixture
def extract(transactional_db):
    ensure_grid()
    keep = reported_between(datetime(2021, 9, 15, tzinfo=SEATTLE), UNTIL)
    return load_spd(keep=keep).inserted


def _status(model, pk):
    return model.objects.get(pk=pk).status


def _train(**kwargs) -> TrainingRun:
    with transaction.atomic():
        run = training.create_run(until=UNTIL, preset="tiny", **kwargs)
        train_model.delay_on_commit(run.pk)
    return run


def test_train_activate_precompute_read_and_rerun(extract, celery_worker, client):
    assert extract > 5000
    run = _train(activate=True)
    wait_for(
        lambda: _status(TrainingRun, run.pk) in (RunStatus.SUCCEEDED, RunStatus.FAILED),
        timeout=150,
        message="training did not finish",
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    version = ModelVersion.objects.get(is_active=True)
    assert run.model_version_id == version.pk and version.kind == "neural"
    assert version.metrics["backtest"]["summary"]["150m"]["8h"]["neural"]["pai_1"]

    def forecast() -> int:
        with transaction.atomic():
            frun = forecasting.create_run(start=UNTIL, hours=24)
            precompute_forecasts.delay_on_commit(frun.pk)
        wait_for(
            lambda: (
                _status(type(frun), frun.pk) != RunStatus.PENDING
                and _status(type(frun), frun.pk) != RunStatus.RUNNING
            ),
            # The one test worker also builds each run's trip reference (commutes,
            # queued when a run succeeds), so the second run may wait behind it.
            timeout=180,
        )
        frun.refresh_from_db()
        assert frun.status == RunStatus.SUCCEEDED, frun.error
        return frun.pk

    first = forecast()
    resp = client.get(
        reverse("v1:forecasts"), {"start": UNTIL.isoformat(), "hours": 24}
    )
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["forecast_run"] == first and len(doc["values"]) == 24
    assert 1 < sum(doc["city_total"]) < 1000  # a day of Seattle person+property crime
    second = forecast()
    assert ForecastValues.objects.count() == 24 * 3  # replaced, not duplicated
    again = client.get(
        reverse("v1:forecasts"), {"start": UNTIL.isoformat(), "hours": 24}
    )
    assert again.json()["forecast_run"] == second
    assert again["ETag"] != resp["ETag"]


def test_killed_training_fails_without_activating_and_next_run_succeeds(
    extract, celery_worker
):
    # A test-only config sleeps in the progress callback so the kill lands mid-run.
    run = _train(activate=True, config={"_sleep_in_progress_s": 30})
    wait_for(
        lambda: TrainingRun.objects.get(pk=run.pk).worker,
        timeout=60,
        message="the run was never claimed",
    )
    worker = TrainingRun.objects.get(pk=run.pk).worker
    os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
    nxt = _train(activate=True)
    wait_for(
        lambda: _status(TrainingRun, nxt.pk) in (RunStatus.SUCCEEDED, RunStatus.FAILED),
        timeout=150,
        message="the next training did not finish",
    )
    killed = TrainingRun.objects.get(pk=run.pk)
    assert killed.status == RunStatus.FAILED
    assert "died" in killed.error or "killed" in killed.error
    assert killed.model_version_id is None
    nxt.refresh_from_db()
    assert nxt.status == RunStatus.SUCCEEDED, nxt.error
    assert list(ModelVersion.objects.filter(is_active=True)) == [nxt.model_version]
