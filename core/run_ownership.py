"""Who owns a run (import, training, forecast): one mechanism for every kind of run.

A run row goes PENDING -> RUNNING -> SUCCEEDED | FAILED. Two rules must hold:

* two workers never perform the same run (a task can be delivered twice), and
* a run whose worker died (SIGKILL, OOM, lost host, hard time limit) does not show
  "running" forever: it is marked failed.

Both come from a session-level PostgreSQL advisory lock per run, key
``(lock_class, run id)``, held by the owner's database connection while the run is
RUNNING:

* `RunOwnership.claim` takes the lock without waiting, then moves the row PENDING ->
  RUNNING with one conditional UPDATE; only one worker can win both.
* `RunOwnership.release` drops the lock once the run's final status is written. It
  must be called on every exit path, on the connection that claimed: the lock is per
  connection, and Django keeps connections open (CONN_MAX_AGE), so a forgotten lock
  would outlive the run on a reused connection.
* `RunOwnership.reclaim_dead` fails every RUNNING run whose lock nobody holds. It is
  called when a run is claimed, when the admin lists or shows runs, and every
  RECLAIM_INTERVAL_S by Celery beat, in its own process (core.tasks.reclaim_dead_runs,
  core.upkeep_scheduler), for every registered kind of run, so a dead run is failed
  within a minute with nobody looking and no worker alive.
* A PENDING run is failed too when it cannot start: its task could not be queued
  (`fail_pending`, core.queue), or no worker consumes its queue
  (`fail_unconsumed`, e.g. training with no `gpu` worker).

Why an advisory lock rather than pids or heartbeats: PostgreSQL releases a session's
advisory locks when its connection ends, however the owning process ended (a killed
Celery prefork child's socket is closed by the kernel), on any host. "Lock free"
therefore means "owner gone", with no pid checks that only work on one host and no
heartbeat thresholds to tune against the longest run. To fail a run, the checker
takes the lock itself while updating the row, so a live run is never failed.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, ClassVar

from django.db import DatabaseError, connection
from django.db.models import Model
from django.utils import timezone

from core.models import RunStatus

log = logging.getLogger(__name__)

PENDING, RUNNING, FAILED = RunStatus.PENDING, RunStatus.RUNNING, RunStatus.FAILED


def failed_fields(exc: BaseException) -> dict[str, Any]:
    """What a run that failed with ``exc`` records: the traceback and a one-line
    message."""
    return {
        "status": FAILED,
        "finished_at": timezone.now(),
        "error": "".join(traceback.format_exception(exc))[-8000:],
        "message": f"failed: {type(exc).__name__}: {exc}"[:255],
    }


def worker_lost(run) -> dict[str, str]:
    """What a run (training, forecast) whose worker died says: its dead_fields."""
    return {
        "error": f"worker {run.worker or '?'} died or was killed mid-run",
        "message": "failed: worker lost",
    }


def worker_label() -> str:
    """host:pid of this process, for display (which worker runs a run)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class RunOwnership:
    """Claim, release and reclaim runs of one model (see the module docstring).

    ``lock_class``: first int4 half of the advisory lock key, one per run model.
    ``dead_fields(run)``: the fields, besides status and finished_at, written on a
    run whose owner is gone (its error text, in the caller's style).
    """

    # Every instance, so one periodic task can check every kind of run.
    registry: ClassVar[list[RunOwnership]] = []

    def __init__(
        self,
        model: type[Model],
        lock_class: int,
        dead_fields: Callable[[Any], dict[str, Any]],
        queue: str = "default",
        after_failure: Callable[[list[int]], Any] | None = None,
    ):
        self.model = model
        self.lock_class = lock_class
        self.dead_fields = dead_fields
        # The Celery queue whose workers perform these runs.
        self.queue = queue
        # Called with the ids of runs this class failed (e.g. to delete their files).
        self.after_failure = after_failure
        RunOwnership.registry.append(self)

    def _failed(self, run_ids: list[int]) -> None:
        if run_ids and self.after_failure is not None:
            try:
                self.after_failure(run_ids)
            except Exception:  # noqa: BLE001 - clean-up must not undo the failure
                log.warning(
                    "after_failure of %s failed", self.model.__name__, exc_info=True
                )

    def fail_pending(self, run_id: int, error: str) -> bool:
        """PENDING -> FAILED for a run that will never start (e.g. its task could not
        be queued). False when it is no longer pending."""
        failed = self.model.objects.filter(pk=run_id, status=PENDING).update(
            status=FAILED,
            finished_at=timezone.now(),
            error=error,
            message=f"failed: {error}"[:255],
        )
        if failed:
            log.warning(
                "%s %s failed before it started: %s", self.model.__name__, run_id, error
            )
            self._failed([run_id])
        return bool(failed)

    def fail_unconsumed(self, consumed: set[str], older_than_s: float) -> int:
        """Fail runs PENDING for longer than ``older_than_s`` while no worker consumes
        their queue (``consumed``: the queues live workers listen to)."""
        if self.queue in consumed:
            return 0
        cutoff = timezone.now() - timedelta(seconds=older_than_s)
        stuck = list(
            self.model.objects.filter(
                status=PENDING, created_at__lt=cutoff
            ).values_list("pk", flat=True)
        )
        error = (
            f"no worker consumes the {self.queue!r} queue, so this run could not "
            f"start; start one (celery -A crimepredict_site worker -Q {self.queue}) "
            "and run it again"
        )
        return sum(self.fail_pending(pk, error) for pk in stuck)

    def claim(self, run_id: int, **fields: Any) -> bool:
        """PENDING -> RUNNING under this connection's lock; False when another worker
        has the run or it is not pending. Reclaims dead runs first."""
        self.reclaim_dead()
        if not self.lock(run_id):
            return False  # another live session owns it
        claimed = self.model.objects.filter(pk=run_id, status=PENDING).update(
            status=RUNNING, started_at=timezone.now(), **fields
        )
        if not claimed:
            self.release(run_id)
        return bool(claimed)

    @contextmanager
    def running(self, run_id: int) -> Iterator[None]:
        """The body of a claimed run: any exception marks the run failed with its
        traceback, then propagates; the lock is released on every exit, after the
        final status is written (the worker's connection outlives the task,
        CONN_MAX_AGE, so the lock must not).

        BaseException, not Exception: a soft time limit or a KeyboardInterrupt must
        still leave a failed row behind, never a RUNNING one."""
        try:
            yield
        except BaseException as exc:
            self.model.objects.filter(pk=run_id).update(**failed_fields(exc))
            raise
        finally:
            self.release(run_id)

    def release(self, run_id: int) -> None:
        """Drop every hold this connection has on the run's lock (idempotent).

        Never raises: if the connection broke, PostgreSQL dropped the lock with it,
        and a failure here must not hide the run's own error."""
        try:
            with connection.cursor() as cursor:
                while self.holds(run_id):
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", [self.lock_class, run_id]
                    )
        except DatabaseError:
            log.warning(
                "could not release %s %s", self.model.__name__, run_id, exc_info=True
            )

    def reclaim_dead(self, run_ids: Iterable[int] | None = None) -> int:
        """Mark RUNNING runs whose owner is gone as failed; returns how many."""
        running = self.model.objects.filter(status=RUNNING)
        if run_ids is not None:
            running = running.filter(pk__in=list(run_ids))
        reclaimed = 0
        for run in running:
            if self.holds(run.pk) or not self._try_lock(run.pk):
                continue  # ours, or alive elsewhere
            try:
                n = self.model.objects.filter(pk=run.pk, status=RUNNING).update(
                    status=FAILED, finished_at=timezone.now(), **self.dead_fields(run)
                )
            finally:
                self.release(run.pk)
            if n:
                log.warning(
                    "%s %s: owner gone, marked failed", self.model.__name__, run.pk
                )
                reclaimed += n
                self._failed([run.pk])
        return reclaimed

    def lock(self, run_id: int) -> bool:
        """Hold the run's lock on this connection (once); False when another session
        has it. Never waits: a second worker handed the same run must not block."""
        return self.holds(run_id) or self._try_lock(run_id)

    def holds(self, run_id: int) -> bool:
        """Whether this connection holds the run's lock."""
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT EXISTS (
                    SELECT 1 FROM pg_locks
                     WHERE locktype = 'advisory' AND classid::bigint = %s
                       AND objid::bigint = %s AND objsubid = 2
                       AND pid = pg_backend_pid() AND granted)
                """,
                [self.lock_class, run_id],
            )
            return cursor.fetchone()[0]

    def _try_lock(self, run_id: int) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [self.lock_class, run_id]
            )
            return cursor.fetchone()[0]
