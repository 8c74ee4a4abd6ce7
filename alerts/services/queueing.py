"""Hand notes to the send tasks once their rows are committed.

By task name, so services never import tasks. A broker that cannot take a task now
loses nothing: the row stays QUEUED and the planner (beat) hands every QUEUED note
that is due and older than STALE_AFTER to the queue again (a send claims its row,
so a note queued twice is still sent once).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import current_app
from django.db import transaction
from kombu.exceptions import KombuError

from core import redis_guard

log = logging.getLogger(__name__)

BATCH_TASK = "alerts.tasks.send_notes"
STALE_AFTER = timedelta(minutes=10)
# Notes per send task: publishing a task costs ~5 ms, so 10,000 notes due at once
# would spend most of a planning round queueing one task each.
BATCH = 50


def send_now(note_ids: list[int], eta: datetime | None = None) -> int:
    """Queue the sends of these notes (at ``eta``), BATCH to a task; how many notes
    the broker took."""
    taken = 0
    for i in range(0, len(note_ids), BATCH):
        batch = [int(n) for n in note_ids[i : i + BATCH]]
        try:
            current_app.send_task(BATCH_TASK, args=[batch], eta=eta)
            taken += len(batch)
        except (KombuError, *redis_guard.ERRORS) as exc:
            log.warning("%s notes stay queued for the planner: %s", len(batch), exc)
            break
    return taken


def send_after_commit(note_ids: list[int], eta: datetime | None = None) -> None:
    transaction.on_commit(lambda: send_now(list(note_ids), eta))
