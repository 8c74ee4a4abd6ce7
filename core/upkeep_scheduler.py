"""Celery beat's scheduler, which performs the site's upkeep itself.

The upkeep tasks (core.tasks: failing runs whose worker died, applying cache bumps lost
to a Redis outage) must happen when no worker is alive: that is exactly when a run's
worker has died. Sent to the broker like other tasks, they would wait in the queue
with the runs they are meant to fail, and a run whose only worker was killed would
show "running" until someone started a worker again.

So beat runs them in its own process (settings.CELERY_BEAT_SCHEDULER): beat must run
anyway for every schedule, it is one process per deployment, and it needs only
PostgreSQL and Redis. Alternatives weighed: a heartbeat the web reads checks only
while someone requests a page (a run would stay "running" on a quiet night), and a
separate reaper process is one more thing to supervise on some machine. Each upkeep
task runs in a thread of its own, so a slow database never delays the schedule of
the other entries; an entry whose previous run has not finished is skipped once.
Every other entry is sent to the broker as usual.
"""

from __future__ import annotations

import logging
import threading

from celery.beat import PersistentScheduler
from django.db import connections

log = logging.getLogger(__name__)

# Tasks beat performs in its own process instead of sending them to a worker.
RUN_IN_BEAT = frozenset(
    {"core.tasks.reclaim_dead_runs", "core.tasks.apply_pending_cache_bumps"}
)


class UpkeepScheduler(PersistentScheduler):
    """PersistentScheduler that runs RUN_IN_BEAT entries in beat's own process."""

    def __init__(self, *args, **kwargs):
        self._running: dict[str, threading.Thread] = {}
        super().__init__(*args, **kwargs)

    def apply_entry(self, entry, producer=None):
        if entry.task not in RUN_IN_BEAT:
            return super().apply_entry(entry, producer=producer)
        busy = self._running.get(entry.name)
        if busy is not None and busy.is_alive():
            log.warning("beat: %s is still running, skipped once", entry.name)
            return None
        thread = threading.Thread(
            target=self._perform,
            args=(entry.task,),
            name=f"upkeep:{entry.name}",
            daemon=True,
        )
        self._running[entry.name] = thread
        thread.start()
        return None

    def _perform(self, task_name: str) -> None:
        task = self.app.tasks[task_name]
        try:
            result = task.run()
            log.info("beat: %s done in beat: %s", task_name, result)
        except Exception:  # noqa: BLE001 - the next tick tries again
            log.exception("beat: %s failed", task_name)
        finally:
            # This thread's database connection ends with it (Django opens one per
            # thread; left open, each tick would leak one).
            connections.close_all()
