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
entries of core.fast_path (``request_key`` + ``lookup``). A change makes every
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
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models.signals import post_delete, post_save

from core import redis_guard

T = TypeVar("T")
log = logging.getLogger(__name__)

DATA = "data"
AREAS = "areas"
GRID = "grid"
FORECASTS = "forecasts"
MODELS = "models"
STREETS = "streets"
SCOPES = (DATA, AREAS, GRID, FORECASTS, MODELS, STREETS)

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


def outage_version() -> int:
    return -int(time.time() // 60)


def outage_versions(scopes: Sequence[str]) -> tuple[int, ...]:
    """What every version reads as while Redis is unavailable."""
    return tuple(outage_version() for _ in scopes)


def in_outage(versions: Sequence[int]) -> bool:
    """Read while Redis was down (real versions are positive)."""
    return any(v < 0 for v in versions)


def version_key(scope: str) -> str:
    if scope not in SCOPES:
        raise ValueError(f"unknown cache scope {scope!r}; one of {SCOPES}")
    return cache.make_key(f"version:{scope}")


_version_keys: dict[tuple[str, ...], list[str]] = {}


def _keys_of(scopes: Sequence[str]) -> list[str]:
    found = _version_keys.get(tuple(scopes))
    if found is None:
        found = _version_keys[tuple(scopes)] = [version_key(s) for s in scopes]
    return found


def _clock() -> int:
    return time.time_ns() // 1000


# Reads the counters of KEYS (restarting a missing one from ARGV[1], the clock) and,
# when ARGV[2] is not empty, the entry ARGV[2] .. token .. ARGV[3]: the versions and a
# cached answer in one round trip, with the versions inside the entry's key.
# A Lua function, so that core.fast_path can run it and the throttle's counter in one
# script (LOOKUP_FUNCTION; lookup_args gives its arguments).
LOOKUP_FUNCTION = """
local function lookup(keys, clock, entry, suffix)
local parts = {}
for i, k in ipairs(keys) do
  local v = redis.call('GET', k)
  if not v then
    v = clock
    redis.call('SET', k, v)
  end
  parts[i] = v
end
local token = table.concat(parts, '.')
if entry == '' then return {token, false} end
return {token, redis.call('GET', entry .. token .. suffix)}
end
"""
_LOOKUP = LOOKUP_FUNCTION + "return lookup(KEYS, ARGV[1], ARGV[2], ARGV[3])\n"
_LOOKUP_SHA = hashlib.sha1(_LOOKUP.encode()).hexdigest()
_BUMP = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[1])
return tonumber(ARGV[1])
"""


def parse_token(token: str) -> tuple[int, ...]:
    return tuple(int(p) for p in token.split(".")) if token else ()


def token_of(versions: Sequence[int]) -> str:
    return ".".join(str(v) for v in versions)


def queue_lookup(
    pipe, scopes: Sequence[str], entry: str | None = None, suffix: str = ""
) -> None:
    """Add the versions of ``scopes`` (and the entry ``entry`` at them) to a pipeline
    run by ``execute``; ``read_lookup`` parses its reply."""
    keys, argv = lookup_args(scopes, entry, suffix)
    queue_script(pipe, _LOOKUP, _LOOKUP_SHA, (len(keys), *keys, *argv))


def lookup_args(
    scopes: Sequence[str], entry: str | None = None, suffix: str = ""
) -> tuple[list[str], tuple]:
    """KEYS and ARGV of LOOKUP_FUNCTION's ``lookup(keys, clock, entry, suffix)``."""
    return _keys_of(scopes), (_clock(), entry or "", ":" + suffix)


def queue_script(pipe, text: str, sha: str, args: tuple) -> None:
    """Add a Lua script to a pipeline run by ``execute``, by its SHA: the text is not
    sent (nor hashed by Redis) on every request; ``execute`` sends it when Redis lacks
    it (the first call since Redis started or flushed its scripts)."""
    pending = pipe.__dict__.setdefault("_core_cache_scripts", [])
    pending.append((len(pipe.command_stack), text, args))
    pipe.evalsha(sha, *args)


def run_script(text: str, sha: str, *args):
    """One script call by its SHA, outside a pipeline (the text only when missing)."""
    client = redis_client()
    try:
        return client.evalsha(sha, *args)
    except redis.exceptions.NoScriptError:
        return client.eval(text, *args)


def execute(pipe) -> list:
    """``pipe.execute()``; a script that Redis lacks (NOSCRIPT: it did not run) is
    loaded and run again, so it still runs exactly once."""
    scripts = pipe.__dict__.pop("_core_cache_scripts", [])
    results = pipe.execute(raise_on_error=False)
    for index, text, args in scripts:
        if isinstance(results[index], redis.exceptions.NoScriptError):
            results[index] = redis_client().eval(text, *args)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def read_lookup(scopes: Sequence[str], reply) -> tuple[tuple[int, ...], bytes | None]:
    token, raw = reply
    versions = parse_token(token.decode() if isinstance(token, bytes) else token)
    _seen(scopes)
    return versions, raw


