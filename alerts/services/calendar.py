"""A subscription's calendar feed (iCalendar, RFC 5545): the best departure of each
chosen day of the forecast week as an event lasting the trip, with the commute
page's link. Calendar apps poll it; it asks for an hourly refresh (the forecast is
recomputed hourly) and is cached until the forecast changes (core.cache)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vDuration

from alerts.models import Subscription
from alerts.services import links
from alerts.services.commute_scores import best_by_day
from alerts.services.notes_text import MODE_WORD
from alerts.services.planning import key_of
from core.cache import FORECASTS, GRID, STREETS, VersionedCache

_FEEDS = VersionedCache(
    "notes-calendar", (FORECASTS, GRID, STREETS), shared=True, timeout=3600
)


def _events(sub: Subscription) -> list[dict]:
    from predictions.services.forecast_store import NoForecast

    try:
        days, _ = _FEEDS.get(key_of(sub), lambda: best_by_day(key_of(sub)))
    except NoForecast:
        return []
    return days


def feed(sub: Subscription) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Crime Predict//Commute notes//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Best time to leave ({sub.mode})")
    cal.add(
        "refresh-interval",
        vDuration(timedelta(hours=1)),
        parameters={"VALUE": "DURATION"},
    )
    cal.add("x-published-ttl", "PT1H")
    stamp = timezone.now()
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0]
    for day in _events(sub):
        depart = datetime.fromisoformat(day["departure"])
        event = Event()
        event.add("uid", f"{sub.public_id}-{day['date']}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", depart)
        event.add("dtend", depart + timedelta(minutes=max(day["duration_min"], 1)))
        event.add(
            "summary", f"Leave now: best time for your commute {MODE_WORD[sub.mode]}"
        )
        url = links.commute_url(sub, depart)
        event.add(
            "description",
            f"About {day['expected']:.2g} expected reported incidents along the way "
            f"(the forecast's best departure in your window). On the map: {url}",
        )
        event.add("url", url)
        cal.add_component(event)
    return cal.to_ical()
