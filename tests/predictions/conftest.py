"""Predictions fixtures: the grid (rebuilt if a transactional test flushed it), real
SPD rows, and synthetic forecast rows for page/API tests that need no model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.reference_data import ensure_reference_data


def ensure_grid() -> int:
    from predictions.models import Cell

    ensure_reference_data()
    return Cell.objects.count()


@pytest.fixture
def grid(db):
    return ensure_grid()


@pytest.fixture
def tiny_artifacts(settings, tmp_path):
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    return settings.ARTIFACTS_DIR


def store_synthetic_week(start: datetime, hours: int = 168) -> tuple[int, int]:
    """An active version with one finished forecast run of plausible values."""
    from core.models import RunStatus
    from predictions.models import ForecastRun, ModelVersion
    from predictions.services import forecast_store
    from predictions.services.cells import grid_arrays

    n = len(grid_arrays()["cell_ids"])
    version = ModelVersion.objects.create(
        kind="synthetic", checkpoint="none.pt", data_until=start
    )
    version.activate()
    run = ForecastRun.objects.create(
        model_version=version, start=start, hours=hours, status=RunStatus.SUCCEEDED
    )
    rng = np.random.default_rng(0)
    base = rng.gamma(0.3, 0.01, n).astype(np.float32)
    daily = 1 + 0.5 * np.sin(np.arange(hours) * 2 * np.pi / 24)[:, None]
    person = (base * daily * 0.4).astype(np.float32)
    prop = (base * daily * 0.6).astype(np.float32)
    hour_starts = [start.astimezone(UTC) + timedelta(hours=h) for h in range(hours)]
    forecast_store.write_forecast(
        version.pk,
        run.pk,
        hour_starts,
        {"all": person + prop, "person": person, "property": prop},
    )
    return version.pk, run.pk
