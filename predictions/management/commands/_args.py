"""Argument parsing shared by the predictions commands (clear errors, exit code 1)."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import CommandError

from core.local_time import as_aware
from predictions.models import Category
from predictions.services.forecast_store import MAX_HOURS


def iso_time(value: str, name: str) -> datetime:
    """ISO 8601; a naive time is Seattle local (DESIGN "Time")."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{name}: {value!r} is not an ISO 8601 time (e.g. 2021-12-01T00:00)"
        ) from None
    return as_aware(moment)


def hours(value: int, name: str = "--hours") -> int:
    if not 1 <= value <= MAX_HOURS:
        raise CommandError(f"{name} must be between 1 and {MAX_HOURS}, got {value}")
    return value


def category(value: str) -> str:
    if value not in Category.values:
        raise CommandError(
            f"--category must be one of {', '.join(Category.values)}, got {value!r}"
        )
    return value
