"""The base map's vector tiles, made by PostGIS (ST_AsMVT).

The base map of every page when MAP_TILES_URL is empty (drawn by MapLibre with
static/map/style.json). Four layers:

- "water" and "parks": polygons with their ``name`` (``MapArea``: pieces of at most
  256 vertices, so a tile clips a few; the small ones only close up);
- "streets": each line's ``name``, OSM ``class`` and ``rank`` (0 = motorway .. 8 =
  living street). Far out only the big roads are in the tile, close up every street,
  so a tile stays small at every zoom. Geometries come from ``StreetLine`` (the edges
  of one name and class merged, EPSG:3857, GiST-indexed);
- "labels": points with ``kind`` (water, park, district, neighbourhood, station,
  landmark), ``name`` and ``rank`` (``MapLabel``), each from its own first zoom.
"""

from __future__ import annotations

from django.db import connection

from osm.highways import CLASS_RANK

LAYER = "streets"
EXTENT = 4096
BUFFER = 64
MIN_ZOOM = 0
MAX_ZOOM = 20
# Below zoom 14 a tile spans more than ~2.4 km: only roads of these ranks are drawn.
RANK_BY_ZOOM = {11: 2, 12: 3, 13: 6}  # zoom <= key -> rank <= value
RANK_FAR = 1  # zoom <= 10: motorways and trunks only

# A tile is the concatenation of one ST_AsMVT per layer (a layer without rows is no
# bytes), drawn bottom to top by the style: water, parks, streets, labels.
_SQL = f"""
WITH bounds AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env),
water AS (
    SELECT ST_AsMVTGeom(a.geom, bounds.env, {EXTENT}, {BUFFER}, true) AS geom,
        a.name
    FROM streets_maparea a, bounds
    WHERE a.kind = 'water' AND a.geom && bounds.env
        AND %(z)s BETWEEN a.min_zoom AND a.max_zoom
),
parks AS (
    SELECT ST_AsMVTGeom(a.geom, bounds.env, {EXTENT}, {BUFFER}, true) AS geom,
        a.name
    FROM streets_maparea a, bounds
    WHERE a.kind = 'park' AND a.geom && bounds.env
        AND %(z)s BETWEEN a.min_zoom AND a.max_zoom
),
lines AS (
    SELECT ST_AsMVTGeom(
            CASE WHEN %(tolerance)s > 0
                THEN ST_Simplify(l.geom_mercator, %(tolerance)s)
                ELSE l.geom_mercator END,
            bounds.env, {EXTENT}, {BUFFER}, true) AS geom,
        l.label AS name, l.highway AS class, l.rank
    FROM commutes_streetline l, bounds
    WHERE l.geom_mercator && bounds.env AND l.rank <= %(rank)s
),
labels AS (
    SELECT ST_AsMVTGeom(m.geom, bounds.env, {EXTENT}, {BUFFER}, true) AS geom,
        m.kind, m.name, m.rank
    FROM streets_maplabel m, bounds
    WHERE m.geom && bounds.env AND m.min_zoom <= %(z)s
)
SELECT
    COALESCE((SELECT ST_AsMVT(water, 'water', {EXTENT}, 'geom')
              FROM water WHERE geom IS NOT NULL), '')
    || COALESCE((SELECT ST_AsMVT(parks, 'parks', {EXTENT}, 'geom')
                 FROM parks WHERE geom IS NOT NULL), '')
    || COALESCE((SELECT ST_AsMVT(lines, '{LAYER}', {EXTENT}, 'geom')
                 FROM lines WHERE geom IS NOT NULL), '')
    || COALESCE((SELECT ST_AsMVT(labels, 'labels', {EXTENT}, 'geom')
                 FROM labels WHERE geom IS NOT NULL), '')
"""


def max_rank(z: int) -> int:
    """The smallest road class (largest rank) drawn at zoom ``z``."""
    if z <= 10:
        return RANK_FAR
    for zoom, rank in sorted(RANK_BY_ZOOM.items()):
        if z <= zoom:
            return rank
    return max(CLASS_RANK.values())


def tile_in_range(z: int, x: int, y: int) -> bool:
    return MIN_ZOOM <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


HALF_WORLD = 20037508.342789244  # EPSG:3857


def network_extent() -> tuple[float, float, float, float] | None:
    """(xmin, ymin, xmax, ymax) of every street line in EPSG:3857; None when none."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
            " FROM (SELECT ST_Extent(geom_mercator) AS e FROM commutes_streetline) s"
        )
        row = cur.fetchone()
    return None if row is None or row[0] is None else tuple(map(float, row))


def tile_misses(z: int, x: int, y: int, extent) -> bool:
    """True when tile z/x/y (with its buffer) holds no part of ``extent``: the tile is
    empty, known without a query (a scanner's millions of tiles over the sea and the
    rest of the world cost nothing and are kept nowhere)."""
    if extent is None:
        return True
    size = 2 * HALF_WORLD / 2**z
    pad = size * BUFFER / EXTENT
    xmin = -HALF_WORLD + x * size - pad
    ymax = HALF_WORLD - y * size + pad
    ex0, ey0, ex1, ey1 = extent
    return (
        xmin > ex1
        or xmin + size + 2 * pad < ex0
        or ymax < ey0
        or ymax - size - 2 * pad > ey1
    )


def street_tile(z: int, x: int, y: int) -> bytes:
    """The MVT bytes of tile z/x/y (b"" where nothing is: an empty tile)."""
    rank = max_rank(z)
    # Half a tile pixel (in metres) of simplification far out: invisible, and a
    # zoom-11 tile of the whole city shrinks by half.
    pixel_m = 40075016.686 / 2**z / EXTENT
    tolerance = pixel_m / 2 if z < 14 else 0.0
    with connection.cursor() as cur:
        cur.execute(
            _SQL, {"z": z, "x": x, "y": y, "rank": rank, "tolerance": tolerance}
        )
        row = cur.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
