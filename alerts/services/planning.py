"""Beat's planner: queue what is due.

Every ALERTS_PLAN_INTERVAL_S: notes still QUEUED whose send time has passed by
queueing.STALE_AFTER (the broker was down when they were made, or a worker lost the
task) are handed to the queue again; a send claims its row, so this never sends a
note twice.
"""

from __future__ import annotations

from django.utils import timezone

from alerts.models import SentNote
from alerts.services import queueing


def requeue_stale(now=None) -> int:
    now = now or timezone.now()
    ids = list(
        SentNote.objects.filter(
            status=SentNote.Status.QUEUED, send_at__lt=now - queueing.STALE_AFTER
        ).values_list("pk", flat=True)[:5000]
    )
    return queueing.send_now(ids)


def plan(now=None) -> dict:
    return {"requeued": requeue_stale(now)}
