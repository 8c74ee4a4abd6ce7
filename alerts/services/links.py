"""The signed links of a subscription: what an email or the data page points at.

Each link carries the subscription's random public id, signed with SECRET_KEY and a
salt per purpose, so a link made for the calendar cannot unsubscribe and a changed
character is refused. Only the confirmation link expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse

from alerts.models import Subscription
from commutes.services.routes import DAY_SETS
from core.local_time import SEATTLE

CONFIRM_MAX_AGE = timedelta(days=7)
PURPOSES = ("confirm", "manage", "unsubscribe", "renew", "calendar")


class BadLink(Exception):
    """A link that was altered, expired, or whose subscription is gone."""


def _signer(purpose: str) -> signing.Signer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    salt = f"alerts.{purpose}"
    if purpose == "confirm":
        return signing.TimestampSigner(salt=salt)
    return signing.Signer(salt=salt)


def token(subscription: Subscription, purpose: str) -> str:
    return _signer(purpose).sign(str(subscription.public_id))


def subscription_for(value: str, purpose: str) -> Subscription:
    """The subscription a link names, or BadLink saying why not."""
    signer = _signer(purpose)
    try:
        if purpose == "confirm":
            public_id = signer.unsign(value, max_age=CONFIRM_MAX_AGE)
        else:
            public_id = signer.unsign(value)
    except signing.SignatureExpired:
        raise BadLink("this confirmation link has expired; subscribe again") from None
    except signing.BadSignature:
        raise BadLink("this link is not one we made (was it cut short?)") from None
    found = Subscription.objects.filter(public_id=public_id).first()
    if found is None:
        raise BadLink("nothing is stored for this link any more") from None
    return found


def url(subscription: Subscription, purpose: str) -> str:
    """The absolute address of a link, for emails and calendar apps."""
    path = reverse(f"alerts:{purpose}", args=[token(subscription, purpose)])
    return settings.SITE_URL + path


def days_word(days: list[int]) -> str:
    """The page's word for a set of days, or "all" (the page has no other)."""
    chosen = frozenset(days)
    for word in ("weekdays", "weekends"):
        if chosen == DAY_SETS[word]:
            return word
    return "all"


def commute_url(sub: Subscription, depart: datetime | None = None) -> str:
    """The commute page scoring this commute (at ``depart``, Seattle time)."""

    def lat_lon(p):
        return f"{p[1]:.5f},{p[0]:.5f}"

    query = {
        "start": lat_lon(sub.points[0]),
        "end": lat_lon(sub.points[-1]),
        "mode": sub.mode,
        "from": f"{sub.window_start:%H:%M}",
        "to": f"{sub.window_end:%H:%M}",
        "days": days_word(sub.days),
    }
    if len(sub.points) > 2:
        query["via"] = ";".join(lat_lon(p) for p in sub.points[1:-1])
    if depart is not None:
        query["depart"] = depart.astimezone(SEATTLE).strftime("%Y-%m-%dT%H:%M")
    return settings.SITE_URL + reverse("commutes:commute") + "?" + urlencode(query)
