"""How long anything about a subscriber is kept (the privacy page reads these).

Unconfirmed sign-ups go after the confirmation link expires. A confirmed
subscription asks to be renewed RENEW_AFTER days after it was confirmed or last
renewed, and is deleted GRACE days later if it was not. The send log of a
subscription that stays is cut after LOG_KEPT days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from alerts.models import SentNote, Subscription
from alerts.services import notes_text, queueing
from alerts.services.links import CONFIRM_MAX_AGE
from core.local_time import SEATTLE

RENEW_AFTER = timedelta(days=180)
GRACE = timedelta(days=14)
LOG_KEPT = timedelta(days=60)


def deleted_after(sub: Subscription) -> datetime:
    if sub.status == Subscription.Status.PENDING:
        return sub.created_at + CONFIRM_MAX_AGE
    return (sub.renewed_at or sub.confirmed_at or sub.created_at) + RENEW_AFTER + GRACE


def apply(now: datetime | None = None) -> dict[str, int]:
    """Delete what is past its time, ask for renewals; the counts of each."""
    now = now or timezone.now()
    active = Subscription.objects.filter(status=Subscription.Status.ACTIVE)
    with transaction.atomic():
        unconfirmed, _ = Subscription.objects.filter(
            status=Subscription.Status.PENDING, created_at__lt=now - CONFIRM_MAX_AGE
        ).delete()
        expired, _ = active.filter(renewed_at__lt=now - RENEW_AFTER - GRACE).delete()
        asked = SentNote.objects.filter(
            subscription=OuterRef("pk"),
            kind=SentNote.Kind.RENEW,
            created_at__gt=OuterRef("renewed_at"),
        )
        due = list(
            active.filter(renewed_at__lt=now - RENEW_AFTER)
            .exclude(Exists(asked))
            .select_for_update(skip_locked=True)
        )
        ids = []
        for sub in due:
            subject, text, html = notes_text.renewal(sub, deleted_after(sub))
            note, created = SentNote.objects.get_or_create(
                subscription=sub,
                day=now.astimezone(SEATTLE).date(),
                kind=SentNote.Kind.RENEW,
                defaults={
                    "send_at": now,
                    "subject": subject,
                    "text": text,
                    "html": html,
                },
            )
            if created:
                ids.append(note.pk)
        queueing.send_after_commit(ids)
        old_log, _ = SentNote.objects.filter(send_at__lt=now - LOG_KEPT).delete()
    return {
        "unconfirmed_deleted": unconfirmed,
        "not_renewed_deleted": expired,
        "renewals_asked": len(ids),
        "log_rows_deleted": old_log,
    }
