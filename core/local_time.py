"""Seattle time for Django code: every stored instant is aware UTC, every date or
clock time a person types or reads is Seattle local (DESIGN "Time").

The zone's name is defined once, in ml.timeutil (ml/ needs it without Django); SQL
that converts to local time uses the same name (``TZ_NAME``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ml.timeutil import TZ_NAME

SEATTLE = ZoneInfo(TZ_NAME)

__all__ = [
    "DAY_FORMAT",
    "DAY_TIME_FORMAT",
    "SEATTLE",
    "TZ_NAME",
    "as_aware",
    "day_words",
    "floor_hour",
    "local_iso",
]

# How a page writes a day: weekday and year always ("Sat 1 Jan 2022"), so a date
# from an old extract never reads as this week's. Django date-format strings; the
# pages' scripts write the same with Intl en-GB {weekday, day, month: short, year}.
DAY_FORMAT = "D j M Y"
DAY_TIME_FORMAT = "D j M Y, H:i"


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


def day_words(moment: datetime | date) -> str:
    """'Sat 1 Jan 2022': the day of an instant on Seattle's clock (or a date)."""
    if isinstance(moment, datetime):
        moment = as_aware(moment).astimezone(SEATTLE)
    return f"{moment:%a} {moment.day} {moment:%b %Y}"
