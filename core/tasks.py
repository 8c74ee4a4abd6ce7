"""Periodic upkeep for every kind of run (Celery beat, settings.CELERY_BEAT_SCHEDULE).

Both run in beat's own process (core.upkeep_scheduler), not on a worker: they must
happen when no worker is alive. Tasks still, so a worker or a shell can run them too.

`reclaim_dead_runs` runs every RECLAIM_INTERVAL_S (60 s): a run whose worker died is
failed within a minute or two even when nobody opens the admin, no other run starts
and no worker is alive at all, and a run that waits for a queue no worker consumes
(training with no `gpu` worker) is failed after PENDING_NO_WORKER_S instead of piling
up. It also removes upload temp files a killed web worker left on this host.

`apply_pending_cache_bumps` runs every PENDING_BUMPS_INTERVAL_S (60 s): the cache
versions that could not be bumped while Redis was down (core.pending_bumps) are
bumped once it is back, even where no process that saw the outage is left to do it.
"""

from __future__ import annotations

import logging

from celery import current_app, shared_task

from core import pending_bumps
from core.request_limits import remove_stale_temp_files
from core.run_ownership import RunOwnership

log = logging.getLogger(__name__)

PENDING_NO_WORKER_S = 600


def consumed_queues(timeout: float = 2.0) -> set[str] | None:
    """The queues live workers consume, or None when none answered (unknown)."""
    replies = current_app.control.inspect(timeout=timeout).active_queues()
    if not replies:
        return None
    return {queue["name"] for queues in replies.values() for queue in queues}


@shared_task(
    name="core.tasks.reclaim_dead_runs",
    ignore_result=True,
    soft_time_limit=50,
    time_limit=55,
)
def reclaim_dead_runs() -> dict[str, int]:
    failed: dict[str, int] = {}
    consumed = consumed_queues()
    for runs in RunOwnership.registry:
        n = runs.reclaim_dead()
        if consumed is not None:
            n += runs.fail_unconsumed(consumed, PENDING_NO_WORKER_S)
        failed[runs.model.__name__] = n
    remove_stale_temp_files()
    if any(failed.values()):
        log.warning("runs marked failed: %s", failed)
    return failed


@shared_task(
    name="core.tasks.apply_pending_cache_bumps",
    ignore_result=True,
    soft_time_limit=50,
    time_limit=55,
)
def apply_pending_cache_bumps() -> list[str]:
    """The scopes bumped (none: nothing was pending, or Redis failed again)."""
    return pending_bumps.apply()
