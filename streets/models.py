"""The routable street network and the base map's lines.

The tables keep the names they had when they lived in the commutes app
(``commutes_streetedge``...): the move (streets 0001, commutes 0006) changed only
Django's state, so no row was copied and raw SQL kept working.
"""

from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex

from core.cache import TrackedQuerySet


class StreetNetworkLoad(models.Model):
    """One run of ``load_streets``: which extract, what changed, how long it took.

    The newest row describes the network in ``StreetEdge``; its ``grid_signature``
    says which forecast grid the edges' ``cell_ids`` were computed against.
    """

    source_file = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    osm_base = models.CharField(max_length=32, blank=True)
    edges = models.IntegerField(default=0)
    vertices = models.IntegerField(default=0)
    inserted = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    deleted = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    cells_computed = models.IntegerField(default=0)
    connected_share = models.FloatField(
        default=0.0, help_text="Share of vertices in the largest connected piece."
    )
    grid_signature = models.CharField(max_length=64, blank=True)
    seconds = models.FloatField(default=0.0)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "commutes_streetnetworkload"
        ordering = ["-id"]
        get_latest_by = "id"

    def __str__(self) -> str:
        return f"{self.source_file} ({self.edges} edges, {self.loaded_at:%Y-%m-%d})"


class StreetEdge(models.Model):
    """A stretch of an OpenStreetMap way between two shared nodes: a routable edge.

    Written only by ``streets.services.street_network.load_network`` (never edited by
    hand): an edge keeps its id while its way, end nodes and occurrence stay the same.
    ``source``/``target`` are OSM node ids in the way's direction. Traversal times are
    seconds per mode and direction (``*_back_s`` = target to source); NULL means the
    mode may not use the edge that way.
    """

    way_id = models.BigIntegerField(help_text="OpenStreetMap way id")
    part = models.SmallIntegerField(
        default=0, help_text="Occurrence of the same node pair within the way"
    )
    source = models.BigIntegerField(db_index=True)
    target = models.BigIntegerField(db_index=True)
    name = models.CharField(max_length=200, blank=True)
    # What the site shows and searches: "E Pine St" for "East Pine Street".
    label = models.CharField(max_length=200, blank=True)
    highway = models.CharField(max_length=32)
    oneway = models.SmallIntegerField(
        default=0, help_text="1 one-way along the geometry, -1 against, 0 both ways"
    )
    maxspeed_kmh = models.FloatField(null=True, blank=True)
    speed_kmh = models.FloatField(help_text="Driving speed: maxspeed or the class's")
    bridge = models.BooleanField(default=False)
    tunnel = models.BooleanField(default=False)
    length_m = models.FloatField(help_text="Length in EPSG:32610 metres")
    walk_s = models.FloatField(null=True)
    walk_back_s = models.FloatField(null=True)
    bike_s = models.FloatField(null=True)
    bike_back_s = models.FloatField(null=True)
    drive_s = models.FloatField(null=True)
    drive_back_s = models.FloatField(null=True)
    connected = models.BooleanField(
        default=True, help_text="In the largest connected piece (routes snap to it)"
    )
    geom = models.LineStringField(srid=4326)
    # Web Mercator copy for the vector tiles (ST_AsMVT works in EPSG:3857).
    geom_mercator = models.LineStringField(srid=3857)
    # Forecast grid cells within the commute corridor's half width (ids, sorted;
    # commutes.services.edge_cells computes them); NULL until computed.
    cell_ids = ArrayField(models.BigIntegerField(), null=True, blank=True)

    objects = TrackedQuerySet.as_manager()

    class Meta:
        db_table = "commutes_streetedge"
        constraints = [
            models.UniqueConstraint(
                fields=["way_id", "source", "target", "part"],
                name="street_edge_osm_key",
            )
        ]
        indexes = [models.Index(fields=["highway"], name="street_edge_highway")]

    def __str__(self) -> str:
        return f"{self.label or self.highway} ({self.source} -> {self.target})"


class StreetLine(models.Model):
    """The base map's streets: edges of one name and class merged into lines.

    Rebuilt from StreetEdge by every network load (``street_network.build_lines``);
    the vector tiles read it, so a tile encodes a few long lines instead of many
    short edges (a zoom-12 tile over downtown: 9 KB in 1 ms instead of 43 KB in
    60 ms).
    """

    label = models.CharField(max_length=200, blank=True)
    highway = models.CharField(max_length=32)
    rank = models.SmallIntegerField(help_text="0 motorway .. 8 living street")
    geom_mercator = models.LineStringField(srid=3857)

    objects = TrackedQuerySet.as_manager()

    class Meta:
        db_table = "commutes_streetline"
        indexes = [
            # Far out (zoom <= 12) a tile spans the city: the big roads' own index
            # spares reading every street's row to drop it.
            GistIndex(
                fields=["geom_mercator"],
                condition=models.Q(rank__lte=3),
                name="street_line_big_roads",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label or self.highway} ({self.highway})"


class MapArea(models.Model):
    """Water or a park on the base map: a piece of one (ST_Subdivide, at most 256
    vertices), in EPSG:3857 for the tiles. Each area is stored twice: simplified to
    ``FAR_TOLERANCE_M`` for the city-wide zooms (up to ``FAR_MAX_ZOOM``), whole for
    the others, so no tile simplifies polygons while it is asked for.

    Written only by ``streets.services.basemap_layers.load_basemap_layers`` from the
    files in data/ (never edited by hand).
    """

    class Kind(models.TextChoices):
        WATER = "water", "Water"
        PARK = "park", "Park"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=200, blank=True)
    min_zoom = models.SmallIntegerField(help_text="The first zoom whose tiles hold it")
    max_zoom = models.SmallIntegerField(help_text="The last zoom whose tiles hold it")
    geom = models.GeometryField(srid=3857)

    objects = TrackedQuerySet.as_manager()

    class Meta:
        indexes = [GistIndex(fields=["geom"], name="map_area_geom")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}".strip()


class MapLabel(models.Model):
    """A name on the base map: a lake, a park, a district or neighbourhood, a light
    rail station, a landmark. One point per name (EPSG:3857); ``min_zoom`` from its
    size, ``rank`` 0 = the biggest (placed first).

    Written only by ``streets.services.basemap_layers.load_basemap_layers``.
    """

    class Kind(models.TextChoices):
        WATER = "water", "Water"
        PARK = "park", "Park"
        DISTRICT = "district", "District (Neighborhood Map Atlas L_HOOD)"
        NEIGHBOURHOOD = "neighbourhood", "Neighbourhood (S_HOOD)"
        STATION = "station", "Light rail station"
        LANDMARK = "landmark", "Landmark"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    min_zoom = models.SmallIntegerField(help_text="The first zoom whose tiles hold it")
    rank = models.SmallIntegerField(default=0)
    geom = models.PointField(srid=3857)

    objects = TrackedQuerySet.as_manager()

    class Meta:
        indexes = [GistIndex(fields=["geom"], name="map_label_geom")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
