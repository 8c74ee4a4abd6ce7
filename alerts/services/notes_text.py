"""The words of every email: (subject, plain text, HTML), from templates.

Every email but the confirmation links to the data page ("see and delete my data")
and carries a one-click unsubscribe link; no image, no tracking, no redirect: links go
straight to the page they name.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from alerts.models import Subscription
from alerts.services import links
from alerts.services.commute_scores import DayScore
from commutes.services.commute_payload import NOTE
from core.local_time import SEATTLE

MODE_WORD = {
    "walk": "on foot",
    "bike": "by bike",
    "drive": "by car",
    "transit": "by transit",
}


def _render(name: str, context: dict) -> tuple[str, str]:
    text = render_to_string(f"alerts/email/{name}.txt", context)
    html = render_to_string(f"alerts/email/{name}.html", context)
    return text, html


def _common(sub: Subscription) -> dict:
    return {
        "sub": sub,
        "mode_word": MODE_WORD.get(sub.mode, sub.mode),
        "window": f"{sub.window_start:%H:%M}–{sub.window_end:%H:%M}",
        "manage_url": links.url(sub, "manage"),
        "unsubscribe_url": links.url(sub, "unsubscribe"),
        "privacy_url": settings.SITE_URL + reverse("alerts:privacy"),
    }


def confirmation(sub: Subscription) -> tuple[str, str, str]:
    context = {**_common(sub), "confirm_url": links.url(sub, "confirm")}
    text, html = _render("confirm", context)
    return "Confirm your commute notes", text, html


def renewal(sub: Subscription, delete_on) -> tuple[str, str, str]:
    context = {
        **_common(sub),
        "renew_url": links.url(sub, "renew"),
        "delete_on": delete_on,
    }
    text, html = _render("renew", context)
    return "Keep your commute notes?", text, html


def _clock(moment) -> str:
    local = moment.astimezone(SEATTLE)
    return f"{local:%-I:%M %p}".replace("AM", "a.m.").replace("PM", "p.m.")


def _times(value: float) -> str:
    return f"{value:.1f}×"


def daily(sub: Subscription, score: DayScore) -> tuple[str, str, str]:
    """The note before the window: the best time, the safer way, the unusual."""
    leave = _clock(score.departure)
    context = {
        **_common(sub),
        "day": score.day,
        "leave": leave,
        # The commute page's sentences, word for word (commute_words).
        "standing": score.standing,
        "one_in_n": score.one_in_n,
        "duration": round(score.duration_min),
        "alternative": score.alternative,
        "alternative_streets": ", ".join(score.alternative.streets[:3])
        if score.alternative
        else "",
        "unusual": _times(score.unusual) if score.unusual else None,
        "commute_url": links.commute_url(sub, score.departure),
        "note": NOTE,
    }
    text, html = _render("daily", context)
    subject = f"Leave at {leave} {MODE_WORD.get(sub.mode, sub.mode)}"
    if score.alternative:
        subject += ", and take the safer way"
    if score.unusual:
        subject += " (busier than usual)"
    return subject, text, html


def no_forecast(sub: Subscription, day) -> tuple[str, str, str]:
    context = {
        **_common(sub),
        "day": day,
        "commute_url": links.commute_url(sub),
    }
    text, html = _render("no_forecast", context)
    return "No forecast for your commute yet", text, html


def weekly(sub: Subscription, days: list[dict]) -> tuple[str, str, str]:
    rows = [
        {
            "date": date.fromisoformat(d["date"]),
            "leave": _clock(datetime.fromisoformat(d["departure"])),
            "expected": f"{d['expected']:.2g}",
            "url": links.commute_url(sub, datetime.fromisoformat(d["departure"])),
        }
        for d in days
    ]
    text, html = _render("weekly", {**_common(sub), "rows": rows, "note": NOTE})
    return "Your commute this week: the best times to leave", text, html
