"""Import hygiene: fresh planner statistics after an import, and runs whose worker
died are marked failed instead of showing "running" forever."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crimes.models import ImportRun, Incident
from crimes.services import importing
from crimes.services.importing import (
    RUN_LOCK_CLASS,
    STALE_RUN_ERROR,
    import_file,
    reclaim_stale_runs,
)
from tests.conftest import wait_for
from tests.spd_rows import SPD_2021, slice_lines, write_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def slice_csv(tmp_path):
    """The first 300 rows of the bundled 2021 export."""
    return write_lines(tmp_path / "slice.csv", slice_lines(SPD_2021, 301))


def _reltuples() -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
            [Incident._meta.db_table],
        )
        return cursor.fetchone()[0]


def _running_run() -> ImportRun:
    """A run left RUNNING an hour ago by a process that no longer exists."""
    run = importing.new_run(ImportRun.Source.UPLOAD, file_name="lost.csv")
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=1),
        bytes_total=1000,
        bytes_done=400,
    )
    return run


# --- ANALYZE after an import --------------------------------------------------------
def test_import_analyzes_incidents_after_commit(
    slice_csv, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = import_file(slice_csv)
    assert run.inserted == 300
    # After the import's own transaction, before the data version bump.
    assert callbacks.index(importing.analyze_incidents) < len(callbacks) - 1
    # ANALYZE counted exactly the rows there are (stale statistics would not).
    assert _reltuples() == Incident.objects.count() == 300


def test_dry_runs_and_unchanged_reimports_do_not_analyze(
    slice_csv, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert import_file(slice_csv, dry_run=True).inserted == 300
    assert importing.analyze_incidents not in callbacks
    import_file(slice_csv)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert import_file(slice_csv).unchanged == 300
    assert importing.analyze_incidents not in callbacks


# --- Runs whose worker died ---------------------------------------------------------
def test_a_dead_run_is_marked_failed_when_the_next_import_starts(slice_csv):
    lost = _running_run()
    run = import_file(slice_csv)
    assert run.status == ImportRun.Status.SUCCEEDED
    lost.refresh_from_db()
    assert lost.status == ImportRun.Status.FAILED
    assert lost.error == STALE_RUN_ERROR and "died or was killed" in lost.error
    assert lost.finished_at is not None
    assert reclaim_stale_runs() == 0  # nothing left to reclaim, the new run included


def test_an_import_holds_its_run_while_it_works_and_releases_it(slice_csv):
    held = []

    def progress(done: int, total: int) -> None:
        run_id = ImportRun.objects.order_by("-pk").values_list("pk", flat=True)[0]
        held.append(importing.RUNS.holds(run_id))
        # This session owns it: a check from here must never fail it.
        assert reclaim_stale_runs([run_id]) == 0

    run = import_file(slice_csv, progress=progress)
    assert held and all(held)
    assert not importing.RUNS.holds(run.pk)
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.SUCCEEDED


def test_a_run_is_reclaimed_only_once_its_worker_process_is_killed():
    """A real second process owns the run; it is left alone while that process
    lives and marked failed once it is SIGKILLed (PostgreSQL ends its session)."""
    run = _running_run()
    db = settings.DATABASES["default"]
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, psycopg\n"
            "c = psycopg.connect(sys.argv[1], autocommit=True)\n"
            "c.execute('SELECT pg_advisory_lock(%s, %s)',"
            " (int(sys.argv[2]), int(sys.argv[3])))\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n",
            f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} "
            f"user={db['USER'] or 'postgres'} dbname={db['NAME']}"
            + (f" password={db['PASSWORD']}" if db["PASSWORD"] else ""),
            str(RUN_LOCK_CLASS),
            str(run.pk),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout.readline().strip() == "locked"
        assert reclaim_stale_runs() == 0
        assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.RUNNING
        # A second worker handed the same run does not take it (nor wait for it).
        assert not importing.RUNS.lock(run.pk)
    finally:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
    wait_for(lambda: reclaim_stale_runs() == 1, timeout=10, message="not reclaimed")
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and run.error == STALE_RUN_ERROR


def test_the_admin_never_shows_a_dead_run_as_running(admin_client):
    run = _running_run()
    status = admin_client.get(reverse("admin:crimes_importrun_status", args=[run.pk]))
    assert status.json()["status"] == "failed" and status.json()["done"] is True
    assert "died or was killed" in status.json()["error"]
    other = _running_run()
    page = admin_client.get(reverse("admin:crimes_importrun_changelist"))
    assert page.status_code == 200
    assert ImportRun.objects.get(pk=other.pk).status == ImportRun.Status.FAILED
