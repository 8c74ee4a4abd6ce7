"""Hand notes to the send task once their rows are committed.

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

SEND_TASK = "alerts.tasks.send_note"
STALE_AFTER = timedelta(minutes=10)


def send_now(note_ids: list[int], eta: datetime | None = None) -> int:
    """Queue a send for each id (at ``eta``); how many the broker took."""
    taken = 0
    for note_id in note_ids:
        try:
            current_app.send_task(SEND_TASK, args=[note_id], eta=eta)
            taken += 1
        except (KombuError, *redis_guard.ERRORS) as exc:
            log.warning("note %s stays queued for the planner: %s", note_id, exc)
            break
    return taken


def send_after_commit(note_ids: list[int], eta: datetime | None = None) -> None:
    transaction.on_commit(lambda: send_now(list(note_ids), eta))
