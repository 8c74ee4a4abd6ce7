"""Real 2021 SPD rows, the grid, places, a known forecast and its trip reference (the
random routed trips a commute is placed among), loaded once per session.

Loaded committed (outside any test transaction) so both ordinary `db` tests and the
live server of the browser test see them. A transactional test elsewhere in the run
flushes every table; `commute_data` notices and loads again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pytest

from core.local_time import SEATTLE
from tests.commutes.known_forecast import store_known_forecast
from tests.reference_data import ensure_reference_data, ensure_streets
from tests.spd_rows import delete_imported, load_spd

# A Monday, so the week runs Monday..Sunday in Seattle time.
FORECAST_START = datetime(2021, 12, 20, 0, 0, tzinfo=SEATTLE)


@dataclass
class CommuteData:
    model_version_id: int
    values: np.ndarray
    hour_starts: list


def _ensure_settings_grid() -> None:
    """The grid of settings.GRID_CELL_SIZE, and the cached grid arrays agreeing with
    it. Tests elsewhere rebuild the grid at other sizes (600 m: 738 cells) inside a
    rolled-back transaction; the cache version they bumped meanwhile stays, holding
    that grid's arrays, and a forecast stored from them would not fit the real one."""
    from django.conf import settings

    from core.cache import GRID, bump
    from predictions.models import Cell
    from predictions.services.cells import build_cells, grid_arrays

    ensure_reference_data()
    if Cell.objects.exclude(size=settings.GRID_CELL_SIZE).exists():
        build_cells()
    if len(grid_arrays()["cell_ids"]) != Cell.objects.count():
        bump(GRID)


def _fits_grid(model_version_id: int) -> bool:
    """The stored forecast's rows are as wide as the grid (and its cached arrays)."""
    from django.db import connection

    from predictions.models import Cell
    from predictions.services.cells import grid_arrays

    with connection.cursor() as cur:
        cur.execute(
            "SELECT octet_length(values) / 4 FROM predictions_forecastvalues"
            " WHERE model_version_id = %s LIMIT 1",
            [model_version_id],
        )
        row = cur.fetchone()
    n = Cell.objects.count()
    return row is not None and row[0] == n == len(grid_arrays()["cell_ids"])


def _load() -> CommuteData:
    from commutes.services.trip_reference import build
    from places.services.index import refresh_places
    from predictions.models import ForecastRun, ForecastValues, ModelVersion

    _ensure_settings_grid()
    ensure_streets()
    delete_imported()
    ForecastValues.objects.all().delete()
    ForecastRun.objects.all().delete()
    ModelVersion.objects.all().delete()
    load_spd()
    refresh_places()
    vid, values, hours = store_known_forecast(FORECAST_START, hours=176)
    # What the worker does after a forecast run (tests/commutes/test_trip_reference*).
    build(ForecastRun.objects.get(model_version_id=vid).pk)
    return CommuteData(vid, values, hours)


def _unload() -> None:
    from places.models import Place
    from predictions.models import ForecastRun, ForecastValues, ModelVersion

    for model in (ForecastValues, ForecastRun, ModelVersion):
        model.objects.all().delete()
    # The network's intersections are reference data, like the streets.
    Place.objects.filter(source=Place.Source.SPD).delete()
    delete_imported()


@pytest.fixture(scope="package")
def _commute_session_data(django_db_setup, django_db_blocker) -> CommuteData:
    # Committed outside any test transaction, so it must be wiped when this folder is
    # done: tests elsewhere count rows and expect to see only their own.
    with django_db_blocker.unblock():
        data = _load()
    yield data
    with django_db_blocker.unblock():
        _unload()


@pytest.fixture
def commute_data(_commute_session_data, django_db_blocker) -> CommuteData:
    """The session's data, reloaded if a transactional test flushed it meanwhile or
    the grid changed under it."""
    from predictions.models import ModelVersion

    with django_db_blocker.unblock():
        _ensure_settings_grid()
        if ModelVersion.objects.filter(
            pk=_commute_session_data.model_version_id, is_active=True
        ).exists() and _fits_grid(_commute_session_data.model_version_id):
            ensure_streets()
            return _commute_session_data
        fresh = _load()
    _commute_session_data.__dict__.update(fresh.__dict__)
    return _commute_session_data


def pytest_collection_modifyitems(config, items):
    """Run this folder's browser tests last: their live server flushes the tables
    the session data lives in, and reloading costs seconds."""
    mine = [
        i
        for i in items
        if "tests/commutes/" in str(i.path).replace("\\", "/")
        and i.get_closest_marker("browser")
    ]
    for item in mine:
        items.remove(item)
        items.append(item)
