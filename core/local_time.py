"""Seattle time for Django code: every stored instant is aware UTC, every date or
clock time a person types or reads is Seattle local (DESIGN "Time").

The zone's name is defined once, in ml.timeutil (ml/ needs it without Django); SQL
that converts to local time uses the same name (``TZ_NAME``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ml.timeutil import TZ_NAME

SEATTLE = ZoneInfo(TZ_NAME)

__all__ = ["SEATTLE", "TZ_NAME", "as_aware", "floor_hour", "local_iso"]


def as_aware(moment: datetime) -> datetime:
    """The instant in UTC; a naive datetime is read as Seattle local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SEATTLE)
    return moment.astimezone(UTC)


def floor_hour(moment: datetime) -> datetime:
    """The start of the hour holding ``moment`` (Seattle's offsets are whole hours,
    so the UTC hour and the local hour start together)."""
    return moment.replace(minute=0, second=0, microsecond=0)


def local_iso(moment: datetime) -> str:
    """ISO 8601 text of the instant on Seattle's clock, with its offset."""
    return moment.astimezone(SEATTLE).isoformat()
