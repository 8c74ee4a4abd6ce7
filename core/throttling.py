"""Anonymous throttling: one rate for the whole API, exact under concurrency.

What a probe of a public deployment found (issue 10), and the answer to each:

- Clients chose their own identity: DRF keyed anonymous clients on the whole
  ``X-Forwarded-For`` header, so 700 made-up values got 700 answers. Here the key is
  `client_address`: REMOTE_ADDR, or with ``BEHIND_PROXY=N`` the N-th address from the
  right of X-Forwarded-For, the one our own proxy appended; never one the client
  wrote. IPv6 clients count per /64, the prefix one subscriber gets.
- Two buckets (history and forecasts in one, every other endpoint in DRF's) gave a
  client twice the rate: every API view now counts in the one "anon" bucket
  (API_ANON_RATE, the default throttle class); exports count in it and in their own
  tighter "export" bucket (API_EXPORT_RATE).
- A read-modify-write race (687 of 600 got through to 8 threads) and fixed windows
  (1,198 requests in 4 s around a minute boundary): the bucket is a sliding-window log,
  one sorted set per client of the request times of the last window, trimmed, counted
  and appended by ONE Lua script, so it is atomic, and no window of that length ever
  holds more than the rate. The script reads Redis's clock, so every web process and
  host agree on it. A refused request is not logged, so it does not extend the wait.
- Redis down: the throttle lets requests through and says so in the log
  (core.redis_guard); pages and reads must not fail because a counter cannot be kept.

core.fast_path runs the same script in the pipeline that also looks up its cache
entry, and leaves the reply on the request as PRECOUNTED, so a request it passes on
to the view is counted once.
"""

from __future__ import annotations

import ipaddress
import secrets

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle

from core import redis_guard
from core.cache import redis_client

# Attribute of the Django request: the anon bucket's script reply, already taken.
PRECOUNTED = "_anon_window_count"

# KEYS[1]: the client's sorted set. ARGV: window (microseconds), limit, a unique tag.
# Returns {allowed (1/0), requests in the window, microseconds until one expires}.
SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, t[1] .. '.' .. t[2] .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, count + 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, count, tonumber(oldest[2]) + window - now}
"""


def _normalised(raw: str) -> str | None:
    try:
        ip = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(request) -> str | None:
    """The address a request came from, as far as this deployment can know it (None
    when the request has none, e.g. one built in a test).

    Without a proxy (BEHIND_PROXY=0, the default) X-Forwarded-For is ignored: anyone
    can write it. Behind N proxies, the N-th entry from the right is the address the
    outermost of our proxies saw; entries to its left came from the client."""
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.PROXY_HOPS
    if hops:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        addresses = [a for a in (p.strip() for p in forwarded.split(",")) if a]
        if len(addresses) >= hops:
            found = _normalised(addresses[-hops])
            if found is not None:
                return found
    return _normalised(remote)


class AnonWindowThrottle(AnonRateThrottle):
    """The API's one anonymous rate (scope "anon", API_ANON_RATE)."""

    scope = "anon"

    def get_ident(self, request) -> str:
        return client_address(request) or "unknown"

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True  # a signed-in user
        reply = getattr(request, PRECOUNTED, None) if self.scope == "anon" else None
        if reply is None:
            reply = self.count(key)
        return self.decide(reply)

    def anonymous_key(self, request) -> str:
        """get_cache_key's answer for an anonymous user (no DRF request needed)."""
        return self.cache_format % {
            "scope": self.scope,
            "ident": self.get_ident(request),
        }

    def _args(self, key: str) -> tuple:
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        window_us = int(self.duration * 1_000_000)
        return (
            SLIDING_WINDOW,
            1,
            f"{prefix}:throttle:{key}",
            window_us,
            self.num_requests,
            secrets.token_hex(6),
        )

    def queue(self, pipe, key: str) -> None:
        """Add the script (one command, one reply) to a pipeline."""
        pipe.eval(*self._args(key))

    def count(self, key: str):
        """Run the script; None when Redis cannot be reached (fail open)."""
        if not redis_guard.available():
            return False
        try:
            return redis_client().eval(*self._args(key))
        except redis_guard.ERRORS as exc:
            redis_guard.failed(exc, "throttle: requests are not limited meanwhile")
            return False

    def decide(self, reply) -> bool:
        """Allowed? ``reply`` is the script's, or False when Redis failed (open)."""
        if not reply:
            self._wait = None
            return True
        allowed, _count, wait_us = (int(v) for v in reply)
        self._wait = None if allowed else max(1.0, wait_us / 1_000_000)
        return bool(allowed)

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


class ExportThrottle(AnonWindowThrottle):
    """Exports are large: their own, tighter rate (scope "export", API_EXPORT_RATE)."""

    scope = "export"
