"""The place index: one table that the typeahead and the reverse lookup share."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex, GistIndex


class Place(models.Model):
    """A named place people type: an address, an intersection, a street, an area or a
    landmark.

    Derived data, each source replaced wholesale by its builder in
    ``places.services.index`` and never edited by hand.
    """

    class Kind(models.TextChoices):
        # Computed for a query with a house number, never stored.
        ADDRESS = "address", "Address"
        BLOCK = "block", "Hundred block"
        INTERSECTION = "intersection", "Intersection"
        STREET = "street", "Street"
        NEIGHBOURHOOD = "neighbourhood", "Neighbourhood"
        POLICING_AREA = "policing_area", "Community policing area"
        STATION = "station", "Light rail station"
        PARK = "park", "Park"
        LANDMARK = "landmark", "Landmark"
        SCHOOL = "school", "School"
        COLLEGE = "college", "College"
        LIBRARY = "library", "Library"
        HOSPITAL = "hospital", "Hospital"

    class Source(models.TextChoices):
        SPD = "spd", "SPD hundred blocks and intersections"
        STREETS = "streets", "OpenStreetMap street network"
        ATLAS = "atlas", "Neighborhood Map Atlas"
        MCPP = "mcpp", "SPD MCPP areas"
        NAMED = "named", "Named places (data/places)"
        PARKS = "parks", "Seattle Parks boundaries"

    # What the page shows: "Capitol Hill", "E Pine St", "7XX BLOCK OF E PINE ST",
    # "BROADWAY / E PINE ST" (SPD's spellings kept for its addresses).
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    # The name in places.services.names.normalise's form ("7XX E PINE ST").
    search_text = models.CharField(max_length=200)
    # Streets and blocks: the street (normalised, "E PINE ST"); intersections: the
    # first of the two streets, ``cross_street`` the other.
    street = models.CharField(max_length=200, blank=True)
    cross_street = models.CharField(max_length=200, blank=True)
    # Hundred blocks: the block's first number (700 for "7XX").
    number = models.IntegerField(null=True)
    # SPD: mean location of the place's incidents (averaged in EPSG:32610 metres);
    # intersections of the network: where the streets meet; areas and parks: a point
    # inside; streets: the point of the street nearest its middle.
    location = models.PointField(srid=4326)
    # ``location`` in EPSG:32610 metres: nearness to the map's view without a
    # transform per row.
    x = models.FloatField(default=0.0)
    y = models.FloatField(default=0.0)
    # Streets: their lines; areas and parks: their polygons (the reverse lookup).
    shape = models.GeometryField(srid=4326, null=True)
    # Another name of the same place, which ``search_text`` then holds: OSM's
    # alt_name, old_name, short_name, official_name of a street or a named place
    # ("Empire Way S" for "Martin Luther King Jr Way S"). Empty on the place's own row.
    alias = models.CharField(max_length=200, blank=True)
    # SPD: incidents carrying the address; others: 0.
    incidents = models.IntegerField(default=0)
    # Ranks places of equal match and distance (incidents, a street's length in
    # metres, an area's size class); higher first.
    prominence = models.IntegerField(default=0)
    # Named places: the feature's own licence and source (data/places/README.md).
    licence = models.CharField(max_length=32, blank=True)
    origin = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            GinIndex(
                fields=["search_text"],
                opclasses=["gin_trgm_ops"],
                name="places_search_trgm",
            ),
            models.Index(fields=["kind", "street"], name="places_kind_street"),
            # House numbers: the blocks of one hundred across the city.
            models.Index(
                fields=["number"],
                condition=models.Q(number__isnull=False),
                name="places_block_number",
            ),
            GistIndex(fields=["location"], name="places_location"),
            GistIndex(fields=["shape"], name="places_shape"),
        ]
        ordering = ["-prominence", "name"]

    def __str__(self) -> str:
        return self.name
