"""Cached JSON bodies of history answers, keyed by the data version.

An import bumps core.cache.data_version(), so every key below changes at
once and a new import is visible on the next request: nothing needs deleting. Old
entries expire on their own (settings CACHE_TIMEOUT).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from core.cache import DATA_VERSION_KEY, data_version

PREFIX = "hist"


def dumps(payload: Any) -> bytes:
    """Compact JSON: the page's data is measured in bytes."""
    return json.dumps(payload, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def version_key(kind: str, key: str, version: int | None = None) -> str:
    version = data_version() if version is None else version
    return f"{PREFIX}:{version}:{kind}:{key}"


def history_etag(kind: str, key: str, version: int) -> str:
    """An ETag that is a pure function of the data version and the request.

    The answer depends on nothing else, so a conditional request can be answered
    without computing (or even fetching) the body.
    """
    digest = hashlib.sha1(f"{kind}\0{key}".encode()).hexdigest()[:20]
    return f'"v{version}-{digest}"'


def cached_value(
    kind: str, key: str, producer: Callable[[], Any], version: int | None = None
) -> Any:
    """The value for (kind, key) at the current data version, computed once (small
    Python values, pickled by the cache)."""
    cache_key = version_key(kind, key, version)
    value = cache.get(cache_key)
    if value is None:
        value = producer()
        cache.set(cache_key, value)
    return value


def request_key(items: list[tuple[str, str]]) -> str:
    """A canonical key of a request's raw parameters (order does not matter)."""
    return "&".join(f"{k}={v}" for k, v in sorted(items))


def _body_key(kind: str, key: str) -> str:
    return f"{PREFIX}:body:{kind}:{hashlib.sha1(key.encode()).hexdigest()}"


def lookup(kind: str, key: str) -> tuple[int, bytes | None]:
    """(current data version, cached body or None) in one Redis round trip.

    The body is stored with the version it was computed at; a body from an older
    version is a miss, so an import makes every answer stale at once.
    """
    values = cache.get_many([DATA_VERSION_KEY, _body_key(kind, key)])
    version = values.get(DATA_VERSION_KEY)
    if version is None:
        version = data_version()
    entry = values.get(_body_key(kind, key))
    if entry is not None and entry[0] == version:
        return int(version), entry[1]
    return int(version), None


def store(kind: str, key: str, version: int, body: bytes) -> None:
    cache.set(_body_key(kind, key), (version, body))
