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

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from core.api_errors import ApiError

BUSY_RETRY_AFTER_S = 2


class Busy(ApiError):
    """Every slot is taken and the queue is full (or the wait ran out): a 503."""

    status = 503
    code = "busy"


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

    def _refuse(self, why: str) -> Busy:
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
                if self.waiting >= self.queue:
                    raise self._refuse("the queue is full")
                self.waiting += 1
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
