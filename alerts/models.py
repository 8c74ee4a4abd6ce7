"""Saved commutes (a subscription by email, no account) and the log of every note.

A subscription keeps the least it can: the email address it was confirmed from, the
commute's points rounded to ~50 m (alerts.services.rounding), the mode, the window
and the days. No IP address, no name, no history of what was opened. Unsubscribing
deletes the row and, by cascade, its send log.
"""

from __future__ import annotations

import uuid

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the email to be confirmed"
        ACTIVE = "active", "Confirmed"

    class Cadence(models.TextChoices):
        DAILY = "daily", "A note before each chosen day's window"
        WEEKLY = "weekly", "A weekly digest"

    # The one name links carry (signed, alerts.services.links): random, so a link
    # says nothing about how many people subscribed.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField()
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING
    )
    # [lon, lat] pairs in travel order (start, waypoints..., end), each rounded to
    # ~50 m before it is stored.
    points = ArrayField(ArrayField(models.FloatField(), size=2))
    mode = models.CharField(max_length=8)
    window_start = models.TimeField()
    window_end = models.TimeField()
    # Seattle weekdays, Monday = 0.
    days = ArrayField(models.PositiveSmallIntegerField())
    lead_minutes = models.PositiveSmallIntegerField(default=30)
    cadence = models.CharField(
        max_length=8, choices=Cadence.choices, default=Cadence.DAILY
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Renewed by following the renewal link; deleted RENEW_AFTER days after this
    # plus the grace period when it was not (alerts.services.retention).
    renewed_at = models.DateTimeField(null=True, blank=True)
    # Set when a "no forecast for your window" note went out; cleared by the next
    # real note, so a late forecast is told once, not once a day.
    no_forecast_since = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "cadence"], name="sub_status")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"subscription {self.pk} ({self.mode}, {self.get_status_display()})"


class SentNote(models.Model):
    """One email to one subscription: claimed (inserted) before it is sent.

    The unique (subscription, day, kind) is what makes a note go out at most once:
    a second planner (beat firing twice, a redelivered batch) cannot insert it again,
    and a send task moves it QUEUED -> SENDING with a conditional UPDATE, so two
    workers never send the same row.
    """

    class Kind(models.TextChoices):
        CONFIRM = "confirm", "Confirm the address"
        DAILY = "daily", "Before the window"
        WEEKLY = "weekly", "Weekly digest"
        NO_FORECAST = "no_forecast", "No forecast for the window"
        RENEW = "renew", "Renew or be deleted"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="notes"
    )
    day = models.DateField(help_text="The Seattle day the note is for.")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    send_at = models.DateTimeField()
    subject = models.CharField(max_length=200)
    text = models.TextField()
    html = models.TextField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "day", "kind"], name="one_note_per_day"
            )
        ]
        indexes = [models.Index(fields=["status", "send_at"], name="note_due")]
        ordering = ["-send_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.day:%Y-%m-%d}"
