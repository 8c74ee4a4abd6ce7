from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone


@pytest.fixture
def inbox(smtp_server, settings):
    """The real SMTP server this process's email goes to, emptied for each test."""
    # pytest-django swaps in the in-memory backend; these tests want real SMTP.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "http://testserver"
    smtp_server.clear()
    return smtp_server


def _load_forecast_now() -> int:
    """Streets, real 2021 rows and a forecast week starting two hours ago (so the
    notes due today and tomorrow have one); the model version's id."""
    from core.local_time import floor_hour
    from predictions.models import ForecastRun, ForecastValues, ModelVersion
    from tests.commutes.conftest import _ensure_settings_grid
    from tests.commutes.known_forecast import store_known_forecast
    from tests.reference_data import ensure_streets
    from tests.spd_rows import delete_imported, load_spd

    _ensure_settings_grid()  # not a grid another test left in the cache
    ensure_streets()
    delete_imported()
    for model in (ForecastValues, ForecastRun, ModelVersion):
        model.objects.all().delete()
    load_spd(every=3)
    start = floor_hour(timezone.now()) - timedelta(hours=2)
    vid, _, _ = store_known_forecast(start, hours=176)
    return vid


@pytest.fixture(scope="package")
def _forecast_session(django_db_setup, django_db_blocker):
    from tests.commutes.conftest import _unload

    with django_db_blocker.unblock():
        state = {"version": _load_forecast_now()}
    yield state
    with django_db_blocker.unblock():
        _unload()


@pytest.fixture
def forecast_now(_forecast_session, django_db_blocker) -> int:
    """Committed once for the folder; loaded again after a transactional test's
    flush or when the grid changed under it."""
    from predictions.models import ModelVersion
    from tests.commutes.conftest import _ensure_settings_grid, _fits_grid

    with django_db_blocker.unblock():
        _ensure_settings_grid()
        version = _forecast_session["version"]
        if not (
            ModelVersion.objects.filter(pk=version, is_active=True).exists()
            and _fits_grid(version)
        ):
            _forecast_session["version"] = _load_forecast_now()
        else:
            from tests.reference_data import ensure_streets

            ensure_streets()
    return _forecast_session["version"]
