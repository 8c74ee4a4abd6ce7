"""VersionedCache: values built from the data, kept under the versions they were
built at, in process memory and/or Redis."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from django.conf import settings

from core import (
    cache,  # the package: its client and versions, looked up per call
    redis_guard,
)
from core.cache.bypass import bypassed
from core.cache.keys import entry_key, entry_timeout
from core.cache.memory import ProcessLRU
from core.cache.scopes import unknown_scopes
from core.cache.scripts import lookup_call, token_of

T = TypeVar("T")
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
        unknown = unknown_scopes(scopes)
        if unknown:
            raise ValueError(f"unknown cache scopes {unknown}")
        self.name, self.scopes = name, tuple(scopes)
        self.memory = ProcessLRU(local, local_bytes) if (local or local_bytes) else None
        self.shared, self.timeout = shared, timeout

    def versions(self) -> tuple[int, ...]:
        return cache.versions(*self.scopes)

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
        if versions is None:
            versions = cache.pinned_versions(self.scopes)  # None unless pinned
        looked_up = versions is None and self.shared
        if looked_up:
            versions, raw = self._lookup(key)  # versions and entry: one round trip
        elif versions is None:
            versions = self.versions()
        value = self._local_get(key, versions)
        if value is not _MISSING:
            return value
        # The lookup already read the entry: no second round trip to miss it again.
        if self.shared and not looked_up and not cache.in_outage(versions):
            try:
                raw = cache.redis_client().get(self._shared_key(key, versions))
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
            return cache.outage_versions(self.scopes), None
        try:
            reply = cache.run(lookup_call(self.scopes, entry_key(self.name, key)))
        except redis_guard.ERRORS as exc:
            redis_guard.failed(exc, f"cache {self.name}: computed without it")
            return cache.outage_versions(self.scopes), None
        redis_guard.succeeded()
        return cache.read_lookup(self.scopes, reply)

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
        if self.shared and redis_guard.available() and not cache.in_outage(versions):
            raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            if len(raw) > settings.CACHE_MAX_ENTRY_BYTES:
                return  # one entry must not push out hundreds (issue 16)
            try:
                cache.redis_client().set(
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
