"""Version counters in the shared cache that derived-data caches key on.

An import bumps the data version, a forecast write bumps the forecast version, and every
cached answer built from them names the version it was built at. When Redis loses a
counter it restarts from the clock in milliseconds, never from 1, so it cannot repeat a
value that some process-level cache still holds entries for.
"""

from __future__ import annotations

import time

from django.core.cache import cache


def read_version(key: str) -> int:
    version = cache.get(key)
    if version is None:
        cache.add(key, int(time.time() * 1000), timeout=None)
        version = cache.get(key)
    return int(version)


def bump_version(key: str) -> int:
    try:
        return int(cache.incr(key))
    except ValueError:  # lost: restart from the clock
        return read_version(key)
