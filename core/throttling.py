"""Anonymous throttling as a fixed-window counter: one Redis round trip a request.

DRF's AnonRateThrottle keeps a list of every request's timestamp in the cache, reads
and re-writes (pickles) it on each request: two round trips and work that grows with
the rate. A counter per (client, window) with INCR + EXPIRE in one pipeline costs the
same at any rate. The rate is the same setting (scope "anon", API_ANON_RATE).

core.fast_path counts a request in the same window (in the pipeline
that also reads its cache entry) and leaves the count on the request as PRECOUNTED,
so a request it passes on to the view is counted once.
"""

from __future__ import annotations

import time

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle

from core.cache import redis_client

# Attribute of the Django request: its count in the current window, already taken.
PRECOUNTED = "_anon_window_count"


class AnonWindowThrottle(AnonRateThrottle):
    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        count = getattr(request, PRECOUNTED, None)
        if count is None:
            pipe = redis_client().pipeline(transaction=False)
            self.queue(pipe, ident)
            count, _ = pipe.execute()
        return count <= self.num_requests

    def anonymous_key(self, request) -> str:
        """get_cache_key's answer for an anonymous user (no DRF request needed)."""
        return self.cache_format % {
            "scope": self.scope,
            "ident": self.get_ident(request),
        }

    def queue(self, pipe, ident: str) -> None:
        """Add INCR (the count, first result) and EXPIRE of the window to a pipeline."""
        window = int(time.time() // self.duration)
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        key = f"{prefix}:throttle:{ident}:{window}"
        pipe.incr(key)
        pipe.expire(key, int(self.duration) + 1)

    def wait(self) -> float:
        return self.duration - (time.time() % self.duration)
