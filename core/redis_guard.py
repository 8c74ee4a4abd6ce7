"""Redis is optional at request time: when it fails, requests stop waiting on it.

Redis holds the cache, the throttle counters and the task queue. None of them may
take a page down: reads are served from PostgreSQL without the cache, the throttle
lets requests through (core.throttling), and actions that need the queue answer 503
(core.queue). What this module adds is a short circuit breaker, per process: after a
failure, callers skip Redis for BREAKER_S seconds instead of each waiting out a
connection timeout, then try again (so recovery needs nobody). Failures are logged
at most once per LOG_EVERY_S.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

log = logging.getLogger(__name__)

BREAKER_S = 5.0
LOG_EVERY_S = 60.0
# What a Redis client raises when the server is down, unreachable or too slow.
ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

_lock = threading.Lock()
_open_until = 0.0
_last_log = 0.0


def available() -> bool:
    """False while the breaker is open (a failure less than BREAKER_S ago)."""
    return time.monotonic() >= _open_until


def failed(exc: BaseException, what: str) -> None:
    """Record a failure: open the breaker, log (not more than once a minute)."""
    global _open_until, _last_log
    now = time.monotonic()
    with _lock:
        _open_until = now + BREAKER_S
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


def reset() -> None:
    """Close the breaker (tests; a process that knows Redis is back)."""
    global _open_until, _last_log
    with _lock:
        _open_until = 0.0
        _last_log = 0.0
