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
  (1,198 requests in 4 s around a minute boundary): the bucket is GCRA (the generic
  cell rate algorithm, a token bucket kept as one number), updated by ONE Lua script,
  so it is atomic; the script reads Redis's clock, so every web process and host agree
  on it. Per client, Redis holds one "theoretical arrival time" (TAT) with a TTL, never
  a log of request times: O(1) memory per client, three Redis commands per request
  (TIME, GET, SET), sent by SHA.
  A rate of R per period P is a bucket of R requests that refills one request every
  T = P / R. Exactly what that lets through: in ANY stretch of time of length W, at
  most R + floor(W / T) requests (a full bucket, then one per T). So there is no
  boundary to exploit: 4 s around a minute boundary admit at most R + 40 for 600/min
  (a fixed window: 2R); once a client has emptied its bucket, no period holds more
  than R of its requests; but a client that was idle can send R at once and then
  R - 1 more within the same period, so a sliding window of length P holds at most
  2R - 1, never 2R (the sliding-window log this replaced held at most R, at the cost
  of up to R sorted-set members per client and five commands per request).
  A refused request changes nothing, so it does not extend the wait; the reply says
  how long until one request's share of the period is back.
- Redis down: the throttle lets requests through and says so in the log
  (core.redis_guard); pages and reads must not fail because a counter cannot be kept.

core.fast_path runs the same script in the pipeline that also looks up its cache
entry, and leaves the reply on the request as PRECOUNTED, so a request it passes on
to the view is counted once.
"""

from __future__ import annotations

import hashlib
import ipaddress

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle

from core import cache, redis_guard

# Attribute of the Django request: the anon bucket's script reply, already taken.
PRECOUNTED = "_anon_throttle_reply"

# GCRA. KEYS[1]: the client's TAT (microseconds, Redis's clock; missing = full bucket).
# ARGV[1]: T, microseconds per request (the period / the rate, rounded up); ARGV[2]:
# the rate R, the bucket's size. A request is admitted when the TAT it would leave is
# at most R * T ahead of now. Returns {allowed (1/0), requests left in the bucket,
# microseconds until the next one would be admitted (0 when admitted)}. The key
# expires when its TAT passes: by then the bucket is full, as when it is missing.
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local limit = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new = tat + interval
if new - now > limit then
  return {0, 0, new - limit - now}
end
local ttl = math.ceil((new - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', ttl)
return {1, math.floor((limit - (new - now)) / interval), 0}
"""
GCRA_SHA = hashlib.sha1(GCRA.encode()).hexdigest()


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
        period_us = int(self.duration * 1_000_000)
        interval_us = -(-period_us // self.num_requests)  # rounded up: never faster
        # Not the log's key name (a sorted set): processes of both releases can run
        # side by side during a deploy, and GET on a sorted set is an error.
        return (1, f"{prefix}:tat:{key}", interval_us, self.num_requests)

    def queue(self, pipe, key: str) -> None:
        """Add the script (one command, one reply) to a pipeline run by
        core.cache.execute, by its SHA."""
        cache.queue_script(pipe, GCRA, GCRA_SHA, self._args(key))

    def count(self, key: str):
        """Run the script; False when Redis cannot be reached (fail open)."""
        if not redis_guard.available():
            return False
        try:
            reply = cache.run_script(GCRA, GCRA_SHA, *self._args(key))
        except redis_guard.ERRORS as exc:
            redis_guard.failed(exc, "throttle: requests are not limited meanwhile")
            return False
        redis_guard.succeeded()
        return reply

    def decide(self, reply) -> bool:
        """Allowed? ``reply`` is the script's, or False when Redis failed (open)."""
        if not reply:
            self._wait = None
            return True
        allowed, _left, wait_us = (int(v) for v in reply)
        self._wait = None if allowed else max(1.0, wait_us / 1_000_000)
        return bool(allowed)

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


class ExportThrottle(AnonWindowThrottle):
    """Exports are large: their own, tighter rate (scope "export", API_EXPORT_RATE)."""

    scope = "export"
