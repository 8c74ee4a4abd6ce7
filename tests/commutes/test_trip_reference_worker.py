"""The trip reference is built by the real Celery worker after each forecast run."""

from __future__ import annotations

import pytest
from django.db import transaction

from commutes.models import TripReference
from core.models import RunStatus
from predictions.models import ForecastRun, ModelVersion
from predictions.services import checkpoints, forecasting
from predictions.tasks import precompute_forecasts
from tests.commutes.conftest import FORECAST_START
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker]


def _longrun_version(tmp_path) -> ModelVersion:
    """A real, quickly fitted model (long-run counts) with a stored checkpoint, so the
    worker forecasts with it as with any trained version."""
    from ml import forecasters
    from predictions.services.cells import grid_spec
    from predictions.services.incident_events import load_events

    model = forecasters.get("longrun").fit(
        load_events(FORECAST_START), grid_spec(), int(FORECAST_START.timestamp())
    )
    path = tmp_path / "longrun.pt"
    model.save(path)
    name = "models/test-trip-reference-longrun.pt"
    with transaction.atomic():
        checkpoints.store(name, path)
        return ModelVersion.objects.create(
            kind="longrun",
            checkpoint=name,
            data_until=FORECAST_START,
            status=ModelVersion.Status.READY,
        )


def test_the_worker_stores_a_reference_after_each_forecast_run(
    commute_data, transactional_db, celery_worker, tmp_path
):
    version = _longrun_version(tmp_path)
    with transaction.atomic():
        run = forecasting.create_run(
            start=FORECAST_START, hours=24, model_version_id=version.pk
        )
        precompute_forecasts.delay_on_commit(run.pk)
    wait_for(
        lambda: TripReference.objects.filter(forecast_run_id=run.pk).count() == 9,
        timeout=240,
        message="no trip reference was stored after the forecast run",
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    rows = TripReference.objects.filter(forecast_run_id=run.pk)
    assert {(r.mode, r.category) for r in rows} == {
        (m, c) for m in ("walk", "bike", "drive") for c in ("all", "person", "property")
    }
    assert all(r.n_trips >= 2000 and r.departures == 24 for r in rows)
    # Its forecast run is the run it belongs to: deleting the run deletes it.
    ForecastRun.objects.filter(pk=run.pk).delete()
    assert not TripReference.objects.filter(forecast_run_id=run.pk).exists()
