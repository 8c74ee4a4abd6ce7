"""A cap on how many requests of one expensive kind a web process runs at once.

Why (issue 16): with gunicorn's sync workers one client routing commutes flat out
held every worker, and the home page went from 20 ms to a second. The web server
now runs threads (gunicorn's gthread worker, docs/benchmarks.md "Routing
concurrency"): cheap requests get a thread of their own, and the expensive kind
runs in at most ``size`` threads per process. Waiting for a slot holds a thread
too, so the waiters are bounded as well (``queue``; keep it below the threads per
process so that some thread is always free for pages and cached reads), and a wait
is bounded in time (``wait_s``): beyond either, the request is refused at once
with a 503 and a Retry-After, which is cheaper for everyone than queueing it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from core.api_errors import ApiError

log = logging.getLogger(__name__)

BUSY_RETRY_AFTER_S = 2
# Refusals are counted and logged at most this often per process and kind, not one
# line each: under a crowd they are the design working (hundreds a minute), and
# Django logged each as "ERROR Service Unavailable".
REFUSALS_LOG_EVERY_S = 60
_clock = time.monotonic  # the tests move it


class Busy(ApiError):
    """Every slot is taken and the queue is full (or the wait ran out): a 503."""

    status = 503
    code = "busy"
    quiet = True  # Slots logs refusals itself, counted (core.api_errors)


class Slots:
    """``size`` concurrent holders per process; at most ``queue`` waiting."""

    def __init__(self, name: str, size: int, queue: int, wait_s: float) -> None:
        if size < 1 or queue < 0 or wait_s < 0:
            raise ValueError(f"{name}: size >= 1, queue >= 0, wait_s >= 0")
        self.name, self.size, self.queue, self.wait_s = name, size, queue, wait_s
        self._free = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.waiting = 0
        self.running = 0
        self.refused = 0  # since the last log line
        self._logged_at = float("-inf")

    def _refuse(self, why: str) -> Busy:
        with self._lock:
            self.refused += 1
            now = _clock()
            due = now - self._logged_at >= REFUSALS_LOG_EVERY_S
            if due:
                count, self.refused, self._logged_at = self.refused, 0, now
        if due:
            log.warning(
                "%s: %d request(s) refused with 503 busy since the last report"
                " (slots %d, queue %d, wait %g s); last: %s",
                self.name,
                count,
                self.size,
                self.queue,
                self.wait_s,
                why,
            )
        return Busy(
            f"the server is busy {self.name} for other requests ({why}); "
            f"try again in {BUSY_RETRY_AFTER_S} seconds",
            retry_after=BUSY_RETRY_AFTER_S,
        )

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Run the block in a slot; raises Busy instead of waiting without bound."""
        if not self._free.acquire(blocking=False):
            with self._lock:
                full = self.waiting >= self.queue
                if not full:
                    self.waiting += 1
            if full:
                raise self._refuse("the queue is full")
            try:
                got = self._free.acquire(timeout=self.wait_s)
            finally:
                with self._lock:
                    self.waiting -= 1
            if not got:
                raise self._refuse(f"no slot within {self.wait_s:g} s")
        with self._lock:
            self.running += 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
            self._free.release()
