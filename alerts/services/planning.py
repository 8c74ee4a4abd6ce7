"""Beat's planner: compute the notes due soon, claim them, queue their sends.

Every ALERTS_PLAN_INTERVAL_S (one planner at a time: a transaction-level advisory
lock), for the notes whose send time (the window's start less the subscription's
lead, Seattle time) falls within HORIZON, or passed less than LATE_LIMIT ago:

* a row per note (SentNote, unique per subscription, day and kind) holding the
  email, inserted with ON CONFLICT DO NOTHING: a planner that runs twice, or a batch
  redelivered after a worker died, finds the row there and makes no second one;
* a send task per row at its send time (a send claims its row: a task queued twice
  still sends once).

Work is shared: a day's score is computed once per route (where each point meets
the street network, to 150 m), mode and the window's whole hours, however many
subscriptions share it (commute_scores.ScoreBook). When no forecast covers a day's
window, one "no forecast" note is sent and the subscription remembers it; the next
real note clears that, so a late forecast is told once, not once a day.

Weekly digests go out on DIGEST_WEEKDAY at DIGEST_TIME with each chosen day's best
departure in the forecast week. QUEUED notes left behind (the broker was down) are
queued again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from alerts.models import SentNote, Subscription
from alerts.services import notes_text, queueing
from alerts.services.commute_scores import (
    CommuteKey,
    NoForecastForDay,
    ScoreBook,
    best_by_day,
)
from commutes.services.routes import RouteError
from core.local_time import SEATTLE

log = logging.getLogger(__name__)

HORIZON = timedelta(minutes=30)  # more than the plan interval: nothing falls between
LATE_LIMIT = timedelta(minutes=20)  # a note this late (beat was down) is not sent
DIGEST_WEEKDAY = 6  # Sunday
DIGEST_TIME = time(18, 0)
PLANNER_LOCK = 0x616C657274  # "alert": one planner at a time
DAY_KINDS = (SentNote.Kind.DAILY, SentNote.Kind.NO_FORECAST)


def requeue_stale(now: datetime) -> int:
    stale = SentNote.objects.filter(
        status=SentNote.Status.QUEUED, send_at__lt=now - queueing.STALE_AFTER
    )
    # A note about a window that has begun is no use any more.
    stale.filter(kind__in=DAY_KINDS, send_at__lt=now - LATE_LIMIT).update(
        status=SentNote.Status.FAILED,
        last_error="not sent: it could not be queued before its window",
    )
    ids = list(stale.values_list("pk", flat=True)[:5000])
    return queueing.send_now(ids)


def send_time(sub: Subscription, day: date) -> datetime:
    start = datetime.combine(day, sub.window_start, tzinfo=SEATTLE)
    return start - timedelta(minutes=sub.lead_minutes)


def _due(send_at: datetime, now: datetime) -> bool:
    return now - LATE_LIMIT <= send_at < now + HORIZON


def key_of(sub: Subscription) -> CommuteKey:
    return CommuteKey.of(
        sub.points, sub.mode, sub.window_start, sub.window_end, sub.days
    )


def due_daily(subs, now: datetime) -> list[tuple[Subscription, date, datetime]]:
    today = now.astimezone(SEATTLE).date()
    found = []
    for sub in subs:
        for day in (today, today + timedelta(days=1)):
            if day.weekday() in sub.days:
                at = send_time(sub, day)
                if _due(at, now):
                    found.append((sub, day, at))
    return found


def _note(sub, day, kind, at, words) -> SentNote:
    subject, text, html = words
    return SentNote(
        subscription=sub,
        day=day,
        kind=kind,
        send_at=at,
        subject=subject,
        text=text,
        html=html,
    )


def plan_daily(now: datetime, book: ScoreBook) -> tuple[list[SentNote], dict]:
    subs = Subscription.objects.filter(
        status=Subscription.Status.ACTIVE, cadence=Subscription.Cadence.DAILY
    )
    due = due_daily(subs, now)
    if not due:
        return [], {"due": 0}
    existing = set(
        SentNote.objects.filter(
            subscription_id__in={s.pk for s, _, _ in due},
            day__in={d for _, d, _ in due},
            kind__in=DAY_KINDS,
        ).values_list("subscription_id", "day")
    )
    rows, told, cleared = [], defaultdict(list), []
    skipped = 0
    for sub, day, at in due:
        if (sub.pk, day) in existing:
            continue
        try:
            score = book.day(key_of(sub), day)
        except NoForecastForDay:
            if sub.no_forecast_since is not None:
                skipped += 1  # told already: once, not once a day
                continue
            rows.append(
                _note(
                    sub,
                    day,
                    SentNote.Kind.NO_FORECAST,
                    at,
                    notes_text.no_forecast(sub, day),
                )
            )
            told[day].append(sub.pk)
            continue
        except RouteError as exc:
            log.warning("subscription %s cannot be scored: %s", sub.pk, exc.message)
            continue
        rows.append(
            _note(sub, day, SentNote.Kind.DAILY, at, notes_text.daily(sub, score))
        )
        if sub.no_forecast_since is not None:
            cleared.append(sub.pk)
    for day, ids in told.items():
        Subscription.objects.filter(pk__in=ids).update(no_forecast_since=day)
    Subscription.objects.filter(pk__in=cleared).update(no_forecast_since=None)
    return rows, {"due": len(due), "already_told": skipped}


def plan_weekly(now: datetime) -> list[SentNote]:
    local = now.astimezone(SEATTLE)
    day = local.date() - timedelta(days=(local.weekday() - DIGEST_WEEKDAY) % 7)
    at = datetime.combine(day, DIGEST_TIME, tzinfo=SEATTLE)
    if not _due(at, now):
        return []
    sent = SentNote.objects.filter(
        subscription=OuterRef("pk"), day=day, kind=SentNote.Kind.WEEKLY
    )
    subs = Subscription.objects.filter(
        status=Subscription.Status.ACTIVE, cadence=Subscription.Cadence.WEEKLY
    ).exclude(Exists(sent))
    shared: dict[CommuteKey, list[dict]] = {}
    rows = []
    for sub in subs:
        key = key_of(sub)
        if key not in shared:
            try:
                days, _ = best_by_day(key)
            except Exception as exc:  # no forecast, or the commute cannot be routed
                log.warning("weekly digest for %s: %s", sub.pk, exc)
                days = []
            # Only the days ahead: the digest is about the coming week.
            shared[key] = [d for d in days if d["departure"] >= at.isoformat()]
        rows.append(
            _note(
                sub, day, SentNote.Kind.WEEKLY, at, notes_text.weekly(sub, shared[key])
            )
        )
    return rows


def plan(now: datetime | None = None) -> dict:
    """Plan, claim and queue everything due; the counts of each."""
    now = now or timezone.now()
    book = ScoreBook()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [PLANNER_LOCK])
            if not cur.fetchone()[0]:
                return {"skipped": "another planner is running"}
        requeued = requeue_stale(now)
        daily, counts = plan_daily(now, book)
        rows = daily + plan_weekly(now)
        mark = timezone.now()
        SentNote.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        # The rows this run made (the lock keeps other planners out meanwhile).
        planned = list(
            SentNote.objects.filter(
                status=SentNote.Status.QUEUED, created_at__gte=mark
            ).values_list("pk", "send_at")
        )
    by_time: dict[datetime, list[int]] = defaultdict(list)
    for pk, at in planned:
        by_time[at].append(pk)
    queued = sum(
        queueing.send_now(ids, eta=at if at > now else None)
        for at, ids in by_time.items()
    )
    return {
        **counts,
        "notes": len(rows),
        "scored": book.calls,
        "queued": queued,
        "requeued": requeued,
    }
