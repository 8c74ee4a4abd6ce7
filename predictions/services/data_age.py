"""How old the forecast and its data are, in the words every page uses.

The bundled extract ends with 2021, so the newest forecast week is years before
today: a page must say which week it shows and how far the data goes, and "today"
on a page means the forecast's first day, not the visitor's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from core.local_time import SEATTLE, day_words, floor_hour
from crimes.services.summary import data_summary
from predictions.services import forecast_store

# Newer data than this before the forecast's first hour is "fresh": reports reach
# the SPD file a day or two after the offense.
FRESH_FOR = timedelta(days=3)


@dataclass(frozen=True)
class ForecastAge:
    first_hour: datetime  # aware UTC, the forecast's first hour
    last_hour: datetime  # aware UTC, the start of its last hour
    data_through: datetime | None  # the newest report loaded
    old: bool  # the week shown is not the current one, or the data is late

    @property
    def second_day(self) -> datetime:
        """The forecast's second day (a page's "Tomorrow")."""
        return self.first_hour + timedelta(days=1)

    @property
    def words(self) -> str:
        """'forecast week: Sat 1 Jan 2022 to Fri 7 Jan 2022; data through ...'."""
        first, last = day_words(self.first_hour), day_words(self.last_hour)
        text = (
            f"forecast week: {first} to {last}"
            if first != last
            else f"forecast for {first}"
        )
        if self.data_through:
            text += f"; data through {day_words(self.data_through)}"
        return text

    def as_config(self) -> dict:
        """What a page's script needs to say 'Today' only when it is today."""
        return {
            "firstHour": self.first_hour.astimezone(SEATTLE).isoformat(),
            "lastHour": self.last_hour.astimezone(SEATTLE).isoformat(),
            "dataThrough": self.data_through.isoformat() if self.data_through else None,
            "old": self.old,
            "words": self.words,
        }


def forecast_age(now: datetime | None = None) -> ForecastAge | None:
    """The week the pages show by default (forecast_store.default_start), or None
    when there is no forecast yet."""
    version = forecast_store.active_version()
    run = forecast_store.newest_run(version.pk) if version else None
    if run is None:
        return None
    now = floor_hour(now or timezone.now())
    first = forecast_store.default_start(version.pk, now)
    hours = max(1, run.hours)
    last = first + timedelta(hours=hours - 1)
    through = data_summary().last_reported
    late = through is None or first - through > FRESH_FOR
    return ForecastAge(
        first_hour=first,
        last_hour=last,
        data_through=through,
        old=first != now or late,
    )
