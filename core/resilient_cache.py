"""The Django cache backend: Redis, degrading to "no cache" when Redis fails.

With Django's RedisCache every cache call raises when Redis is down, so every page
and API read answered 500 (135 of 150 requests in the issue 10 probe). Here a
failing call is a miss: ``get`` returns the default, writes do nothing, and the
caller computes the answer from PostgreSQL as on any cold request. ``incr`` raises
CacheUnavailable, because a counter that silently did not move would be wrong
(core.cache decides what a version is while Redis is down). Failures open the
breaker in core.redis_guard, so an unreachable Redis costs one timeout per
BREAKER_S, not one per call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

from core import redis_guard


class CacheUnavailable(RuntimeError):
    """The cache server cannot be reached (a counter could not be changed)."""


class ResilientRedisCache(RedisCache):
    def _try(self, what: str, default: Any, call: Callable[[], Any]) -> Any:
        if not redis_guard.available():
            return default
        try:
            result = call()
        except redis_guard.ERRORS as exc:
            redis_guard.failed(exc, f"cache {what}: served without the cache")
            return default
        redis_guard.succeeded()
        return result

    def get(self, key, default=None, version=None):
        return self._try(
            "get", default, lambda: RedisCache.get(self, key, default, version)
        )

    def get_many(self, keys, version=None):
        return self._try("get", {}, lambda: RedisCache.get_many(self, keys, version))

    def has_key(self, key, version=None):
        return self._try("get", False, lambda: RedisCache.has_key(self, key, version))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(
            "add", False, lambda: RedisCache.add(self, key, value, timeout, version)
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._try(
            "set", None, lambda: RedisCache.set(self, key, value, timeout, version)
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(
            "set", list(data), lambda: RedisCache.set_many(self, data, timeout, version)
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(
            "touch", False, lambda: RedisCache.touch(self, key, timeout, version)
        )

    def delete(self, key, version=None):
        return self._try("delete", False, lambda: RedisCache.delete(self, key, version))

    def delete_many(self, keys, version=None):
        self._try("delete", None, lambda: RedisCache.delete_many(self, keys, version))

    def clear(self):
        return self._try("clear", False, lambda: RedisCache.clear(self))

    def incr(self, key, delta=1, version=None):
        if not redis_guard.available():
            raise CacheUnavailable(f"cannot increment {key!r}: Redis is unavailable")
        try:
            return RedisCache.incr(self, key, delta, version)
        except redis_guard.ERRORS as exc:
            redis_guard.failed(exc, f"cache incr of {key!r}")
            raise CacheUnavailable(f"cannot increment {key!r}: {exc}") from exc
