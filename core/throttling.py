"""Anonymous throttling: one rate for the whole API, exact under concurrency.

- Who a client is: `client_address`: REMOTE_ADDR, or with ``BEHIND_PROXY=N`` the
  N-th address from the right of X-Forwarded-For, the one our own proxy appended;
  never one the client wrote. IPv6 clients count per /64, the prefix one subscriber
  gets.
- One bucket: every API view counts in the one "anon" bucket (API_ANON_RATE, the
  default throttle class); exports count in it and in their own tighter "export"
  bucket (API_EXPORT_RATE).
- The bucket is a conservative sliding-window COUNTER, updated by ONE Lua script, so
  it is atomic; the script reads Redis's clock (TIME), so every web process and host
  agree on it. Per client, Redis holds one hash of at most S + 1 counters, one per
  sub-window of period / S (O(1) memory per client). A request at time t, in
  sub-window i = floor(t / sub), sums the counters of sub-windows i - S .. i and is
  admitted (and counted in i) only when that sum is below the rate R.
  The guarantee, exact: NO window [s, s + P] of one period ever holds more than R
  admitted requests. Proof: let t be the admission time of the window's last
  admitted request, i its sub-window. The counted sub-windows cover
  [(i - S) * sub, t] and (i - S) * sub <= t - S * sub <= t - P <= s (sub is rounded
  up, so S * sub >= P), so every request admitted in [s, t] is in a counted
  sub-window (a counter is deleted or expires only once it is older than i - S).
  The sum was below R, so [s, t] holds at most R with this one, and (t, s + P] holds
  none. Scripts run one at a time on a clock that moves forward, so this holds under
  any concurrency. The cost: the oldest counted sub-window counts in full though only
  part of it overlaps the last period, so a client can be refused up to one
  sub-window (P / S) early; a client that keeps pushing gets R per P + sub at worst.
  A refused request is not counted, so it does not extend the wait; the reply says
  how long until enough of the oldest counted sub-windows leave the range.
- Requests cost what they cost: the counter counts TOKENS: an admission of cost c
  (1 for an ordinary request) needs sum + c <= R and adds c to sub-window i, so the
  proof above holds word for word with "tokens" for "requests": no window of one
  period holds more than R tokens. A view whose work costs more than its admission
  `spend`s the rest (one more admission of cost c - 1, under the same rule) once it
  knows it will do that work (commutes: a request routed along the streets); a
  refused spend is a 429 like any other. c is clamped to R, so an expensive request
  is still possible once per period at a tiny rate. The costs are measured (CPU per
  request against a cached read: docs/benchmarks.md, "Cost-aware throttle").
- Redis down: the throttle lets requests through and says so in the log
  (core.redis_guard); pages and reads must not fail because a counter cannot be kept.

How it came to be so (the probe of issue 10, the sliding-window log and GCRA before
this counter, costs in issue 16): docs/history.md.

core.fast_path runs the same counter (COUNTER_FUNCTION) inside the one script that
also looks up its cache entry, and leaves the counter's reply on the request as
PRECOUNTED, so a request it passes on to the view is counted once. Its per-request
Python is kept small (request_call): the address parsing is memoised per string, the
rate's parsing per (key prefix, rate), and no throttle object is made.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.throttling import AnonRateThrottle

from core import cache, redis_guard

# Attribute of the Django request: the anon bucket's script reply, already taken.
PRECOUNTED = "_anon_throttle_reply"

# Sub-windows per period. More is closer to an exact sliding window (a client is
# refused at most period / S early) but costs one more counter per client and one
# more field read per request; 10 keeps that to a 6 s margin at 600/minute with
# 11 small counters (a listpack of ~100-200 bytes), i.e. still O(1) per client.
SUBWINDOWS = 10

# Conservative sliding-window counter. KEYS[1]: the client's hash, field = sub-window
# index i (Redis's clock, microseconds // sub), value = requests admitted in it.
# ARGV[1]: sub, microseconds per sub-window; ARGV[2]: the rate R; ARGV[3]: S;
# ARGV[4]: the cost c in tokens (absent: 1; clamped to 1..R).
# Returns {allowed (1/0), tokens counted in sub-windows i - S .. i (this request's
# included when admitted), microseconds until it would be admitted (0 when
# admitted)}. The hash never holds more than S + 1 fields: whenever a new counter is
# created (once per sub-window), the ones older than i - S are deleted, and the key
# is set to expire (S + 1) * sub later, when no request counts that counter any
# more (a newer one pushes it further). So the whole hash is read with HGETALL
# (bounded; one call, measurably cheaper than HMGET of S + 1 named fields) and an
# admission is TIME, HGETALL, HINCRBY; a refusal TIME, HGETALL.
# A Lua function, so that core.fast_path can run it in the same script as its cache
# lookup (one command in its pipeline instead of two).
COUNTER_FUNCTION = """
local function sliding_counter(key, sub, limit, s, cost)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
sub = tonumber(sub)
limit = tonumber(limit)
s = tonumber(s)
cost = math.max(1, math.floor(math.min(tonumber(cost) or 1, limit)))
local i = math.floor(now / sub)
local first = i - s
local all = redis.call('HGETALL', key)
local sum = 0
local stale = {}
for k = 1, #all, 2 do
  if tonumber(all[k]) >= first then
    sum = sum + tonumber(all[k + 1])
  else
    stale[#stale + 1] = all[k]
  end
end
if sum + cost <= limit then
  if redis.call('HINCRBY', key, string.format('%d', i), cost) == cost then
    if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
    redis.call('PEXPIRE', key, math.ceil((s + 1) * sub / 1000))
  end
  return {1, sum + cost, 0}
end
local counts = {}
for k = 1, #all, 2 do
  local f = tonumber(all[k])
  if f >= first then counts[f - first + 1] = tonumber(all[k + 1]) end
end
local need = sum + cost - limit
local freed = 0
for k = 1, s + 1 do
  freed = freed + (counts[k] or 0)
  if freed >= need then return {0, sum, (i + k) * sub - now} end
end
return {0, sum, (i + s + 1) * sub - now}
end
"""
SLIDING_COUNTER = (
    COUNTER_FUNCTION
    + "return sliding_counter(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])\n"
)
SLIDING_COUNTER_SHA = cache.sha_of(SLIDING_COUNTER)


# A pure function of the string, so memoised: parsing with ipaddress was most of the
# throttle's Python cost per request. Bounded: a flood of new addresses only evicts.
@functools.lru_cache(maxsize=4096)
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


def _prefix() -> str:
    return settings.CACHES["default"].get("KEY_PREFIX", "")


# Memoised on every input (the cache's key prefix, the rate), so a settings override
# or a patched THROTTLE_RATES gives new values, never stale ones.
@functools.lru_cache(maxsize=64)
def _window(prefix: str, limit: int, duration: int) -> tuple[str, int, int]:
    """(key head, microseconds per sub-window, rate) of one bucket."""
    # Rounded up: S sub-windows must cover at least the period (the proof above).
    sub_us = -(-int(duration * 1_000_000) // SUBWINDOWS)
    # Neither the log's name (a sorted set) nor GCRA's (a string): processes of an
    # older release can run side by side during a deploy, and HGETALL on another
    # type is a WRONGTYPE error.
    return f"{prefix}:throttle:sw:", sub_us, limit


@functools.lru_cache(maxsize=64)
def _rate_window(prefix: str, rate: str) -> tuple[str, int, int]:
    limit, duration = AnonRateThrottle.parse_rate(None, rate)  # DRF's parsing
    return _window(prefix, limit, duration)


def _counter_call(key: str, sub_us: int, limit: int, cost: int) -> cache.ScriptCall:
    # SLIDING_COUNTER_SHA read per call: a test sets it to one Redis lacks.
    return cache.ScriptCall(
        SLIDING_COUNTER,
        SLIDING_COUNTER_SHA,
        (key,),
        (sub_us, limit, SUBWINDOWS, cost),
    )


class AnonWindowThrottle(AnonRateThrottle):
    """The API's one anonymous rate (scope "anon", API_ANON_RATE)."""

    scope = "anon"

    @staticmethod
    def get_ident(request) -> str:
        return client_address(request) or "unknown"

    @classmethod
    def anonymous_key(cls, request) -> str:
        """get_cache_key's answer for an anonymous user (no DRF request or throttle
        object needed)."""
        return cls.cache_format % {"scope": cls.scope, "ident": cls.get_ident(request)}

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

    def script_call(self, key: str, cost: int = 1) -> cache.ScriptCall:
        """The counter's call for ``key`` at this throttle's rate, ``cost`` tokens."""
        head, sub_us, limit = _window(_prefix(), self.num_requests, self.duration)
        return _counter_call(head + key, sub_us, limit, cost)

    @classmethod
    def request_call(cls, request) -> cache.ScriptCall | None:
        """``script_call`` of an anonymous ``request``'s key, cost 1, without making
        a throttle (the fast path's per-request cost); None when the scope has no
        rate. The rate is read from THROTTLE_RATES now (tests patch it), only its
        parsing is memoised."""
        rate = cls.THROTTLE_RATES.get(cls.scope)
        if rate is None:
            return None
        head, sub_us, limit = _rate_window(_prefix(), rate)
        return _counter_call(head + cls.anonymous_key(request), sub_us, limit, 1)

    def count(self, key: str, cost: int = 1):
        """Run the script; False when Redis cannot be reached (fail open)."""
        if not redis_guard.available():
            return False
        try:
            reply = cache.run(self.script_call(key, cost))
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
        allowed, _counted, wait_us = (int(v) for v in reply)
        self._wait = None if allowed else max(1.0, wait_us / 1_000_000)
        return bool(allowed)

    @staticmethod
    def admitted(reply) -> bool:
        """``decide`` without keeping the wait (the fast path only needs yes/no)."""
        return not reply or bool(int(reply[0]))

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


def spend(request, tokens: int) -> None:
    """Charge the anonymous client of ``request`` ``tokens`` more in the anon bucket
    (the part of an expensive request's cost beyond the 1 its admission counted).
    Raises DRF's Throttled (a 429 with Retry-After) when the bucket cannot take
    them; nothing is charged then. Signed-in users, no rate, or Redis down: free."""
    throttle = AnonWindowThrottle()
    if tokens < 1 or throttle.rate is None:
        return
    key = throttle.get_cache_key(request, None)
    if key is None:
        return  # a signed-in user
    reply = throttle.count(key, tokens)
    if not throttle.decide(reply):
        raise Throttled(throttle.wait())


class ExportThrottle(AnonWindowThrottle):
    """Exports are large: their own, tighter rate (scope "export", API_EXPORT_RATE)."""

    scope = "export"
