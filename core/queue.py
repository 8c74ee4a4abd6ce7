"""Hand a run to the task queue, or say at once that it cannot be done.

With Redis down, an admin upload hung for 19 s, answered 500 and left its import run
"pending" for ever: the task was never queued, and nothing said so. `enqueue` sends
the task when the transaction that created the run commits (so the worker finds the
row); if the broker cannot take it within a couple of seconds
(settings.CELERY_TASK_PUBLISH_RETRY_POLICY), the run is marked failed with the reason
and QueueUnavailable, a 503 with Retry-After, reaches the client (for pages through
core.api_errors.OutageMiddleware).
"""

from __future__ import annotations

import logging

from celery import Task
from django.db import transaction
from kombu.exceptions import KombuError

from core import redis_guard
from core.api_errors import OUTAGE_RETRY_AFTER_S, ApiError
from core.run_ownership import RunOwnership

log = logging.getLogger(__name__)


class QueueUnavailable(ApiError):
    status = 503
    code = "queue_unavailable"


def enqueue(task: Task, run_id: int, runs: RunOwnership) -> None:
    """``task.delay(run_id)`` once the current transaction commits (at once outside
    one); raises QueueUnavailable after failing the run when it cannot be queued."""

    def send() -> None:
        error: BaseException | None = None
        if redis_guard.available():
            try:
                task.apply_async(args=[run_id])
                return
            except (KombuError, *redis_guard.ERRORS) as exc:
                redis_guard.failed(exc, "task queue: runs cannot be started")
                error = exc
        detail = (
            "the task queue (Redis) is unavailable, so the run could not be started; "
            "nothing was done: try again shortly"
        )
        runs.fail_pending(run_id, f"{detail} ({error or 'breaker open'})")
        raise QueueUnavailable(detail, retry_after=OUTAGE_RETRY_AFTER_S) from error

    transaction.on_commit(send)
