"""Forecast domain: the grid in PostGIS, model versions, runs and hourly forecast rows.

Forecast values are stored compactly: one row per (model version, hour, category)
holding a little-endian float32 array with one value per cell in ``Cell.idx`` order.
A week for all three categories is 504 rows instead of ~25 million cell-hour rows.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.cache import TrackedQuerySet
from core.models import Run


class Category(models.TextChoices):
    # "all" = the default targets (PERSON + PROPERTY, DESIGN "Targets").
    ALL = "all", "All default targets (person + property)"
    PERSON = "person", "Crimes against persons"
    PROPERTY = "property", "Crimes against property"


class Cell(models.Model):
    """One analysis-grid cell that touches the city limits.

    ``id`` is the grid formula's cell id (ml/grid.py), so it never changes while
    GRID_CELL_SIZE does not. ``idx`` is the dense position 0..n-1 (cells ordered by
    id) used by every forecast array.
    """

    id = models.BigIntegerField(primary_key=True)
    idx = models.IntegerField(unique=True)
    row = models.IntegerField()
    col = models.IntegerField()
    size = models.FloatField(help_text="Cell edge in metres (EPSG:32610).")
    geom = models.PolygonField(srid=settings.ANALYSIS_SRID)
    # Centre in WGS84, precomputed because every page and API response needs it.
    lon = models.FloatField()
    lat = models.FloatField()

    objects = TrackedQuerySet.as_manager()

    class Meta:
        ordering = ["idx"]

    def __str__(self) -> str:
        return f"cell {self.id}"


class ModelVersion(models.Model):
    """A trained forecaster: its checkpoint, data window, backtest and status."""

    class Status(models.TextChoices):
        READY = "ready", "Ready"
        RETIRED = "retired", "Retired"
        BROKEN = "broken", "Broken (checkpoint unusable)"

    kind = models.CharField(max_length=32)
    config = models.JSONField(default=dict, blank=True)
    checkpoint = models.CharField(
        max_length=255,
        help_text="Name of the checkpoint stored in PostgreSQL (core.file_store).",
    )
    data_until = models.DateTimeField(
        help_text="Data window: trained on incidents reported before this instant."
    )
    data_first_event = models.DateTimeField(null=True, blank=True)
    n_events = models.IntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    training_seconds = models.FloatField(default=0.0)
    device = models.CharField(max_length=32, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.READY
    )
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Its updates (activate) bump the forecasts' cache version (core.cache).
    objects = TrackedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one active version; activate() switches inside one transaction
            # so readers always see exactly one.
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="one_active_model_version",
            )
        ]

    def __str__(self) -> str:
        active = " (active)" if self.is_active else ""
        return f"v{self.pk} {self.kind}{active}"

    def activate(self) -> None:
        """Make this the one active version, atomically."""
        with transaction.atomic():
            # Lock the current active row(s) so concurrent switches serialise.
            list(ModelVersion.objects.select_for_update().filter(is_active=True))
            ModelVersion.objects.filter(is_active=True).exclude(pk=self.pk).update(
                is_active=False
            )
            now = timezone.now()
            ModelVersion.objects.filter(pk=self.pk).update(
                is_active=True, activated_at=now
            )
        self.is_active = True
        self.activated_at = now


class TrainingRun(Run):
    """One training request: trains, backtests and registers a ModelVersion."""

    kind = models.CharField(max_length=32, default="neural")
    until = models.DateTimeField(
        help_text="Train on incidents reported before this instant."
    )
    device = models.CharField(max_length=16, default="auto")
    config = models.JSONField(default=dict, blank=True)
    activate = models.BooleanField(
        default=False, help_text="Activate the new version when training succeeds."
    )
    model_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="training_runs",
    )

    class Meta(Run.Meta):
        pass

    def __str__(self) -> str:
        return f"Training #{self.pk} until {self.until:%Y-%m-%d %H:%M} ({self.status})"


class ForecastRun(Run):
    """One precompute of [start, start + hours) for one model version."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="forecast_runs"
    )
    start = models.DateTimeField(help_text="Forecast origin (hour aligned).")
    hours = models.IntegerField(default=168)
    rows_written = models.IntegerField(default=0)
    n_cells = models.IntegerField(default=0)
    seconds = models.FloatField(default=0.0)

    class Meta(Run.Meta):
        indexes = [
            models.Index(fields=["model_version", "status", "-start"], name="frun_mv")
        ]

    def __str__(self) -> str:
        start = f"{self.start:%Y-%m-%d %H:%M}"
        return f"Forecast #{self.pk} v{self.model_version_id} from {start}"


class ForecastValues(models.Model):
    """Expected incidents per cell for one (version, hour, category).

    ``values``: little-endian float32, one per cell in Cell.idx order. A rerun of the
    same hours upserts (ON CONFLICT) so it replaces, never duplicates.
    """

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="+"
    )
    hour_start = models.DateTimeField()
    category = models.CharField(max_length=16, choices=Category.choices)
    values = models.BinaryField()
    total = models.FloatField(help_text="Sum over cells (the city's expected count).")
    forecast_run = models.ForeignKey(
        ForecastRun, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TrackedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "hour_start", "category"],
                name="forecast_values_unique_hour",
            )
        ]
        indexes = [
            models.Index(
                fields=["model_version", "category", "hour_start"], name="fv_lookup"
            )
        ]

    def __str__(self) -> str:
        hour = f"{self.hour_start:%Y-%m-%d %H:%M}"
        return f"v{self.model_version_id} {self.category} {hour}"
