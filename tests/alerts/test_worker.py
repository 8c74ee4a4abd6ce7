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
