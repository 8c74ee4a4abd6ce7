"""What every kind of run (import, training, forecast) has in common.

A run is a row with a status, a progress fraction and message, the error it failed
with, who started it, which worker ran it and when. `ImportRun`, `TrainingRun` and
`ForecastRun` subclass the abstract `Run`; core.run_ownership claims, releases and
reclaims them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RunStatus(models.TextChoices):
    """Life of every run: PENDING -> RUNNING -> SUCCEEDED | FAILED."""

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Run(models.Model):
    Status = RunStatus

    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING
    )
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(
        max_length=128, blank=True, help_text="host:pid of the process running it."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # The time of the last progress write, for display only: ownership comes from
    # the advisory lock (core.run_ownership), never from heartbeat age.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)


class PendingCacheBump(models.Model):
    """A core.cache scope whose version could not be bumped (Redis unreachable) after
    its data changed; core.pending_bumps applies it once Redis is back."""

    scope = models.CharField(max_length=16, unique=True)
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    # Raised by every failure while the row exists: a row re-failed after an applier
    # read it is not deleted by that applier.
    failures = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.scope} (since {self.first_failed_at:%Y-%m-%d %H:%M:%S})"


class StoredFile(models.Model):
    """A file kept in PostgreSQL (core.file_store): admin uploads and model
    checkpoints, which web processes and workers on different machines all reach.
    Its bytes are in StoredFileChunk rows, CHUNK_BYTES each, written and read one
    chunk at a time."""

    name = models.CharField(max_length=255, unique=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.size} bytes)"


class StoredFileChunk(models.Model):
    file = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="+")
    seq = models.IntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["file", "seq"], name="one_chunk_per_seq")
        ]

    def __str__(self) -> str:
        return f"chunk {self.seq} of file {self.file_id}"
