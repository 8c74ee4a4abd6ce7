"""One fast path for warm, cacheable, anonymous API reads (history and forecasts).

Why it exists: a warm history grid or q8 forecast answer is already a cached body, yet
the full stack around it (eight middlewares, DRF dispatch, authentication, the version
and ETag lookups, for forecasts two SQL queries) cost as much as sending the bytes:
the endpoints served 0.35-0.51 (history) and 0.44 (forecast q8) of the requests/s of a
static file of the same bytes (docs/benchmarks.md). This middleware answers a repeated
anonymous GET/HEAD of an opted-in view with one Redis round trip and no SQL.

How it works:

- A view opts in with a class attribute ``fast_path = Cacheable(...)``: which Redis
  integer is bumped whenever its answers can change (crimes' data version, the
  forecast version), which request headers the answer varies on, whether it also
  depends on the current hour. Only views with AllowAny permissions and exactly the
  fixed-window anonymous throttle are served here (anything else is not a cache hit).
- The full stack runs as before on a miss. On its way out, a 200 to an eligible GET
  is recorded: the headers exactly as the inner middlewares and the view made them,
  in Redis under a key of (host, path, query in a normal order, varying headers),
  stamped with the version token read *before* the view ran (so a change that lands
  during the request only ever makes the entry stale-on-arrival, never wrong); the
  body in this process's memory under its SHA-1 (a 2.4 MB forecast is not fetched
  from Redis on every hit). Only 200s are recorded, so a 400 is never a hit.
- An eligible request does one pipelined round trip: GET the version, GET the entry,
  INCR + EXPIRE the throttle window. If the entry's token is current and the body is
  here, the answer is a replay of the recorded 200, or a 304 built from its headers
  when If-None-Match is exactly its ETag. Otherwise (stale, missing, throttled, an
  unusual conditional request) the request continues down the normal stack with its
  throttle count attached, so the view's throttle does not count it twice.

The middleware sits after SecurityMiddleware (HTTPS redirect, its headers apply to
every answer) and before the session/auth stack. tests/test_api_fast_path.py checks
that every answer (hits, misses, 304, 400, 429, HEAD, gzip) is identical with and
without it.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import Resolver404, resolve
from django.utils.http import parse_etags
from rest_framework.permissions import AllowAny

from core.throttling import PRECOUNTED, AnonWindowThrottle, redis_client

# Process memory for bodies, by SHA-1 (shared by every route and version).
MAX_MEMO_BYTES = 96 * 1024 * 1024
MAX_BODY_BYTES = 24 * 1024 * 1024
ENTRY_PREFIX = "fastpath:"
# Conditional headers the fast path does not evaluate itself (the view does).
_OTHER_CONDITIONS = ("HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_RANGE")
# Headers a 200 carries that its 304 does not (Content-Length becomes 0).
_BODY_HEADERS = frozenset({"content-type", "content-encoding", "content-length"})


@dataclass(frozen=True)
class Cacheable:
    """A view's promise: its successful anonymous GET answers are a pure function of
    (host, path, query, the ``vary`` request headers, the version, [the hour])."""

    version_key: str  # Django cache key of an integer bumped on every change
    current_version: Callable[[], int]  # reads it, creating it when missing
    vary: tuple[str, ...] = ()  # request headers the body depends on, e.g. Accept
    hourly: bool = False  # e.g. "start defaults to the current hour"


_routes: dict[str, Cacheable | None] = {}
_memo: OrderedDict[str, bytes] = OrderedDict()
_memo_bytes = 0
_memo_lock = threading.Lock()


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


def _memo_get(digest: str) -> bytes | None:
    with _memo_lock:
        body = _memo.get(digest)
        if body is not None:
            _memo.move_to_end(digest)
        return body


def _memo_put(digest: str, body: bytes) -> None:
    global _memo_bytes
    with _memo_lock:
        if digest in _memo:
            return
        _memo[digest] = body
        _memo_bytes += len(body)
        while _memo_bytes > MAX_MEMO_BYTES:
            _memo_bytes -= len(_memo.popitem(last=False)[1])


def clear_memo() -> None:
    global _memo_bytes
    with _memo_lock:
        _memo.clear()
        _memo_bytes = 0
    _routes.clear()


def _anonymous(request) -> bool:
    return (
        settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "HTTP_AUTHORIZATION" not in request.META
    )


def _entry_key(request, host: str, spec: Cacheable) -> str:
    query = sorted(request.GET.lists())  # keys in order; repeated values keep theirs
    varying = [request.headers.get(name, "") for name in spec.vary]
    raw = repr((host, request.path, query, varying))
    return cache.make_key(ENTRY_PREFIX + hashlib.sha1(raw.encode()).hexdigest())


def _token(spec: Cacheable, raw_version) -> str:
    version = int(raw_version) if raw_version is not None else spec.current_version()
    if spec.hourly:
        return f"{version}:{int(time.time() // 3600)}"
    return str(version)


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


class ApiFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD") or not _anonymous(request):
            return self.get_response(request)
        spec = route_for(request.path_info)
        if spec is None:
            return self.get_response(request)
        try:
            host = request.get_host()
        except DisallowedHost:
            host = None
        if host is None:
            return self.get_response(request)  # the normal stack answers the 400

        throttle = AnonWindowThrottle()
        entry_key = _entry_key(request, host, spec)
        pipe = redis_client().pipeline(transaction=False)
        pipe.get(cache.make_key(spec.version_key))
        pipe.get(entry_key)
        counted = throttle.rate is not None
        if counted:
            throttle.queue(pipe, throttle.anonymous_key(request))
        results = pipe.execute()
        token = _token(spec, results[0])
        allowed = True
        if counted:
            setattr(request, PRECOUNTED, results[2])
            allowed = results[2] <= throttle.num_requests
        if allowed and results[1] is not None:
            entry_token, digest, headers = pickle.loads(results[1])
            body = _memo_get(digest) if entry_token == token else None
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
            self.record(entry_key, token, response)
        return response

    @staticmethod
    def record(entry_key: str, token: str, response: HttpResponse) -> None:
        body = response.content
        if len(body) > MAX_BODY_BYTES:
            return
        digest = hashlib.sha1(body).hexdigest()
        _memo_put(digest, body)
        entry = pickle.dumps((token, digest, list(response.items())))
        timeout = settings.CACHES["default"].get("TIMEOUT") or 3600
        redis_client().set(entry_key, entry, ex=int(timeout))
