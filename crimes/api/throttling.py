"""Anonymous throttling as a fixed-window counter: one Redis round trip a request.

DRF's AnonRateThrottle keeps a list of every request's timestamp in the cache, reads
and re-writes (pickles) it on each request: two round trips and work that grows with
the rate. A counter per (client, window) with INCR + EXPIRE in one pipeline costs the
same at any rate. The rate is the same setting (scope "anon", API_ANON_RATE).
"""

from __future__ import annotations

import threading
import time

import redis
from django.conf import settings
from rest_framework.throttling import AnonRateThrottle

_client: redis.Redis | None = None
_lock = threading.Lock()


def _redis() -> redis.Redis:
    # Created lazily so each (forked) server worker opens its own connections.
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


class AnonWindowThrottle(AnonRateThrottle):
    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        window = int(time.time() // self.duration)
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        key = f"{prefix}:throttle:{ident}:{window}"
        pipe = _redis().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, int(self.duration) + 1)
        count, _ = pipe.execute()
        return count <= self.num_requests

    def wait(self) -> float:
        return self.duration - (time.time() % self.duration)
