"""The words of every email: (subject, plain text, HTML), from templates.

Every email but the confirmation links to the data page ("see and delete my data")
and carries a one-click unsubscribe link; no image, no tracking, no redirect: links go
straight to the page they name.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from alerts.models import Subscription
from alerts.services import links

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
