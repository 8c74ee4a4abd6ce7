"""What commutes stores itself: the reference of random trips each forecast run is
placed against (the street network lives in streets, the forecast in predictions)."""

from __future__ import annotations

from django.db import models

from core.cache import TrackedQuerySet
from predictions.models import ForecastRun


class TripReference(models.Model):
    """Random routed trips of one mode and their expected reported incidents for
    every departure hour of one forecast run, in one category.

    ``lengths``: little-endian float32 (n,) metres; ``expected``: float32
    (n, departures), row-major, departure 0 = the run's first hour. Written by the
    worker after the run (commutes.tasks.build_trip_reference); read to place a
    commute among similar trips (commutes.services.trip_reference).
    """

    forecast_run = models.ForeignKey(
        ForecastRun, on_delete=models.CASCADE, related_name="+"
    )
    mode = models.CharField(max_length=8)
    category = models.CharField(max_length=16)
    start = models.DateTimeField(help_text="Departure 0 (the run's first hour).")
    departures = models.IntegerField()
    n_trips = models.IntegerField()
    lengths = models.BinaryField()
    expected = models.BinaryField()
    network_key = models.CharField(
        max_length=64, help_text="The street network load the trips were routed on."
    )
    seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TrackedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["forecast_run", "mode", "category"],
                name="trip_reference_unique",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.n_trips} {self.mode} trips, {self.category}, "
            f"forecast #{self.forecast_run_id}"
        )