def versions(*scopes: str) -> tuple[int, ...]:
    """The current versions of ``scopes`` (one round trip); read them before the data
    that a cached value is built from."""
    if not scopes:
        return ()
    if not redis_guard.available():
        return outage_versions(scopes)
    pipe = redis_client().pipeline(transaction=False)
    queue_lookup(pipe, scopes)
    try:
        reply = execute(pipe)[0]
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
        version = int(redis_client().eval(_BUMP, 1, version_key(scope), _clock()))
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
    unknown = set(scopes) - set(SCOPES)
    if unknown:  # fail before anything is counted
        raise ValueError(f"unknown cache scopes {sorted(unknown)}; one of {SCOPES}")
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


# --- what changes the data: model signals and querysets -----------------------------

_tracked: dict[type[models.Model], tuple[str, ...]] = {}


def track(
    model: type[models.Model],
    *scopes: str,
    saves: bool = True,
    row_deletes: bool = True,
) -> None:
    """Bump ``scopes`` whenever a row of ``model`` is saved or deleted.

    ``saves=False`` where a saved row changes no answer until a service says so (an
    import run counts once it has finished: the importer bumps then).
    ``row_deletes=False`` for big tables: no post_delete receiver (its presence makes
    Django fetch every row of a queryset delete or cascade to send it); their
    deletes are seen by TrackedQuerySet.delete and by the tracked parent a cascade
    comes from.
    """
    unknown = set(scopes) - set(SCOPES)
    if not scopes or unknown:
        raise ValueError(f"track({model.__name__}) needs known scopes, got {scopes}")
    _tracked[model] = scopes

    def changed(sender, **kwargs) -> None:
        bump(*scopes)

    uid = f"core.cache:{model._meta.label}"
    if saves:
        post_save.connect(changed, sender=model, weak=False, dispatch_uid=uid + ":save")
    if row_deletes:
        post_delete.connect(
            changed, sender=model, weak=False, dispatch_uid=uid + ":delete"
        )


def scopes_of(model: type[models.Model]) -> tuple[str, ...]:
    return _tracked.get(model._meta.concrete_model, ())


class TrackedQuerySet(models.QuerySet):
    """A queryset whose writes without signals bump the model's tracked scopes."""

    def _changed(self) -> None:
        scopes = scopes_of(self.model)
        if scopes:
            bump(*scopes)

    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        if rows:
            self._changed()
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            self._changed()
        return created

    def bulk_update(self, objs, fields, *args, **kwargs) -> int:
        rows = super().bulk_update(objs, fields, *args, **kwargs)
        if rows:
            self._changed()
        return rows

    def delete(self):
        deleted = super().delete()
        if deleted[0]:
            self._changed()
        return deleted

    delete.alters_data = True
    delete.queryset_only = True
    update.alters_data = True


# --- "no cache at all": the reference every cached answer is compared with ----------

_bypass: ContextVar[bool] = ContextVar("core_cache_bypass", default=False)


@contextmanager
def uncached() -> Iterator[None]:
    """Inside, every cache of this module (and the fast path) computes afresh and
    stores nothing."""
    token = _bypass.set(True)
    try:
        yield
    finally:
        _bypass.reset(token)


def bypassed() -> bool:
    return _bypass.get()


# --- keys -------------------------------------------------------------------------


def digest(value: Any) -> str:
    return hashlib.sha1(repr(value).encode()).hexdigest()


def etag(*parts: Any) -> str:
    """A strong ETag that is a pure function of ``parts`` (include the versions)."""
    return '"' + digest(parts)[:20] + '"'


def request_key(request, vary: Sequence[str] = ()) -> tuple:
    """What a cacheable answer to ``request`` depends on besides the data: scheme,
    host, path, the query with its keys in order (a repeated key keeps the order of
    its values: a view may read the last one) and the declared ``vary`` headers."""
    query = tuple((k, tuple(v)) for k, v in sorted(request.GET.lists()))
    varying = tuple(request.headers.get(name, "") for name in vary)
    return (request.scheme, request.get_host(), request.path, query, varying)


def entry_key(name: str, key: Hashable) -> str:
    """The Redis key of a cached entry, without its versions (``lookup`` adds them)."""
    return cache.make_key(f"{name}:{digest(key)}:")


def entry_timeout() -> int:
    return int(settings.CACHES["default"].get("TIMEOUT") or 3600)


# --- process memory ------------------------------------------------------------------


