"""Gzip for the API's large JSON, GeoJSON and CSV answers.

A warm ``history/grid/`` answer of 150 m cells is ~200 KB of JSON, sent uncompressed
to every client (issue 10). Behind the proxy nginx compresses; this middleware does
it for a deployment without one. It sits outside core.fast_path, so a replayed
answer is compressed exactly like a fresh one; the same body is only compressed once
per process (an LRU keyed by its digest), because replays repeat a few bodies many
times. The output is deterministic (no timestamp, no random filename, which Django's
GZipMiddleware adds against BREACH): these bodies hold no secret to guess at, and
identical bytes keep the with-and-without-cache comparisons exact. Answers that are
already encoded (forecasts gzip their own), streamed (exports), small, or larger
than MAX_BYTES pass as they are: compressing megabytes per request costs a worker
more than it saves on the wire (a forecast week as GeoJSON, ~15 MB, took seconds;
issue 16); nginx compresses those in front, outside the web process. Bodies of
LARGE_BYTES or more are compressed at level 1, not 6: a forecast's GeoJSON for a few
hours is ~3 MB (its cells' geometries), which level 6 took 200 ms of a worker to
compress under load 14 and level 1 82 ms, for a body 1.27x larger (0.51 MB, not 0.40).
Bodies of MID_BYTES or more (a routed commute's answer: ~140 KB) are compressed at
level 4: 1.1-1.5 ms for the commute answers of benchmarks/commute_answers.py, where
level 6 took 3.3-3.6 ms, for 7% more bytes (21.0 KB, not 19.6).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

MIN_BYTES = 1024
MAX_BYTES = 4 * 1024 * 1024
TYPES = ("application/json", "application/geo+json", "text/csv")
MEMO_BYTES = 32 * 1024 * 1024
LARGE_BYTES = 1024 * 1024
MID_BYTES = 64 * 1024

_memo: OrderedDict[str, bytes] = OrderedDict()
_memo_size = 0
_lock = threading.Lock()


def compressed(body: bytes) -> bytes:
    global _memo_size
    digest = hashlib.sha1(body).hexdigest()
    with _lock:
        hit = _memo.get(digest)
        if hit is not None:
            _memo.move_to_end(digest)
            return hit
    level = _level(len(body))
    packed = gzip.compress(body, compresslevel=level, mtime=0)
    with _lock:
        if digest not in _memo:
            _memo[digest] = packed
            _memo_size += len(packed)
            while _memo_size > MEMO_BYTES:
                _memo_size -= len(_memo.popitem(last=False)[1])
    return packed


def _level(size: int) -> int:
    """Less effort the larger the body: its time grows with it, its saving less."""
    if size >= LARGE_BYTES:
        return 1
    return 4 if size >= MID_BYTES else 6


class ApiGzipMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        content_type = response.get("Content-Type", "").split(";")[0].strip()
        if (
            response.status_code != 200
            or response.streaming
            or content_type not in TYPES
            or response.has_header("Content-Encoding")
            or not MIN_BYTES <= len(response.content) <= MAX_BYTES
        ):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if "gzip" not in request.headers.get("Accept-Encoding", ""):
            return response
        packed = compressed(response.content)
        if len(packed) >= len(response.content):
            return response
        response.content = packed
        response["Content-Length"] = str(len(packed))
        response["Content-Encoding"] = "gzip"
        etag = response.get("ETag")
        if etag and not etag.startswith("W/"):
            # Another representation of the same answer (RFC 9110 8.8.1).
            response["ETag"] = "W/" + etag
        return response
