"""Keys: what a cached answer is stored under, and ETags that are pure functions."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache


def digest(value: Any) -> str:
    return hashlib.sha1(repr(value).encode()).hexdigest()


def etag(*parts: Any) -> str:
    """A strong ETag that is a pure function of ``parts`` (include the versions)."""
    return '"' + digest(parts)[:20] + '"'


def request_key(request, vary: Sequence[str] = ()) -> tuple:
    """What a cacheable answer to ``request`` depends on besides the data: scheme,
    host, path, the query with its keys in order (a repeated key keeps the order of
    its values: a view may read the last one) and the declared ``vary`` headers."""
    query = tuple((k, tuple(v)) for k, v in sorted(request.GET.lists()))
    varying = tuple(request.headers.get(name, "") for name in vary)
    return (request.scheme, request.get_host(), request.path, query, varying)


def entry_key(name: str, key: Hashable) -> str:
    """The Redis key of a cached entry, without its versions (the lookup adds them)."""
    return cache.make_key(f"{name}:{digest(key)}:")


def entry_timeout() -> int:
    return int(settings.CACHES["default"].get("TIMEOUT") or 3600)
