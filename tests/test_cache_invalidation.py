"""Every cached answer changes at once, in another process, when its data changes.

A real gunicorn worker (another process, with its own per-process caches: the fast
path's bodies, history state, forecast weeks and bodies, grid arrays, the city limits,
the commute's city means) serves the committed test database and the test Redis. Its
answers are warmed, then this process changes the data the way the product does (an
import, deleting incidents, deleting an area, activating a model version, deleting
one, rebuilding the grid), and each of its answers must at once equal what this process
computes with no cache at all (core.cache.uncached, no fast path).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.conf import settings
from django.test import Client, override_settings

from core import cache
from core.models import RunStatus
from crimes.models import Area, Incident
from predictions.models import ForecastRun, ModelVersion
from predictions.services import forecast_store
from predictions.services.cells import build_cells, grid_arrays
from tests.conftest import REPO, _database_url_for
from tests.spd_rows import load_spd

SEATTLE = ZoneInfo("America/Los_Angeles")
WEEK = dt.datetime(2021, 12, 6, 0, tzinfo=SEATTLE)
HOURS = 176  # a week of departures plus the longest trip
FAST = "core.fast_path.ApiFastPathMiddleware"
ROUTE = {
    "start": [-122.3208, 47.6230],
    "end": [-122.3050, 47.6560],
    "mode": "bike",
}
READS = [
    "/api/v1/history/grid/?start=2021-01-01&end=2021-12-31&cell_size=600",
    "/api/v1/history/groups/",
    "/api/v1/areas/?start=2021-01-01&end=2021-12-31&kind=beat",
    "/api/v1/meta/",
    "/api/v1/incidents/?start=2021-01-01&end=2021-12-31&page_size=5",
    "/api/v1/forecasts/?hours=3&encoding=q8",
    "/api/v1/forecasts/?start=2021-12-06T00:00&hours=2",
    "/api/v1/forecasts/grid/",
    "/boundaries/beat.geojson",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(transactional_db, tmp_path):
    """A gunicorn worker on the test database and Redis: (base URL, host header)."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url_for(settings.DATABASES["default"]["NAME"]),
        REDIS_URL=settings.REDIS_URL,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        API_ANON_RATE="100000/minute",
        LOG_LEVEL="WARNING",
    )
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "crimepredict_site.wsgi", "-w", "1"]
            + ["-b", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/api/v1/models/", timeout=5).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.3)
    yield base, f"127.0.0.1:{port}"
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def fetch(base: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def reference(host: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    without = [m for m in settings.MIDDLEWARE if m != FAST]
    with override_settings(MIDDLEWARE=without), cache.uncached():
        client = Client(HTTP_HOST=host)
        if body is None:
            answer = client.get(path)
        else:
            answer = client.post(path, body, content_type="application/json")
    return answer.status_code, answer.content


def write_week(version: ModelVersion, scale: float) -> None:
    run = ForecastRun.objects.create(
        model_version=version, start=WEEK, hours=HOURS, status=RunStatus.SUCCEEDED
    )
    n = len(grid_arrays()["cell_ids"])
    base = np.random.default_rng(version.pk).gamma(0.3, 0.01, (HOURS, n))
    base = (base * scale).astype(np.float32)
    hour_starts = [
        WEEK.astimezone(dt.UTC) + dt.timedelta(hours=h) for h in range(HOURS)
    ]
    forecast_store.write_forecast(
        version.pk, run.pk, hour_starts, {"all": base, "person": base, "property": base}
    )


def test_every_change_is_seen_at_once_by_another_process(server):
    base, host = server
    load_spd(every=200)  # committed: ~350 real incidents of 2021
    build_cells(cell_size=600)
    first = ModelVersion.objects.create(
        kind="first", checkpoint="a.pt", data_until=WEEK
    )
    other = ModelVersion.objects.create(
        kind="other", checkpoint="b.pt", data_until=WEEK
    )
    write_week(first, 1.0)
    write_week(other, 2.0)
    first.activate()

    def answers() -> dict[str, tuple[int, bytes]]:
        got = {path: fetch(base, path) for path in READS}
        got["score"] = fetch(base, "/api/v1/commutes/score/", ROUTE)
        home = fetch(base, "/")[1].decode()
        got["home"] = (200, home.split('data-count="')[1].split('"')[0].encode())
        return got

    def expected() -> dict[str, tuple[int, bytes]]:
        want = {path: reference(host, path) for path in READS}
        want["score"] = reference(host, "/api/v1/commutes/score/", ROUTE)
        want["home"] = (200, str(Incident.objects.count()).encode())
        return want

    def same_as_no_cache(label: str) -> dict[str, tuple[int, bytes]]:
        got = answers()
        assert answers() == got  # warm: the second round is served from the caches
        want = expected()
        for key in want:
            assert got[key] == want[key], f"{label}: {key} is stale in the server"
        return got

    before = same_as_no_cache("initially")
    assert before["/api/v1/forecasts/?hours=3&encoding=q8"][0] == 200

    changes = [
        ("after an import", lambda: load_spd(every=199, limit=30)),
        (
            "after deleting incidents",
            lambda: Incident.objects.filter(crime_against="PROPERTY").delete(),
        ),
        (
            "after deleting an area",
            lambda: Area.objects.filter(kind="beat", code="E2").delete(),
        ),
        ("after an activation", other.activate),
        ("after deleting the active model version", other.delete),
        ("after activating again", first.activate),
        ("after a grid rebuild", lambda: build_cells(cell_size=300)),
    ]
    for label, change in changes:
        change()
        now = same_as_no_cache(label)
        changed = {key for key in now if now[key] != before[key]}
        assert changed, f"{label}: no answer changed, the check proves nothing"
        before = now
