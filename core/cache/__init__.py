"""The one cache: a version counter per kind of data, and every cache keyed on them.

Scopes, and what changes them:

====================  ==============================================================
``data``              incidents and finished imports (crimes.Incident, ImportRun)
``areas``             the boundaries (crimes.Area)
``grid``              the forecast grid (predictions.Cell)
``forecasts``         model versions, forecast runs and their rows
``models``            model versions (the checkpoint a process has loaded)
``streets``           the street network (streets: StreetEdge, StreetLine)
====================  ==============================================================

Each scope is an integer in Redis, bumped by whatever changes its rows:

- the model signals (post_save, post_delete) of the models an app registers with
  ``track`` in its ``AppConfig.ready``: saves, deletes and cascades;
- ``TrackedQuerySet``, for the queryset writes that send no signal (``update``,
  ``bulk_create``, ``bulk_update``, and ``delete`` on the big tables, where a per-row
  signal would make Django load every row before deleting);
- the services that write with SQL or COPY (the importer, ``write_forecast``,
  ``build_cells``, ``load_boundaries``, ``load_network``), which call ``bump``
  themselves.

Inside a transaction ``bump`` counts at once (the transaction reads its own writes) and
again after the commit: anything another process cached from the old rows in between is
retired by the second bump.

Every cache keys on the versions of the scopes its answer depends on, read before the
data it is built from: ``VersionedCache`` (process memory and/or Redis) and the response
entries of core.fast_path (``request_key`` + ``lookup_call``). A change makes every
dependent entry unreachable at once, in every process; nothing is deleted, old entries
expire (``CACHE_TIMEOUT``) or fall out of their LRU.

When Redis loses a counter it restarts from the clock in microseconds, never from 0,
so it cannot repeat a value that some process still holds entries for.

While Redis is unavailable (core.redis_guard) the cache steps aside instead of failing
the request: every version reads as `outage_version()`, negative (never a real one)
and the same in every process for a minute, so answers are computed from PostgreSQL
and reused from process memory for at most a minute; nothing is written to Redis. A
bump that cannot be counted is logged and recorded in PostgreSQL
(core.pending_bumps), and applied once Redis is back: by the first process that sees
it back, or by Celery beat within a minute; entries cached before the change are
retired then, also when Redis kept its keys through the outage.

This package, by job: ``scopes`` (the scope names and their Redis keys), ``scripts``
(the Lua scripts and ``ScriptCall``, a call as a value), this module (the Redis client,
reading versions, bumping them, outages), ``tracking`` (model signals and
``TrackedQuerySet``), ``keys`` (entry keys, request keys, ETags), ``memory``
(``ProcessLRU``), ``versioned`` (``VersionedCache``) and ``bypass`` (``uncached``).
Everything is importable from ``core.cache`` itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import redis
from django.conf import settings
from django.db import connection, transaction

from core import redis_guard
from core.cache.bypass import bypassed, uncached
from core.cache.keys import digest, entry_key, entry_timeout, etag, request_key
from core.cache.memory import ProcessLRU
from core.cache.scopes import (
    AREAS,
    DATA,
    FORECASTS,
    GRID,
    MODELS,
    SCOPES,
    STREETS,
    unknown_scopes,
    version_key,
)
from core.cache.scripts import (
    LOOKUP_FUNCTION,
    ScriptCall,
    bump_call,
    lookup_call,
    parse_token,
    sha_of,
    token_of,
)

# Both call back into this module (bump, versions, the client) only when used.
from core.cache.tracking import TrackedQuerySet, scopes_of, track
from core.cache.versioned import VersionedCache

log = logging.getLogger(__name__)

__all__ = [
    "AREAS",
    "DATA",
    "FORECASTS",
    "GRID",
    "LOOKUP_FUNCTION",
    "MODELS",
    "SCOPES",
    "STREETS",
    "ProcessLRU",
    "ScriptCall",
    "TrackedQuerySet",
    "VersionedCache",
    "bump",
    "bypassed",
    "digest",
    "entry_key",
    "entry_timeout",
    "etag",
    "in_outage",
    "increment",
    "lookup_call",
    "outage_version",
    "outage_versions",
    "parse_token",
    "pinned",
    "pinned_versions",
    "read_lookup",
    "redis_client",
    "request_key",
    "run",
    "scopes_of",
    "sha_of",
    "token_of",
    "track",
    "uncached",
    "version_key",
    "versions",
]

_client: redis.Redis | None = None
_client_lock = threading.Lock()


def redis_client() -> redis.Redis:
    """The process's Redis client (the cache's server; made lazily, so each forked
    server worker opens its own connections)."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    settings.CACHE_REDIS_URL,
                    socket_connect_timeout=settings.REDIS_TIMEOUT_S,
                    socket_timeout=settings.REDIS_TIMEOUT_S,
                )
    return _client


def run(call: ScriptCall):
    """One script call by its SHA: the text is not sent (nor hashed by Redis) on every
    request, only when Redis lacks it (the first call since Redis started or flushed
    its scripts; NOSCRIPT means it did not run, so it still runs exactly once)."""
    client = redis_client()
    try:
        return client.evalsha(call.sha, *call.args)
    except redis.exceptions.NoScriptError:
        return client.eval(call.text, *call.args)


