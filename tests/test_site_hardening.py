"""The smaller findings: HEAD on pages, gzip of large JSON, the admin login lockout,
the periodic check that fails dead and unstartable runs, the queue being down."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.utils import timezone

from core import queue, redis_guard
from core.tasks import PENDING_NO_WORKER_S, reclaim_dead_runs
from crimes.models import ImportRun
from crimes.services import importing
from crimes.tasks import import_upload
from predictions.models import TrainingRun
from predictions.services import training

pytestmark = pytest.mark.django_db
PAGES = ["/", "/history/", "/forecast/", "/commute/", "/model-card/"]


@pytest.mark.parametrize("path", PAGES)
def test_html_pages_answer_head(client, path):
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b"" and head["Content-Type"] == get["Content-Type"]


def test_large_json_is_gzipped_the_same_every_time(client):
    from tests.test_api_fast_path import make_incidents

    make_incidents(300)
    path = "/api/v1/history/grid/?start=2021-01-01&end=2021-12-31"
    plain = client.get(path)
    packed = client.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    again = client.get(path, HTTP_ACCEPT_ENCODING="gzip")
    assert len(plain.content) > 1024
    assert "Content-Encoding" not in plain and "Accept-Encoding" in plain["Vary"]
    assert packed["Content-Encoding"] == "gzip" and packed.content == again.content
    assert json.loads(gzip.decompress(packed.content)) == json.loads(plain.content)
    assert packed["ETag"] == "W/" + plain["ETag"]
    small = client.get("/api/v1/models/", HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in small


def _login(client, password: str, **extra):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "ops", "password": password},
        **extra,
    )


def test_the_admin_login_locks_an_address_out_after_repeated_failures(client):
    User.objects.create_superuser("ops", "ops@localhost", "right-password-0123")
    limit = settings.AXES_FAILURE_LIMIT
    codes = [_login(client, f"wrong-{i}").status_code for i in range(limit)]
    # The form again, with its error, until the limit-th failure locks the address.
    assert codes == [200] * (limit - 1) + [429]
    # Locked: even the right password is refused now, from this address...
    assert _login(client, "right-password-0123").status_code == 429
    assert _login(client, "x", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 429
    # ...and only from this one.
    other = _login(client, "right-password-0123", REMOTE_ADDR="198.51.100.77")
    assert other.status_code == 302


def test_beat_reclaims_dead_runs_and_fails_runs_no_worker_can_take(monkeypatch):
    entry = settings.CELERY_BEAT_SCHEDULE["reclaim-dead-runs"]
    assert entry["task"] == "core.tasks.reclaim_dead_runs"
    assert entry["schedule"] == settings.RECLAIM_INTERVAL_S <= 300
    dead = importing.new_run(ImportRun.Source.UPLOAD, file_name="lost.csv")
    dead.upload.save("lost.csv", ContentFile(b"x"))
    ImportRun.objects.filter(pk=dead.pk).update(status="running")
    old = timezone.now() - dt.timedelta(seconds=PENDING_NO_WORKER_S + 60)
    stuck = training.create_run(until=timezone.now(), preset="tiny")
    fresh = training.create_run(until=timezone.now(), preset="tiny")
    TrainingRun.objects.filter(pk=stuck.pk).update(created_at=old)
    # The workers that answer consume only the default queue: nobody trains.
    monkeypatch.setattr("core.tasks.consumed_queues", lambda: {"default"})
    failed = reclaim_dead_runs()
    assert failed["ImportRun"] == 1 and failed["TrainingRun"] == 1
    dead.refresh_from_db()
    assert dead.status == "failed" and "died or was killed" in dead.error
    assert dead.upload.name == ""  # a failed upload's file is deleted
    stuck.refresh_from_db()
    assert stuck.status == "failed" and "no worker consumes the 'gpu' queue" in (
        stuck.error
    )
    assert TrainingRun.objects.get(pk=fresh.pk).status == "pending"


def forget_connections(app) -> None:
    """Make the Celery app connect afresh (to the broker its conf now names)."""
    app._pool = None
    app.amqp._producer_pool = None


def test_the_queue_down_fails_the_run_and_says_503(
    monkeypatch, django_capture_on_commit_callbacks
):
    from tests.localstack import free_port

    # A broker nobody listens on: what a stopped Redis looks like to a publisher.
    monkeypatch.setattr(
        import_upload.app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0"
    )
    forget_connections(import_upload.app)
    redis_guard.reset()
    run = importing.new_run(ImportRun.Source.UPLOAD, file_name="x.csv")
    try:
        with pytest.raises(queue.QueueUnavailable) as error:
            with django_capture_on_commit_callbacks(execute=True):
                queue.enqueue(import_upload, run.pk, importing.RUNS)
    finally:
        monkeypatch.undo()
        forget_connections(import_upload.app)
        redis_guard.reset()
    assert error.value.status == 503 and error.value.retry_after > 0
    run.refresh_from_db()
    assert run.status == "failed" and "task queue (Redis) is unavailable" in run.error
