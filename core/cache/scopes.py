"""The kinds of data answers are built from, each with a version counter in Redis."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.cache import cache

DATA = "data"
AREAS = "areas"
GRID = "grid"
FORECASTS = "forecasts"
MODELS = "models"
STREETS = "streets"
SCOPES = (DATA, AREAS, GRID, FORECASTS, MODELS, STREETS)


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted(set(scopes) - set(SCOPES))


def version_key(scope: str) -> str:
    if scope not in SCOPES:
        raise ValueError(f"unknown cache scope {scope!r}; one of {SCOPES}")
    return cache.make_key(f"version:{scope}")


_version_keys: dict[tuple[str, ...], tuple[str, ...]] = {}


def keys_of(scopes: Sequence[str]) -> tuple[str, ...]:
    """The Redis keys of ``scopes``' counters (memoised: asked on every request)."""
    found = _version_keys.get(tuple(scopes))
    if found is None:
        found = _version_keys[tuple(scopes)] = tuple(version_key(s) for s in scopes)
    return found
