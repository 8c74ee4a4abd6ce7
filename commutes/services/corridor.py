"""The corridor: forecast grid cells within CORRIDOR_HALF_WIDTH_M of a route (PostGIS).

One query splits the route into equal stretches of about SEGMENT_LENGTH_M and joins
each to predictions' Cell polygons with ST_DWithin (GiST index on Cell.geom), so the
whole corridor and every stretch's share come back together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, LineString
from django.db import connection

CORRIDOR_HALF_WIDTH_M = 100.0
SEGMENT_LENGTH_M = 250.0

_SQL = """
WITH route AS (SELECT ST_GeomFromEWKB(%(line)s) AS g),
segs AS (
    SELECT i, ST_LineSubstring(route.g, i::float8 / %(n)s, (i + 1)::float8 / %(n)s)
        AS g
    FROM route, generate_series(0, %(n)s - 1) AS i
)
SELECT segs.i, ST_AsEWKB(segs.g), ST_AsGeoJSON(ST_Transform(segs.g, %(api_srid)s), 6),
    coalesce(array_agg(c.id ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL), '{}')
FROM segs LEFT JOIN predictions_cell c ON ST_DWithin(c.geom, segs.g, %(width)s)
GROUP BY segs.i, segs.g
ORDER BY segs.i
"""


@dataclass(frozen=True)
class Corridor:
    cell_ids: np.ndarray  # int64, sorted unique: every cell of the corridor
    segment_cell_ids: list[np.ndarray]  # per stretch, in route order
    segments: list[LineString]  # EPSG:32610, in route order
    segments_geojson: list[dict]  # the same in EPSG:4326 (API SRID), GeoJSON
    segment_bounds_m: list[tuple[float, float]]  # (from, to) metres along the route


def segment_count(length_m: float) -> int:
    return max(1, round(length_m / SEGMENT_LENGTH_M))


def find_corridor(
    line_utm: LineString, half_width_m: float = CORRIDOR_HALF_WIDTH_M
) -> Corridor:
    """Cells within ``half_width_m`` of the route (EPSG:32610 line)."""
    if line_utm.srid != settings.ANALYSIS_SRID:
        raise ValueError("the corridor is computed in metres: pass an EPSG:32610 line")
    n = segment_count(line_utm.length)
    with connection.cursor() as cur:
        cur.execute(
            _SQL,
            {
                "line": bytes(line_utm.ewkb),
                "n": n,
                "width": half_width_m,
                "api_srid": settings.API_SRID,
            },
        )
        rows = cur.fetchall()
    per_segment = [np.asarray(r[3], dtype=np.int64) for r in rows]
    segments = [GEOSGeometry(memoryview(bytes(r[1]))) for r in rows]
    # Projected back by PostGIS in the same query: 40 GDAL transforms in Python
    # cost more than the whole corridor query.
    segments_geojson = [json.loads(r[2]) for r in rows]
    step = line_utm.length / n
    every = np.concatenate(per_segment) if per_segment else np.empty(0, np.int64)
    return Corridor(
        cell_ids=np.unique(every),
        segment_cell_ids=per_segment,
        segments=segments,
        segments_geojson=segments_geojson,
        segment_bounds_m=[(i * step, (i + 1) * step) for i in range(n)],
    )


def area_shares(
    line_xy: np.ndarray | shapely.Geometry,
    cell_ids: np.ndarray,
    half_width_m: float = CORRIDOR_HALF_WIDTH_M,
) -> np.ndarray:
    """For each cell, the share of its square within ``half_width_m`` of the line
    (EPSG:32610 vertices, in order, or a shapely geometry in EPSG:32610).

    A route's expected count covers the whole 150 m cells near it; what falls within
    the half width of the way itself is, to within a few percent, each cell's
    forecast times this share (in four held-out weeks of December 2021, the
    incidents that near 900 random routes were 1.04-1.08 times the share-weighted
    forecast, and 0.50-0.63 times the whole cells': benchmarks/check_near_way.py,
    docs/routing.md).
    """
    from core.grid_sql import cell_bounds

    cell_ids = np.asarray(cell_ids, dtype=np.int64)
    if not isinstance(line_xy, shapely.Geometry):
        if len(line_xy) < 2:
            return np.zeros(cell_ids.size)
        line_xy = shapely.LineString(line_xy)
    if not cell_ids.size:
        return np.zeros(cell_ids.size)
    zone = line_xy.buffer(half_width_m)
    xmin, ymin, xmax, ymax = cell_bounds(cell_ids)
    area = (xmax - xmin) * (ymax - ymin)
    # Clipping the zone to each square gives the same area as intersecting the two
    # (to 1e-14) and is ~40x faster: the general overlay walked the whole route's
    # buffer for every cell, a fifth of a commute's time (docs/benchmarks.md).
    # shapely.clip_by_rect takes one rectangle (shapely#1331); its ufunc takes
    # arrays of them, in one call for all the cells instead of one call each.
    inside = shapely.lib.clip_by_rect(zone, xmin, ymin, xmax, ymax)
    return shapely.area(inside) / area
