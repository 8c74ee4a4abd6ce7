"""Shared fixtures: real PostGIS (pytest-django), real Redis, a real Celery worker and
the system Chromium driven by Playwright. Nothing here mocks a service."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.localstack import celery_worker_argv

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(autouse=True)
def _clean_cache():
    """Each test starts with an empty Redis cache (the real one, db from REDIS_URL)."""
    from django.core.cache import cache

    cache.clear()
    yield


_DB_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Boundaries and grid present for every database test, even after a flush."""
    if request.node.get_closest_marker("django_db") or _DB_FIXTURES & set(
        request.fixturenames
    ):
        request.getfixturevalue("_django_db_helper")
        from tests.reference_data import ensure_reference_data

        ensure_reference_data()
    yield


@pytest.fixture(scope="session", autouse=True)
def _end_stray_sessions(request):
    """Close what the live server's keep-alive threads leave open at the end.

    Django's live server handles each browser connection in a daemon thread with its
    own database session; one still parked on a keep-alive socket when the run ends
    would stop pytest-django from dropping the test database.
    """
    uses_db = request.config.pluginmanager.hasplugin("django") and any(
        item.get_closest_marker("django_db") or _DB_FIXTURES & set(item.fixturenames)
        for item in request.session.items
    )
    if not uses_db:
        yield
        return
    request.getfixturevalue("django_db_setup")
    yield
    from django.db import connection

    with request.getfixturevalue("django_db_blocker").unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _database_url_for(name: str) -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] or "postgres"
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return f"postgis://{auth}@{host}:{port}/{name}"


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) in this process; the worker's email goes to it."""
    from tests.alerts.smtp import Inbox

    inbox = Inbox().start()
    yield inbox
    inbox.stop()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory, smtp_server):
    """A real `celery worker` process on the test database and the test Redis.

    Tests that hand work to it must commit their data first (use `transactional_db`).
    It consumes both queues; one child process, replaced after every task so a task
    that is killed takes nothing else with it.
    """
    from crimepredict_site.celery import app

    app.control.purge()
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url_for(settings.DATABASES["default"]["NAME"])
    env["REDIS_URL"] = settings.REDIS_URL
    env["CACHE_REDIS_URL"] = settings.CACHE_REDIS_URL
    env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    env["ARTIFACTS_DIR"] = str(settings.ARTIFACTS_DIR)
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env.update(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
        SITE_URL="http://testserver",
        ALERTS_RETRY_BASE_S="1",
    )
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            celery_worker_argv(name="test"),
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{log.read_text()}")
        if app.control.ping(timeout=0.5):
            break
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        raise RuntimeError(f"celery worker did not answer a ping:\n{log.read_text()}")
    proc.log_path = log
    proc.env = env  # for a beat (or another process) on the same services
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def dispatches(monkeypatch):
    """The paths of the requests that reached a DRF view: a fast-path hit does not."""
    from rest_framework.views import APIView

    calls: list[str] = []
    original = APIView.dispatch

    def counting(self, request, *args, **kwargs):
        calls.append(request.path)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "dispatch", counting)
    return calls


def wait_for(predicate, timeout: float = 60, interval: float = 0.2, message: str = ""):
    """Poll until predicate() is truthy; return its value or fail with message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(message or f"condition not met within {timeout}s")


@pytest.fixture(scope="session")
def browser():
    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), (
        f"system Chromium not found at {CHROMIUM}; .ci/run installs it with apt-get"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors and failed requests in .errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.errors = []
    pg.on(
        "console",
        lambda msg: (
            pg.errors.append(f"console: {msg.text}") if msg.type == "error" else None
        ),
    )
    pg.on("pageerror", lambda exc: pg.errors.append(f"pageerror: {exc}"))
    yield pg
    context.close()
