"""Redis is optional at request time: when it fails, requests stop waiting on it.

Redis holds the cache, the throttle counters and the task queue (the queue on a
server of its own in production: settings.CELERY_BROKER_URL, CACHE_REDIS_URL). None
of them may take a page down: reads are served from PostgreSQL without the cache,
the throttle lets requests through (core.throttling), and actions that need the
queue answer 503 (core.queue). What this module adds is a short circuit breaker, per
process: after a failure, callers skip Redis for BREAKER_S seconds instead of each
waiting out a connection timeout, then try again (so recovery needs nobody). Failures
are logged at most once per LOG_EVERY_S.

Callers report successes too (``succeeded``: a global read, nothing more while Redis
is fine). The first success after a failure runs the ``on_recovery`` callbacks, once
per outage per process: what could not be written to Redis meanwhile is caught up
then (core.pending_bumps).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

BREAKER_S = 5.0
LOG_EVERY_S = 60.0
# What a Redis client raises when the server is down, unreachable or too slow, or
# refuses a write because it is full (the cache's server has `maxmemory`: a write it
# cannot make room for is answered OOM; the caller goes on without the cache, and a
# version bump it refused is recorded and applied later, core.pending_bumps).
ERRORS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.OutOfMemoryError,
    OSError,
)

_lock = threading.Lock()
_open_until = 0.0
_last_log = 0.0
_failing = False  # a failure since the last success
_recovery: list[Callable[[], None]] = []


def on_recovery(callback: Callable[[], None]) -> None:
    """Call ``callback`` at the first success after a failure (in that thread)."""
    if callback not in _recovery:
        _recovery.append(callback)


def available() -> bool:
    """False while the breaker is open (a failure less than BREAKER_S ago)."""
    return time.monotonic() >= _open_until


def failed(exc: BaseException, what: str) -> None:
    """Record a failure: open the breaker, log (not more than once a minute)."""
    global _open_until, _last_log, _failing
    now = time.monotonic()
    with _lock:
        _open_until = now + BREAKER_S
        _failing = True
        if now - _last_log < LOG_EVERY_S:
            return
        _last_log = now
    log.error(
        "Redis unavailable (%s: %s): %s; retrying in %.0fs",
        type(exc).__name__,
        exc,
        what,
        BREAKER_S,
    )


def succeeded() -> None:
    """Record a success; the first one after a failure runs the recovery callbacks
    (one thread does; a failing callback is logged, never raised to the caller)."""
    global _failing
    if not _failing:
        return
    with _lock:
        if not _failing:
            return
        _failing = False
    log.warning("Redis is available again")
    for callback in list(_recovery):
        try:
            callback()
        except Exception:
            log.exception("Redis recovery callback %r failed", callback)


def reset() -> None:
    """Close the breaker (tests; a process that knows Redis is back). Runs no
    recovery callbacks."""
    global _open_until, _last_log, _failing
    with _lock:
        _open_until = 0.0
        _last_log = 0.0
        _failing = False
