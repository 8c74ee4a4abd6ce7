"""Thin tasks: note ids in, alerts.services does the work."""

from __future__ import annotations

from celery import shared_task
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


@shared_task(name="alerts.tasks.plan_notes", soft_time_limit=540, time_limit=600)
def plan_notes() -> dict:
    return planning.plan()


@shared_task(name="alerts.tasks.apply_retention", soft_time_limit=300, time_limit=360)
def apply_retention() -> dict:
    return retention.apply()
