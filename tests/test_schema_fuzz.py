"""Schemathesis over the OpenAPI schema, on the real stack: gunicorn over the test
database (PostGIS) and the test Redis, with real SPD rows and a forecast week.

Every operation gets valid and invalid requests generated from the schema (a fixed
seed: Hypothesis derandomized; at most EXAMPLES per operation), and every answer
must be no server error and match the schema: its status documented, its content
type, its headers and its body (the one error format included). Cost: about
40-60 s on a quiet 2-core machine.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.local_time import SEATTLE
from tests import localstack
from tests.conftest import _database_url_for
from tests.data_files import ROBBERY_EXPORT
from tests.spd_rows import delete_imported, load_spd

# Marked so pytest-django sets the test database up even when this module runs
# alone (it only does for the databases that collected tests ask for); the fixture
# writes committed rows and must never see the developer's database.
pytestmark = pytest.mark.django_db
EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_site(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn (2 workers) on the test database, with committed data."""
    from django.conf import settings as django_settings

    from places.services.index import refresh_places
    from predictions.models import ModelVersion
    from tests.predictions.conftest import ensure_grid, store_synthetic_week

    with django_db_blocker.unblock():
        from django.db import connection

        assert connection.settings_dict["NAME"].startswith("test_"), "not a test DB"
        ensure_grid()
        delete_imported()
        ModelVersion.objects.all().delete()
        load_spd(ROBBERY_EXPORT)
        store_synthetic_week(datetime(2021, 12, 6, tzinfo=SEATTLE), hours=48)
        refresh_places()
    tmp = tmp_path_factory.mktemp("fuzz")
    env = localstack.site_env(
        _database_url_for(django_settings.DATABASES["default"]["NAME"]),
        django_settings.REDIS_URL,
        API_ANON_RATE="100000000/minute",
        API_EXPORT_RATE="100000000/minute",
        HISTORY_EXPORT_MAX_ROWS="200",
        LOG_LEVEL="WARNING",
    )
    port = localstack.free_port()
    web = localstack.gunicorn(env, port, tmp / "web.log", workers=2)
    yield f"http://127.0.0.1:{port}", web
    web.stop()
    with django_db_blocker.unblock():
        delete_imported()
        ModelVersion.objects.all().delete()


@pytest.fixture(scope="module")
def api_schema(fuzz_site):
    base, _ = fuzz_site
    # The first schema request builds it in the worker: seconds on a busy machine, so
    # wait longer than requests' 10 s default rather than fail on load.
    url = f"{base}/api/v1/schema/?format=json"
    return schemathesis.openapi.from_url(url, timeout=180)


def fuzz(operation, mode: GenerationMode) -> str | None:
    """Run EXAMPLES generated cases of one operation; the first failure, or None."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the fixed seed: the same cases on every run
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        case.call_and_validate(checks=CHECKS, timeout=60)

    try:
        run()
    except Unsatisfiable:
        return None  # e.g. no invalid request exists for an operation without input
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported below
        return f"{operation.label} ({mode.value}): {exc}"[:3000]
    return None


def test_every_answer_matches_the_schema_and_none_is_a_server_error(api_schema):
    # Driven with Hypothesis directly: schemathesis' pytest plugin does not run under
    # pytest 9 (it reads the removed Function._nodeid).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 14, [op.label for op in operations]
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := fuzz(operation, mode)) is not None
    ]
    assert not failures, "\n\n".join(failures)


def test_the_fuzzed_server_logged_no_error(fuzz_site):
    """Also what the checks cannot see: a traceback in the server's log."""
    _, web = fuzz_site
    log = web.tail(2_000_000)
    assert "Traceback" not in log and "Internal Server Error" not in log, log[-3000:]
