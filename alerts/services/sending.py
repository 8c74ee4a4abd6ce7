"""Send one claimed note through SMTP, at most once.

The row is the claim: a send moves it QUEUED -> SENDING with one conditional UPDATE
(so two workers, or a task delivered twice, never both send it), then SENT. An SMTP
answer that says "not now" (a 4xx reply, the relay unreachable before the message
was handed over) puts it back to QUEUED with the attempt counted, and the task
retries with backoff; a refusal (5xx) or a failure after the message may have been
handed over (the connection lost during DATA) marks it FAILED and is never resent,
because resending could deliver it twice.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.utils import timezone

from alerts.models import SentNote
from alerts.services import links

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Outcome:
    status: str  # sent, retry, failed, skipped
    retry_in_s: int | None = None


def backoff_s(attempts: int) -> int:
    """30 s, 60 s, 120 s, 240 s with the default ALERTS_RETRY_BASE_S."""
    return settings.ALERTS_RETRY_BASE_S * 2 ** max(attempts - 1, 0)


def message_for(note: SentNote) -> EmailMultiAlternatives:
    """The email of a note: plain text and HTML, one-click unsubscribe (RFC 8058)."""
    sub = note.subscription
    headers = {
        # One Message-ID per note, the same on every attempt.
        "Message-ID": make_msgid(f"note-{note.pk}", _domain()),
        "Auto-Submitted": "auto-generated",
    }
    if note.kind != SentNote.Kind.CONFIRM:
        unsubscribe = links.url(sub, "unsubscribe")
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        headers["List-Id"] = f"Commute notes <notes.{_domain()}>"
    message = EmailMultiAlternatives(
        subject=note.subject,
        body=note.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[sub.email],
        headers=headers,
    )
    message.attach_alternative(note.html, "text/html")
    return message


def _domain() -> str:
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0]
    return host.split(":", 1)[0] or "localhost"


def _transient(exc: Exception) -> bool:
    """True when the relay surely did not take the message (safe to send again)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    # Refused or timed out while connecting: nothing was handed over.
    return isinstance(exc, smtplib.SMTPConnectError | ConnectionRefusedError)


def send(note_id: int) -> Outcome:
    """Claim the note and send it; the caller retries after ``retry_in_s``."""
    now = timezone.now()
    claimed = SentNote.objects.filter(
        pk=note_id, status=SentNote.Status.QUEUED, send_at__lte=now
    ).update(status=SentNote.Status.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return Outcome("skipped")
    note = SentNote.objects.select_related("subscription").get(pk=note_id)
    try:
        message_for(note).send()
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if _transient(exc) and note.attempts < MAX_ATTEMPTS:
            wait = backoff_s(note.attempts)
            SentNote.objects.filter(pk=note_id).update(
                status=SentNote.Status.QUEUED,
                last_error=error,
                send_at=now + timedelta(seconds=wait),
            )
            log.warning("note %s: %s; retry in %s s", note_id, error, wait)
            return Outcome("retry", wait)
        SentNote.objects.filter(pk=note_id).update(
            status=SentNote.Status.FAILED, last_error=error
        )
        log.error("note %s failed for good: %s", note_id, error)
        return Outcome("failed")
    SentNote.objects.filter(pk=note_id).update(
        status=SentNote.Status.SENT, sent_at=timezone.now()
    )
    return Outcome("sent")
