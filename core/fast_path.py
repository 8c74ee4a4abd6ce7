"""One fast path for warm, cacheable, anonymous API reads (history and forecasts).

Why it exists: a warm history grid or q8 forecast answer is already a cached body, yet
the full stack around it (eight middlewares, DRF dispatch, authentication, the version
and ETag lookups, for forecasts two SQL queries) cost as much as sending the bytes:
the endpoints served 0.35-0.51 (history) and 0.44 (forecast q8) of the requests/s of a
static file of the same bytes (docs/benchmarks.md). This middleware answers a repeated
anonymous GET/HEAD of an opted-in view with one Redis round trip and no SQL.

How it works:

- A view opts in with a class attribute ``fast_path = Cacheable(...)``: the cache
  scopes its answers depend on (core.cache: ``data``, ``areas``, ``forecasts``,
  ``grid``...), which request headers the answer varies on, whether it also depends on
  the current hour. Only views with AllowAny permissions and exactly the API's
  anonymous throttle are served here (anything else is not a cache hit).
- The full stack runs as before on a miss. On its way out, a 200 to an eligible GET
  is recorded: the headers exactly as the inner middlewares and the view made them,
  in Redis under the response key (core.cache.request_key: scheme, host, path, query
  in a normal order, varying headers) plus the versions read *before* the view ran (so
  a change that lands during the request only ever makes the entry unreachable, never
  wrong) and the hour when hourly; the body in this process's memory under its SHA-1
  (a 2.4 MB forecast is not fetched from Redis on every hit). Only 200s are recorded,
  so a 400 is never a hit.
- An eligible request does one round trip, one script: the versions and the entry at
  them (core.cache's lookup) and the anonymous throttle's counter (core.throttling).
  If there is an entry and the body is here, the answer is a replay of the recorded
  200, or a 304 built from its headers when If-None-Match is exactly its ETag.
  Otherwise (missing, throttled, an unusual conditional request) the request continues
  down the normal stack with its throttle reply attached, so the view's throttle does
  not count it twice.
- Redis down (core.redis_guard): the request goes down the normal stack, which serves
  it without the cache; nothing is recorded.

The middleware sits after SecurityMiddleware (HTTPS redirect, its headers apply to
every answer) and before the session/auth stack. tests/test_fast_path_equality.py
collects every opted-in view from the URLconf and checks that its answers (hits,
misses, 304, HEAD, Accept, the hourly default, after imports, activations and deletes)
are identical to the answers of the site with no cache at all;
tests/test_api_fast_path.py covers 400s, 429s, gzip and who is served.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.http import parse_etags
from rest_framework.permissions import AllowAny

from core import cache, redis_guard, throttling
from core.throttling import PRECOUNTED, AnonWindowThrottle

# Process memory for bodies, by SHA-1 (shared by every route and version).
MAX_MEMO_BYTES = 96 * 1024 * 1024
ENTRY_NAME = "response"
# Conditional headers the fast path does not evaluate itself (the view does).
_OTHER_CONDITIONS = ("HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_RANGE")
# Headers a 200 carries that its 304 does not (Content-Length becomes 0).
_BODY_HEADERS = frozenset({"content-type", "content-encoding", "content-length"})


@dataclass(frozen=True)
class Cacheable:
    """A view's promise: its successful anonymous GET answers are a pure function of
    (core.cache.request_key with ``vary``, the versions of ``scopes``, [the hour])."""

    scopes: tuple[str, ...]  # core.cache scopes whose data the answers are built from
    vary: tuple[str, ...] = ()  # request headers the body depends on, e.g. Accept
    hourly: bool = False  # e.g. "start defaults to the current hour"

    def __post_init__(self) -> None:
        unknown = set(self.scopes) - set(cache.SCOPES)
        if not self.scopes or unknown:
            raise ValueError(f"Cacheable needs known scopes, got {self.scopes}")


_routes: dict[str, Cacheable | None] = {}
# Content-addressed, so never stale: an entry (read at the current versions) names it.
_memo = cache.ProcessLRU(max_bytes=MAX_MEMO_BYTES)


def route_for(path_info: str) -> Cacheable | None:
    """The view's Cacheable if the fast path may answer for it (memoised by path)."""
    if path_info in _routes:
        return _routes[path_info]
    spec = None
    try:
        view = getattr(resolve(path_info).func, "view_class", None)
    except Resolver404:
        view = None
    candidate = getattr(view, "fast_path", None)
    if isinstance(candidate, Cacheable) and (
        all(p is AllowAny for p in view.permission_classes)
        and list(view.throttle_classes) == [AnonWindowThrottle]
    ):
        spec = candidate
    if len(_routes) < 512:  # arbitrary paths (scanners) must not grow it unbounded
        _routes[path_info] = spec
    return spec


def clear_memo() -> None:
    _memo.clear()
    _routes.clear()


def _anonymous(request) -> bool:
    return (
        settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "HTTP_AUTHORIZATION" not in request.META
    )


def _recorded(raw: bytes | None) -> tuple[str, list] | None:
    """(body digest, headers) of an entry; None when there is none or it was written by
    another release of the code."""
    if raw is None:
        return None
    try:
        digest, headers = pickle.loads(raw)
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError):
        return None
    return digest, headers