def outage_version() -> int:
    return -int(time.time() // 60)


def outage_versions(scopes: Sequence[str]) -> tuple[int, ...]:
    """What every version reads as while Redis is unavailable."""
    return tuple(outage_version() for _ in scopes)


def in_outage(versions: Sequence[int]) -> bool:
    """Read while Redis was down (real versions are positive)."""
    return any(v < 0 for v in versions)


def read_lookup(scopes: Sequence[str], reply) -> tuple[tuple[int, ...], bytes | None]:
    """(versions, the entry's raw bytes or None) from a lookup_call's reply."""
    token, raw = reply
    versions = parse_token(token.decode() if isinstance(token, bytes) else token)
    _seen(scopes)
    return versions, raw


# Inside ``pinned``: every scope's version, read once for the whole block.
_pin: ContextVar[dict[str, int] | None] = ContextVar("cache_pin", default=None)


@contextmanager
def pinned() -> Iterator[None]:
    """Every scope's version read once (one round trip), and every ``versions`` and
    VersionedCache read inside the block answered from that reading.

    For read-only work that reads many caches (a routed commute: the city limits,
    the forecast, the city mean, the model's error, the answer, the stretches'
    history): each read was a round trip of its own, and under load a round trip to
    Redis waits for it to be scheduled (docs/benchmarks.md, "Fast routing"). The
    answer is the one the block would have computed had every change landed just
    before it started. A ``bump`` inside drops the pin, so work that writes reads
    its own writes."""
    if _pin.get() is not None:
        yield
        return
    token = _pin.set(dict(zip(SCOPES, versions(*SCOPES), strict=True)))
    try:
        yield
    finally:
        _pin.reset(token)


def pinned_versions(scopes: Sequence[str]) -> tuple[int, ...] | None:
    """The versions of ``scopes`` as ``pinned`` read them; None outside it."""
    pin = _pin.get()
    if pin is None:
        return None
    _seen(scopes)
    return tuple(pin[s] for s in scopes)


def versions(*scopes: str) -> tuple[int, ...]:
    """The current versions of ``scopes`` (one round trip, none inside ``pinned``);
    read them before the data that a cached value is built from."""
    if not scopes:
        return ()
    held = pinned_versions(scopes)
    if held is not None:
        return held
    if not redis_guard.available():
        return outage_versions(scopes)
    try:
        reply = run(lookup_call(scopes))
    except redis_guard.ERRORS as exc:
        redis_guard.failed(exc, "cache: answers computed without it")
        return outage_versions(scopes)
    redis_guard.succeeded()
    return read_lookup(scopes, reply)[0]


def increment(scope: str) -> int | None:
    """Increment one version in Redis; None when Redis is unavailable (logged)."""
    try:
        if not redis_guard.available():
            raise redis.exceptions.ConnectionError("circuit open")
        version = int(run(bump_call(version_key(scope))))
    except redis_guard.ERRORS as exc:
        redis_guard.failed(exc, "cache: a version could not be bumped")
        log.error("cache scope %r not bumped: Redis is unavailable (%s)", scope, exc)
        return None
    redis_guard.succeeded()
    return version


def _incr(scope: str, record: bool = True) -> int | None:
    """``increment``; a failure is recorded in PostgreSQL (core.pending_bumps) when
    ``record``: for the bump that counts, not a transaction's bump for itself."""
    version = increment(scope)
    if version is None and record:
        from core import pending_bumps  # it imports this module

        pending_bumps.record(scope)
    return version


# Per thread (= per database connection): which scopes this transaction has bumped
# and nobody has read since, and which after-commit bumps it has registered. Keyed on
# the connection's list of commit hooks, a new list per transaction and after a
# savepoint rollback (which drops the hooks registered inside it).
_pending = threading.local()


def _transaction_state() -> tuple[set[str], set[str]]:
    hooks = connection.run_on_commit
    if getattr(_pending, "hooks", None) is not hooks:
        _pending.hooks = hooks
        _pending.unread = set()
        _pending.registered = set()
    return _pending.unread, _pending.registered


def _seen(scopes: Sequence[str]) -> None:
    unread = getattr(_pending, "unread", None)
    if unread:
        unread.difference_update(scopes)


def bump(*scopes: str) -> None:
    """Every cached answer built from these scopes is out of date, in every process.

    Outside a transaction: one increment. Inside one: an increment now (unless this
    transaction already bumped the scope and nothing has read it since, so deleting
    a thousand rows costs one) and one after the commit.
    """
    unknown = unknown_scopes(scopes)
    if unknown:  # fail before anything is counted
        raise ValueError(f"unknown cache scopes {unknown}; one of {SCOPES}")
    _pin.set(None)  # a pinned block that writes reads its own writes from here on
    if not connection.in_atomic_block:
        for scope in scopes:
            _incr(scope)
        return
    unread, registered = _transaction_state()
    for scope in scopes:
        if scope not in unread:
            # For this transaction's own reads; the bump after the commit is the one
            # recorded if Redis fails (a rolled-back transaction changed nothing).
            _incr(scope, record=False)
            unread.add(scope)
        if scope not in registered:
            registered.add(scope)
            # robust: the rows are committed whatever Redis says; a bump Redis
            # misses is recorded in PostgreSQL and applied when it is back.
            transaction.on_commit(lambda s=scope: _incr(s), robust=True)
