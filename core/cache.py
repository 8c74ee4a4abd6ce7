"""Version counters in the shared cache that derived-data caches key on.

An import bumps the data version, a forecast write bumps the forecast version, and every
cached answer built from them names the version it was built at. When Redis loses a
counter it restarts from the clock in milliseconds, never from 1, so it cannot repeat a
value that some process-level cache still holds entries for.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import transaction

# Every import bumps the data version; caches of anything derived from incidents key
# on it.
DATA_VERSION_KEY = "crimes:data-version"
# Bumped whenever a forecast read can answer differently (rows written, another
# model version activated).
FORECAST_VERSION_KEY = "predictions:forecast-version"


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


def data_version() -> int:
    return read_version(DATA_VERSION_KEY)


def bump_data_version() -> int:
    return bump_version(DATA_VERSION_KEY)


def forecast_version() -> int:
    return read_version(FORECAST_VERSION_KEY)


def bump_forecast_version() -> None:
    """Bump now and again after the current transaction commits: a read between the
    two may see the old rows, and the second bump retires what it cached."""
    bump_version(FORECAST_VERSION_KEY)
    transaction.on_commit(lambda: bump_version(FORECAST_VERSION_KEY))
