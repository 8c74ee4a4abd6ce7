"""A web worker builds the street graph and the forecast week before it takes a
request (issue 19: the first score after a restart took 2-5 s), and nothing else
(manage.py, tests, Celery) pays for it."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from django.conf import settings

from commutes.services.warm_up import warm_up
from streets.services import street_graph
from tests import localstack
from tests.commutes.test_scoring_db import CAPITOL_HILL_TO_UW
from tests.conftest import _database_url_for

pytestmark = pytest.mark.django_db
STEPS = [
    "url patterns",
    "city limits",
    "street graph",
    "forecast week",
    "edge cells",
    "similar trips",
]


def test_warm_up_builds_what_the_first_score_needs(commute_data):
    street_graph.clear_cache()
    assert list(warm_up()) == STEPS
    assert street_graph._cache["graph"].key == street_graph.network_key()


def test_a_management_command_builds_no_street_graph(commute_data):
    # Only gunicorn's hook warms up: a command (or a test, or a Celery worker)
    # builds the graph when it asks for it.
    env = localstack.site_env(
        _database_url_for(settings.DATABASES["default"]["NAME"]), settings.REDIS_URL
    )
    out = localstack.manage(
        env,
        "shell",
        "-c",
        "from streets.services import street_graph; print(sorted(street_graph._cache))",
    )
    assert out.strip().splitlines()[-1] == "[]"


def test_a_gunicorn_worker_is_warm_before_its_first_request(commute_data, tmp_path):
    from django.db import connections

    connections.close_all()  # the committed session data is all the server needs
    env = localstack.site_env(
        _database_url_for(settings.DATABASES["default"]["NAME"]),
        settings.REDIS_URL,
        API_ANON_RATE="100000/minute",
    )
    port = localstack.free_port()
    log = tmp_path / "web.log"
    web = localstack.gunicorn(env, port, log, workers=1, threads=4)
    try:
        # The worker accepts connections only once its hook has returned.
        localstack.wait_until(
            lambda: "warmed up: url patterns" in log.read_text(), 120, "warm-up"
        )
        warmed = log.read_text()
        assert all(f"{step} " in warmed for step in STEPS), warmed[-2000:]
        assert "django.request" not in warmed  # before any request

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        started = time.perf_counter()
        conn.request(
            "POST",
            "/api/v1/commutes/score/",
            body=json.dumps(CAPITOL_HILL_TO_UW | {"mode": "bike"}),
            headers={"Content-Type": "application/json"},
        )
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        assert response.status == 200, body[:300]
        # Under 1 s on an idle machine (benchmarks/bench_first_score.py); this
        # shared test machine gets a generous margin, far below a cold build.
        assert elapsed < 5.0
    finally:
        web.stop()


def test_a_warm_worker_scores_without_importing_torch(commute_data):
    # The commute's words read the model card's measured error: from ml.metrics,
    # numpy only (ml.ablation imports the forecasters and torch: 4 s on the first
    # score of every web process).
    env = localstack.site_env(
        _database_url_for(settings.DATABASES["default"]["NAME"]), settings.REDIS_URL
    )
    code = (
        "import sys\n"
        "from commutes.services.warm_up import warm_up\n"
        "from predictions.models import ModelVersion\n"
        "from predictions.services.headline_metrics import measured_error\n"
        "warm_up()\n"
        "measured_error(ModelVersion.objects.get(is_active=True))\n"
        "print('torch' in sys.modules)\n"
    )
    out = localstack.manage(env, "shell", "-c", code)
    assert out.strip().splitlines()[-1] == "False"
