"""Thin tasks: note ids in, alerts.services does the work."""

from __future__ import annotations

import time

from celery import shared_task
from celery.utils.time import rate
from django.conf import settings

from alerts.services import planning, retention, sending


@shared_task(
    name="alerts.tasks.send_note",
    bind=True,
    acks_late=True,
    rate_limit=settings.ALERTS_SEND_RATE,
    max_retries=sending.MAX_ATTEMPTS,
    soft_time_limit=60,
    time_limit=90,
)
def send_note(self, note_id: int) -> str:
    outcome = sending.send(note_id)
    if outcome.status == "retry":
        # The row is QUEUED again with its send time moved: the retry claims it.
        raise self.retry(countdown=outcome.retry_in_s)
    return outcome.status


@shared_task(
    name="alerts.tasks.send_notes",
    acks_late=True,
    soft_time_limit=600,
    time_limit=660,
)
def send_notes(note_ids: list[int]) -> dict:
    """A batch (queueing.BATCH) at the ALERTS_SEND_RATE pace; a note the relay
    answered "not now" goes on alone (send_note) after its backoff. A batch
    delivered twice sends nothing twice: each note is claimed before it is sent."""
    per_second = rate(settings.ALERTS_SEND_RATE)
    interval = 1.0 / per_second if per_second else 0.0
    counts: dict[str, int] = {}
    for note_id in note_ids:
        started = time.monotonic()
        outcome = sending.send(note_id)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.status == "retry":
            send_note.apply_async(args=[note_id], countdown=outcome.retry_in_s)
        if outcome.status != "skipped":
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
    return counts


@shared_task(name="alerts.tasks.plan_notes", soft_time_limit=540, time_limit=600)
def plan_notes() -> dict:
    return planning.plan()


@shared_task(name="alerts.tasks.apply_retention", soft_time_limit=300, time_limit=360)
def apply_retention() -> dict:
    return retention.apply()
