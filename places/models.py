"""The place index: one table that the typeahead and the reverse lookup share."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex


class Place(models.Model):
    """A named place people type: an address, an intersection, a street, an area or a
    landmark.

    Derived data, each source replaced wholesale by its builder in
    ``places.services.index`` and never edited by hand: SPD's hundred blocks and
    intersections (from crimes.Incident, rebuilt when the data's version moves) and
    the street network's intersections (from the loaded OpenStreetMap edges).
    """

    class Kind(models.TextChoices):
        BLOCK = "block", "Hundred block"
        INTERSECTION = "intersection", "Intersection"

    class Source(models.TextChoices):
        SPD = "spd", "SPD address"
        STREETS = "streets", "Street network"

    # SPD: exactly as in Incident.block_address, e.g. "7XX BLOCK OF E PINE ST";
    # streets: "BROADWAY / E PINE ST" (the SPD spelling of an intersection).
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    # Normalised for trigram matching ("7XX E PINE ST"); see services.search.
    search_text = models.CharField(max_length=200)
    # SPD: mean location of the place's incidents (averaged in EPSG:32610 metres);
    # streets: where the two streets meet (mean of the junction's vertices).
    location = models.PointField(srid=4326)
    # SPD: how many incidents carry the address (ranks the typeahead); others: 0.
    incidents = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "kind", "name"], name="places_source_kind_name"
            )
        ]
        indexes = [
            GinIndex(
                fields=["search_text"],
                opclasses=["gin_trgm_ops"],
                name="places_search_trgm",
            )
        ]
        ordering = ["-incidents", "name"]

    def __str__(self) -> str:
        return self.name
