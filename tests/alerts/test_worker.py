"""The real Celery worker sends what the pages queue, retries a refusal with backoff,
and never sends a note twice."""

from __future__ import annotations

import time

import pytest

from alerts.models import SentNote
from tests.alerts.smtp import link, parts
from tests.alerts.test_subscriptions import _form
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_sends_the_confirmation_once_after_a_refusal(
    celery_worker, inbox, client
):
    inbox.fail_next(1)  # the relay says "451 try again later" once
    response = client.post("/notes/new/", _form())
    assert response.status_code == 302
    [message] = inbox.wait(1, timeout=90)
    assert inbox.refused == 1
    note = wait_for(
        lambda: SentNote.objects.filter(status=SentNote.Status.SENT).first(),
        message="the note was not marked sent",
    )
    assert note.attempts == 2 and "451" in note.last_error
    text, _ = parts(message)
    assert link(text, "/notes/confirm/").startswith("http://testserver/notes/")
    time.sleep(3)  # a duplicate would have arrived by now (backoff is 1 s)
    assert len(inbox.messages) == 1


def test_beat_plans_and_the_worker_sends_each_note_once(
    celery_worker, forecast_now, inbox, tmp_path
):
    """A real beat firing plan_notes every 2 s: the note due now goes out once."""
    from datetime import timedelta

    from django.utils import timezone

    from alerts.models import Subscription
    from core.local_time import SEATTLE
    from tests.localstack import celery_beat

    local = timezone.now().astimezone(SEATTLE)
    start = local + timedelta(minutes=29)  # the note (30 min before) is due now
    end = min(start + timedelta(hours=3), start.replace(hour=23, minute=59))
    if start.date() != local.date() or start.hour + 1 > end.hour:
        pytest.skip("too close to midnight in Seattle for a window today")
    now = timezone.now()
    Subscription.objects.create(
        email="beat@example.org",
        status=Subscription.Status.ACTIVE,
        points=[[-122.3208, 47.6154], [-122.3130, 47.6610]],
        mode="walk",
        window_start=start.time().replace(second=0, microsecond=0),
        window_end=end.time().replace(second=0, microsecond=0),
        days=list(range(7)),
        confirmed_at=now,
        renewed_at=now,
    )
    env = dict(celery_worker.env)
    env.update(ALERTS_PLAN_INTERVAL_S="2")
    beat = celery_beat(env, tmp_path / "beat.log", tmp_path / "beat-schedule")
    try:
        [message] = inbox.wait(1, timeout=120)
        assert message["Subject"].startswith("Leave at")
        fired = wait_for(
            lambda: (
                (tmp_path / "beat.log").read_text().count("alerts.tasks.plan_notes")
                >= 3
            ),
            timeout=60,
            message="beat did not fire plan_notes three times",
        )
        assert fired
        time.sleep(3)
    finally:
        beat.stop()
    assert len(inbox.messages) == 1
    assert SentNote.objects.filter(kind="daily").count() == 1