class ProcessLRU:
    """A thread-safe LRU in this process's memory, bounded by items and/or bytes."""

    def __init__(self, items: int = 0, max_bytes: int = 0) -> None:
        self.items, self.max_bytes = items, max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return default
            self._data.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: Any, size: int = 0) -> None:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._data[key] = (value, size)
            self._bytes += size
            while self._data and (
                (self.items and len(self._data) > self.items)
                or (self.max_bytes and self._bytes > self.max_bytes)
            ):
                self._bytes -= self._data.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0


_MISSING = object()


def _loads(raw: bytes | None) -> Any:
    """An entry's value, or _MISSING: none, or written by another release of the code
    (a class renamed or moved since) is a miss, not an error."""
    if raw is None:
        return _MISSING
    try:
        return pickle.loads(raw)
    except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError):
        return _MISSING


class VersionedCache:
    """Values built from the data, kept under (key, versions of ``scopes``).

    ``local``: how many entries this process keeps in memory (0: none);
    ``shared``: also keep them in Redis (pickled) for every process, ``timeout``
    seconds (default CACHE_TIMEOUT). Exceptions from ``make`` are not cached.
    """

    def __init__(
        self,
        name: str,
        scopes: Sequence[str],
        *,
        local: int = 0,
        local_bytes: int = 0,
        shared: bool = False,
        timeout: int | None = None,
    ) -> None:
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown cache scopes {sorted(unknown)}")
        self.name, self.scopes = name, tuple(scopes)
        self.memory = ProcessLRU(local, local_bytes) if (local or local_bytes) else None
        self.shared, self.timeout = shared, timeout

    def versions(self) -> tuple[int, ...]:
        return versions(*self.scopes)

    def get(
        self,
        key: Hashable,
        make: Callable[[], T],
        *,
        versions: tuple[int, ...] | None = None,
        size: Callable[[T], int] | None = None,
    ) -> T:
        """The value for ``key`` at the current versions (or at ``versions``, read by
        the caller before any data), made by ``make`` when missing."""
        if bypassed():
            return make()
        raw = None
        if versions is None and self.shared:
            versions, raw = self._lookup(key)  # versions and entry: one round trip
        elif versions is None:
            versions = self.versions()
        value = self._local_get(key, versions)
        if value is not _MISSING:
            return value
        if self.shared and raw is None and not in_outage(versions):
            try:
                raw = redis_client().get(self._shared_key(key, versions))
            except redis_guard.ERRORS as exc:
                redis_guard.failed(exc, f"cache {self.name}: computed without it")
        value = _loads(raw)
        if value is not _MISSING:
            self._local_put(key, versions, value, size)
            return value
        value = make()
        self.store(key, versions, value, size=size)
        return value

    def lookup(self, key: Hashable) -> tuple[tuple[int, ...], Any]:
        """(current versions, the shared value or None) in one Redis round trip."""
        if not self.shared:
            raise TypeError(f"{self.name}: lookup needs shared=True")
        found, raw = self._lookup(key)
        value = None if bypassed() else _loads(raw)
        return found, None if value is _MISSING else value

    def _lookup(self, key: Hashable) -> tuple[tuple[int, ...], bytes | None]:
        if not redis_guard.available():
            return outage_versions(self.scopes), None
        pipe = redis_client().pipeline(transaction=False)
        queue_lookup(pipe, self.scopes, entry_key(self.name, key))
        try:
            reply = execute(pipe)[0]
        except redis_guard.ERRORS as exc:
            redis_guard.failed(exc, f"cache {self.name}: computed without it")
            return outage_versions(self.scopes), None
        redis_guard.succeeded()
        return read_lookup(self.scopes, reply)

    def store(
        self,
        key: Hashable,
        versions: tuple[int, ...],
        value: Any,
        *,
        size: Callable[[Any], int] | None = None,
    ) -> None:
        if bypassed():
            return
        self._local_put(key, versions, value, size)
        if self.shared and redis_guard.available() and not in_outage(versions):
            raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            if len(raw) > settings.CACHE_MAX_ENTRY_BYTES:
                return  # one entry must not push out hundreds (issue 16)
            try:
                redis_client().set(
                    self._shared_key(key, versions),
                    raw,
                    ex=self.timeout or entry_timeout(),
                )
            except redis_guard.ERRORS as exc:
                redis_guard.failed(exc, f"cache {self.name}: not stored")

    def clear_local(self) -> None:
        if self.memory is not None:
            self.memory.clear()

    def _shared_key(self, key: Hashable, versions: tuple[int, ...]) -> str:
        return entry_key(self.name, key) + token_of(versions) + ":"

    def _local_get(self, key: Hashable, versions: tuple[int, ...]) -> Any:
        if self.memory is None:
            return _MISSING
        return self.memory.get((versions, key), _MISSING)

    def _local_put(self, key, versions, value, size) -> None:
        if self.memory is not None:
            self.memory.put((versions, key), value, size(value) if size else 0)
