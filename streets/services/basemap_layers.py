"""The base map's areas and names: water, parks, neighbourhoods, stations, landmarks.

Loaded from the files in data/ (provenance and licences in data/README.md) into two
tables the vector tiles read (``streets.services.street_tiles``):

- ``MapArea``: water and park polygons in EPSG:3857, cut by ``ST_Subdivide`` into
  pieces of at most 256 vertices, so a tile clips a few small pieces instead of all
  of Puget Sound; ``min_zoom`` keeps the ponds out of the city-wide tiles.
- ``MapLabel``: one point per name (``ST_PointOnSurface`` of the whole named area, so
  a lake cut into pieces is still named once), its ``kind`` (a style layer each),
  ``min_zoom`` (from its size: bigger shows sooner) and ``rank`` (0 = the biggest,
  MapLibre places labels in that order).

Idempotent: a load replaces every row in one transaction.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from core.cache import STREETS, bump

DATA = Path(settings.BASE_DIR) / "data"
WATER_FILE = DATA / "map" / "seattle_water_osm.geojson"
PARKS_FILE = DATA / "places" / "seattle_parks_2024.geojson"
PLACES_FILE = DATA / "places" / "seattle_places.geojson"
NEIGHBOURHOODS_FILE = DATA / "boundaries" / "neighborhoods.geojson"

MAX_VERTICES = 256
# Far out a tile pixel is 38 m (zoom 12) or more: polygons simplified to 10 m look
# the same and are a fraction of the vertices.
FAR_MAX_ZOOM = 12
FAR_TOLERANCE_M = 10.0
NEAR_MAX_ZOOM = 30
# The sea is one polygon in the file, named for how it was made; on the map it is
# Puget Sound, and Elliott Bay (its bay off downtown) gets a label of its own.
WATER_NAMES = {
    "Puget Sound / Elliott Bay (from OSM coastline, clipped to bbox)": "Puget Sound"
}
EXTRA_LABELS = [("water", "Elliott Bay", -122.3650, 47.6040, 11, 0)]
# seattle_places.geojson category -> label kind and first zoom (parks are named from
# their polygons, schools would crowd the map).
PLACE_KINDS = {
    "light_rail_station": ("station", 12),
    "college": ("landmark", 14),
    "hospital": ("landmark", 14),
    "library": ("landmark", 15),
    "osm_tourism_leisure": ("landmark", 15),
}

# Size (km²) -> first zoom, biggest first: (area at least, zoom).
AREA_ZOOM = {
    "water": [(0.5, 0), (0.02, 12), (0.0, 14)],
    "park": [(0.2, 0), (0.02, 12), (0.0, 14)],
}
LABEL_ZOOM = {
    "water": [(50.0, 10), (0.5, 11), (0.03, 14), (0.0, 16)],
    "park": [(0.5, 12), (0.1, 14), (0.0, 16)],
}


def _zoom_case(column: str, steps: list[tuple[float, int]]) -> str:
    whens = " ".join(f"WHEN {column} >= {area} THEN {zoom}" for area, zoom in steps)
    return f"CASE {whens} ELSE 16 END"


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _area_rows() -> list[tuple[str, str, str]]:
    rows = []
    for kind, path in (("water", WATER_FILE), ("park", PARKS_FILE)):
        for feature in _features(path):
            name = (feature["properties"].get("name") or "").strip()
            name = WATER_NAMES.get(name, name)
            rows.append((kind, name, json.dumps(feature["geometry"])))
    return rows


def _point_rows() -> list[tuple[str, str, float, float, int, int]]:
    rows = list(EXTRA_LABELS)
    for feature in _features(PLACES_FILE):
        props = feature["properties"]
        kind_zoom = PLACE_KINDS.get(props.get("category"))
        name = (props.get("name") or "").strip()
        if kind_zoom and name:
            lon, lat = feature["geometry"]["coordinates"][:2]
            rows.append((kind_zoom[0], name, lon, lat, kind_zoom[1], 1))
    return rows


def _neighbourhood_rows() -> list[tuple[str, str, str]]:
    rows = []
    for feature in _features(NEIGHBOURHOODS_FILE):
        props = feature["properties"]
        geometry = json.dumps(feature["geometry"])
        for kind, key in (("district", "L_HOOD"), ("neighbourhood", "S_HOOD")):
            name = (props.get(key) or "").strip()
            if name:
                rows.append((kind, name, geometry))
    return rows


def load_basemap_layers() -> dict:
    """Replace the base map's areas and labels with those of the files in data/."""
    started = time.monotonic()
    areas, points, hoods = _area_rows(), _point_rows(), _neighbourhood_rows()
    km2 = "ST_Area(ST_Transform(geom, 32610)) / 1e6"
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE basemap_stage (kind text, name text, geom geometry)"
            " ON COMMIT DROP"
        )
        cur.executemany(
            "INSERT INTO basemap_stage VALUES (%s, %s,"
            " ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)))",
            areas + hoods,
        )
        cur.execute("DELETE FROM streets_maparea")
        cur.execute("DELETE FROM streets_maplabel")
        for kind in ("water", "park"):
            for low, high, tolerance in (
                (0, FAR_MAX_ZOOM, FAR_TOLERANCE_M),
                (FAR_MAX_ZOOM + 1, NEAR_MAX_ZOOM, 0.0),
            ):
                cur.execute(
                    f"""
                    INSERT INTO streets_maparea (kind, name, min_zoom, max_zoom, geom)
                    SELECT kind, name,
                        GREATEST({_zoom_case("km2", AREA_ZOOM[kind])}, %s), %s,
                        ST_Subdivide(ST_CollectionExtract(ST_MakeValid(
                            ST_SimplifyPreserveTopology(
                                ST_Transform(geom, 3857), %s)), 3),
                            {MAX_VERTICES})
                    FROM (SELECT kind, name, geom, {km2} AS km2
                          FROM basemap_stage WHERE kind = %s) s
                    WHERE {_zoom_case("km2", AREA_ZOOM[kind])} <= %s
                    """,
                    [low, high, tolerance, kind, high],
                )
            # One label per name: the pieces of a lake or a park are named once.
            cur.execute(
                f"""
                INSERT INTO streets_maplabel (kind, name, min_zoom, rank, geom)
                SELECT kind, name, {_zoom_case("km2", LABEL_ZOOM[kind])},
                    CASE WHEN km2 >= 1 THEN 0 WHEN km2 >= 0.1 THEN 1 ELSE 2 END,
                    ST_Transform(ST_PointOnSurface(geom), 3857)
                FROM (SELECT kind, name, ST_Union(geom) AS geom,
                        SUM({km2}) AS km2
                      FROM basemap_stage WHERE kind = %s AND name <> ''
                      GROUP BY kind, name) s
                """,
                [kind],
            )
        cur.execute(
            """
            INSERT INTO streets_maplabel (kind, name, min_zoom, rank, geom)
            SELECT kind, name, CASE kind WHEN 'district' THEN 10 ELSE 13 END, 0,
                ST_Transform(ST_PointOnSurface(ST_Union(geom)), 3857)
            FROM basemap_stage WHERE kind IN ('district', 'neighbourhood')
            GROUP BY kind, name
            """
        )
        cur.executemany(
            "INSERT INTO streets_maplabel (kind, name, min_zoom, rank, geom)"
            " VALUES (%s, %s, %s, %s,"
            " ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 3857))",
            [(k, n, z, r, lon, lat) for k, n, lon, lat, z, r in points],
        )
        cur.execute("SELECT count(*) FROM streets_maparea")
        n_areas = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM streets_maplabel")
        n_labels = cur.fetchone()[0]
        cur.execute("ANALYZE streets_maparea")
        cur.execute("ANALYZE streets_maplabel")
    bump(STREETS)  # the tiles carry these layers
    return {
        "areas": n_areas,
        "labels": n_labels,
        "seconds": round(time.monotonic() - started, 1),
    }