def _suffix(spec: Cacheable) -> str:
    # The same clock as the views' "current hour" (django.utils.timezone.now).
    return f"h{int(timezone.now().timestamp() // 3600)}" if spec.hourly else ""


def _replay(
    request, headers: list[tuple[str, str]], body: bytes
) -> HttpResponse | None:
    """The recorded 200, a 304 for an exact If-None-Match, or None: let the view decide.

    Both views answer an If-None-Match equal to their ETag with a 304 (If-Modified-Since
    is ignored then, RFC 9110 13.2.2) and a strong ETag list without it with a 200;
    weak, "*" and list forms, and the other preconditions, go to the view.
    """
    if any(name in request.META for name in _OTHER_CONDITIONS):
        return None
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    etag = next((v for k, v in headers if k.lower() == "etag"), None)
    if if_none_match is not None:
        if if_none_match == etag:
            response = HttpResponseNotModified()
            for name, value in headers:
                if name.lower() not in _BODY_HEADERS:
                    response[name] = value
            response["Content-Length"] = "0"
            return response
        tags = parse_etags(if_none_match)
        if not tags or "*" in tags or any(t.startswith("W/") for t in tags):
            return None
        if etag is None or etag in tags:
            return None
    elif "HTTP_IF_MODIFIED_SINCE" in request.META:
        return None
    return HttpResponse(body, headers=dict(headers))


# The cache lookup and the anon throttle's counter in ONE script: one command and one
# reply in the pipeline instead of two (the second command cost more in redis-py's
# packing and parsing than in Redis). Reply: the lookup's {token, entry} followed by
# the counter's {allowed, counted, wait}; the counter runs whatever the lookup found,
# exactly once per request, as it did as its own script.
_LOOKUP_AND_COUNT = (
    cache.LOOKUP_FUNCTION
    + throttling.COUNTER_FUNCTION
    + """
local n = #KEYS - 1
local found = lookup({unpack(KEYS, 1, n)}, ARGV[1], ARGV[2], ARGV[3])
local counted = sliding_counter(KEYS[n + 1], ARGV[4], ARGV[5], ARGV[6])
return {found[1], found[2], counted[1], counted[2], counted[3]}
"""
)
_LOOKUP_AND_COUNT_SHA = cache.sha_of(_LOOKUP_AND_COUNT)


def _lookup_and_count(
    lookup: cache.ScriptCall, counter: cache.ScriptCall
) -> cache.ScriptCall:
    """The two calls as one: the lookup's KEYS then the counter's, likewise ARGV."""
    return cache.ScriptCall(
        _LOOKUP_AND_COUNT,
        _LOOKUP_AND_COUNT_SHA,
        lookup.keys + counter.keys,
        lookup.argv + counter.argv,
    )


class ApiFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method not in ("GET", "HEAD")
            or not _anonymous(request)
            or cache.bypassed()
        ):
            return self.get_response(request)
        spec = route_for(request.path_info)
        if spec is None:
            return self.get_response(request)
        try:
            key = cache.request_key(request, spec.vary)
        except DisallowedHost:
            return self.get_response(request)  # the normal stack answers the 400
        if not redis_guard.available():
            return self.get_response(request)  # served without the cache

        base = cache.entry_key(ENTRY_NAME, key)
        suffix = _suffix(spec)
        call = cache.lookup_call(spec.scopes, base, suffix)
        counter = AnonWindowThrottle.request_call(request)
        if counter is not None:
            call = _lookup_and_count(call, counter)
        try:
            reply = cache.run(call)
        except redis_guard.ERRORS as exc:
            redis_guard.failed(exc, "fast path: served by the full stack")
            return self.get_response(request)
        redis_guard.succeeded()
        versions, raw = cache.read_lookup(spec.scopes, reply[:2])
        allowed = True
        if counter is not None:
            setattr(request, PRECOUNTED, reply[2:])
            allowed = AnonWindowThrottle.admitted(reply[2:])
        recorded = _recorded(raw) if allowed else None
        if recorded is not None:
            digest, headers = recorded
            body = _memo.get(digest)
            if body is not None:
                response = _replay(request, headers, body)
                if response is not None:
                    return response

        response = self.get_response(request)
        if (
            request.method == "GET"
            and response.status_code == 200
            and not response.streaming
            and not response.cookies
            and "private" not in response.get("Cache-Control", "")
            and "no-store" not in response.get("Cache-Control", "")
        ):
            self.record(base, cache.token_of(versions) + ":" + suffix, response)
        return response

    @staticmethod
    def record(base: str, token: str, response: HttpResponse) -> None:
        body = response.content
        if len(body) > settings.CACHE_MAX_ENTRY_BYTES:
            return  # assembled per request instead (forecast weeks: ~20 MB of JSON)
        digest = hashlib.sha1(body).hexdigest()
        _memo.put(digest, body, len(body))
        value = pickle.dumps((digest, list(response.items())))
        try:
            cache.redis_client().set(base + token, value, ex=cache.entry_timeout())
        except redis_guard.ERRORS as exc:
            redis_guard.failed(exc, "fast path: answer not recorded")
