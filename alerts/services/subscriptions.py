"""Create, confirm, renew and delete subscriptions; the commute page's address of one.

A subscription is made from the commute page's own query (start, end, via, mode, from,
to), checked by commutes' parsers so the messages are the page's; its points are
rounded before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from django.db import transaction
from django.utils import timezone

from alerts.models import SentNote, Subscription
from alerts.services import notes_text, queueing
from alerts.services.rounding import round_points
from commutes.services.routes import (
    DAYS,
    RouteError,
    parse_route,
    parse_window,
)
from core.local_time import SEATTLE
from core.params import coordinate

# Unconfirmed sign-ups one address may have at a time: a form cannot be used to
# flood someone else's inbox with confirmation requests.
MAX_PENDING_PER_ADDRESS = 3
LEAD_CHOICES = (10, 15, 30, 45, 60, 90, 120)
DEFAULT_LEAD = 30


class TooManyPending(Exception):
    pass


@dataclass(frozen=True)
class Commute:
    """What the commute page's query says, checked: points in order, mode, window."""

    points: list[list[float]]  # [lon, lat]
    mode: str
    start: time
    end: time
    days: list[int]


def _point(text: str | None, name: str) -> list[float] | None:
    """The page writes a point as "lat,lon"."""
    if not text:
        return None
    parts = text.split(",")
    if len(parts) != 2:
        raise RouteError(name, f"{name} must be latitude,longitude")
    lat = coordinate(parts[0].strip(), text=True)
    lon = coordinate(parts[1].strip(), text=True)
    if lat is None or lon is None:
        raise RouteError(name, f"{name} must be latitude,longitude")
    return [lon, lat]


def parse_commute(params, days: list[int] | None = None) -> Commute:
    """The page's query (start, end, via, mode, from, to, days) -> Commute, or the
    RouteError of commutes' own parsers, naming the field."""
    start = _point(params.get("start"), "start")
    end = _point(params.get("end"), "end")
    if start is None or end is None:
        raise RouteError("start", "choose a start and a destination on the map first")
    via = [_point(v, "waypoints") for v in (params.get("via") or "").split(";") if v]
    route = parse_route(
        {"start": start, "end": end, "waypoints": via, "mode": params.get("mode")}
    )
    raw_days = days if days is not None else params.get("days") or "weekdays"
    if isinstance(raw_days, list):
        raw_days = [DAYS[d] for d in raw_days if 0 <= d < 7] or None
    window = parse_window(
        {
            "start": params.get("from") or "07:00",
            "end": params.get("to") or "09:00",
            "days": raw_days,
        }
    )
    return Commute(
        points=[list(p) for p in route.points],
        mode=route.mode,
        start=window.start,
        end=window.end,
        days=sorted(window.days),
    )


def subscribe(
    email: str, commute: Commute, lead_minutes: int, cadence: str
) -> Subscription:
    """A pending subscription and its confirmation email, queued after the commit."""
    email = email.strip()
    with transaction.atomic():
        pending = Subscription.objects.filter(
            email__iexact=email, status=Subscription.Status.PENDING
        ).select_for_update()
        if len(pending) >= MAX_PENDING_PER_ADDRESS:
            raise TooManyPending(
                "this address already has confirmation emails waiting; follow the "
                "link in one of them (they work for 7 days)"
            )
        sub = Subscription.objects.create(
            email=email,
            points=round_points([tuple(p) for p in commute.points]),
            mode=commute.mode,
            window_start=commute.start,
            window_end=commute.end,
            days=commute.days,
            lead_minutes=lead_minutes,
            cadence=cadence,
        )
        now = timezone.now()
        subject, text, html = notes_text.confirmation(sub)
        note = SentNote.objects.create(
            subscription=sub,
            day=now.astimezone(SEATTLE).date(),
            kind=SentNote.Kind.CONFIRM,
            send_at=now,
            subject=subject,
            text=text,
            html=html,
        )
        queueing.send_after_commit([note.pk])
    return sub


def confirm(sub: Subscription) -> None:
    if sub.status == Subscription.Status.PENDING:
        now = timezone.now()
        Subscription.objects.filter(pk=sub.pk).update(
            status=Subscription.Status.ACTIVE, confirmed_at=now, renewed_at=now
        )
        sub.refresh_from_db()


def renew(sub: Subscription) -> None:
    Subscription.objects.filter(pk=sub.pk).update(renewed_at=timezone.now())
    sub.refresh_from_db()


def delete(sub: Subscription) -> None:
    """Everything about the subscription: the row and, by cascade, its send log."""
    Subscription.objects.filter(pk=sub.pk).delete()
