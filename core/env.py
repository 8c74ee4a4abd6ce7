"""Typed readers for settings that come from the environment.

Each helper refuses a malformed value with ImproperlyConfigured naming the variable,
so a typo in deployment fails at start-up instead of silently meaning something else
(the pattern of healthchecks' ``envbool``).
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"{name} must be set")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_count(name: str, default: int = 0) -> int:
    """A non-negative count that also reads a boolean as 1/0 (``BEHIND_PROXY=1``,
    ``=true``, or ``=2`` for two proxies in a row)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return 1
    if value in _FALSE:
        return 0
    if value.isascii() and value.isdigit():
        return int(value)
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a count; use 0 (none), 1 (or true), 2, ..."
    )


def parse_database_url(name: str, default: str) -> dict:
    """Turn ``postgis://user:pass@host:port/dbname`` into a Django DATABASES entry."""
    raw = os.environ.get(name, default)
    url = urlparse(raw)
    if url.scheme not in {"postgres", "postgresql", "postgis"}:
        raise ImproperlyConfigured(
            f"{name}={raw!r}: scheme must be postgres://, postgresql:// or postgis://"
            " (PostGIS is required; SQLite is not supported)"
        )
    db_name = unquote(url.path.lstrip("/"))
    if not db_name:
        raise ImproperlyConfigured(f"{name}={raw!r} names no database")
    try:
        port = url.port
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} has a bad port") from None
    options = {k: v[-1] for k, v in parse_qs(url.query).items()}
    # An unreachable server must fail a request in seconds (a 503), not hang it.
    options.setdefault("connect_timeout", "5")
    return {
        "ENGINE": "django.contrib.gis.db.backends.postgis",
        "NAME": db_name,
        "USER": unquote(url.username or ""),
        "PASSWORD": unquote(url.password or ""),
        "HOST": url.hostname or "",
        "PORT": str(port or ""),
        "OPTIONS": options,
        "CONN_MAX_AGE": 60,
        # A connection broken by a database restart is noticed and replaced at the
        # start of the next request, so the site recovers by itself.
        "CONN_HEALTH_CHECKS": True,
    }


def check_redis_url(name: str, default: str) -> str:
    raw = os.environ.get(name, default)
    url = urlparse(raw)
    if url.scheme not in {"redis", "rediss"} or not url.hostname:
        raise ImproperlyConfigured(
            f"{name}={raw!r} must look like redis://host:port/db"
        )
    return raw
