"""Places for the commute page's address typeahead, derived from our own incidents."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex


class Place(models.Model):
    """A hundred-block address or an intersection as SPD writes it.

    Rebuilt from crimes.Incident by ``commutes.services.places.refresh_places`` (after
    imports); never edited by hand, so the table can be replaced wholesale.
    """

    class Kind(models.TextChoices):
        BLOCK = "block", "Hundred block"
        INTERSECTION = "intersection", "Intersection"

    # Exactly as in Incident.block_address, e.g. "7XX BLOCK OF E PINE ST".
    name = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Normalised for trigram matching ("7XX E PINE ST"); see services.places.
    search_text = models.CharField(max_length=128)
    # Mean location of the place's incidents (averaged in EPSG:32610 metres).
    location = models.PointField(srid=4326)
    incidents = models.IntegerField()

    class Meta:
        indexes = [
            GinIndex(
                fields=["search_text"],
                opclasses=["gin_trgm_ops"],
                name="place_search_trgm",
            )
        ]
        ordering = ["-incidents", "name"]

    def __str__(self) -> str:
        return self.name
