""" "No cache at all": the reference every cached answer is compared with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_bypass: ContextVar[bool] = ContextVar("core_cache_bypass", default=False)


@contextmanager
def uncached() -> Iterator[None]:
    """Inside, every cache of core.cache (and the fast path) computes afresh and
    stores nothing."""
    token = _bypass.set(True)
    try:
        yield
    finally:
        _bypass.reset(token)


def bypassed() -> bool:
    return _bypass.get()
