"""The analysis grid in PostGIS: cells of settings.GRID_CELL_SIZE touching the city.

Built in SQL (generate_series + ST_Intersects against the city-limits Area) so it runs
the same from a migration, a command or a test. Cell ids follow ml.grid's formula (SQL
from core.grid_sql), so a rebuild with the same setting gives the same ids and the same
dense ``idx`` order.
"""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from core.cache import GRID, VersionedCache, bump
from core.grid_sql import GRID_ORIGIN, col_row_sql, corner_sql
from ml.grid import ID_BASE
from predictions.models import Cell
from predictions.signals import grid_rebuilt


def build_sql(size: float) -> str:
    """The INSERT of every cell of ``size`` metres touching the city limits, with the
    grid formula and origin of core.grid_sql (ml.grid)."""
    c0, r0 = col_row_sql("ST_XMin(g)", "ST_YMin(g)", size)
    c1, r1 = col_row_sql("ST_XMax(g)", "ST_YMax(g)", size)
    west, south = corner_sql("c", "r", size)
    east, north = corner_sql("c", "r", size, offset=1.0)
    return f"""
WITH city AS (
    SELECT ST_Transform(ST_Union(geom), %(srid)s) AS g
    FROM crimes_area WHERE kind = 'city'
), span AS (
    SELECT g, {c0} AS c0, {c1} AS c1, {r0} AS r0, {r1} AS r1
    FROM city WHERE g IS NOT NULL
), boxes AS (
    SELECT r, c, ST_MakeEnvelope({west}, {south}, {east}, {north}, %(srid)s) AS box,
        span.g
    FROM span, generate_series(span.r0, span.r1) AS r,
        generate_series(span.c0, span.c1) AS c
), kept AS (
    SELECT r * {ID_BASE} + c AS id, r, c, box
    FROM boxes WHERE ST_Intersects(box, g)
)
INSERT INTO predictions_cell (id, idx, row, col, size, geom, lon, lat)
SELECT id, (row_number() OVER (ORDER BY id) - 1)::int, r, c, %(size)s, box,
    ST_X(ST_Transform(ST_Centroid(box), 4326)),
    ST_Y(ST_Transform(ST_Centroid(box), 4326))
FROM kept
"""


def build_cells(cursor=None, cell_size: float | None = None) -> int:
    """(Re)build predictions_cell from the city limits; returns the number of cells.

    Takes a raw cursor so the migration can call it with its schema editor's
    connection. Rebuilding is deterministic: same setting, same ids and idx.
    """
    size = float(cell_size or settings.GRID_CELL_SIZE)
    params = {"srid": settings.ANALYSIS_SRID, "size": size}

    def run(cur) -> int:
        cur.execute("DELETE FROM predictions_cell")
        cur.execute(build_sql(size), params)
        cur.execute("SELECT count(*) FROM predictions_cell")
        count = int(cur.fetchone()[0])
        grid_rebuilt.send(sender=Cell, cursor=cur, cell_size=size)
        return count

    if cursor is not None:
        n = run(cursor)
        bump(GRID)  # written with SQL: no model signal
    else:
        with transaction.atomic(), connection.cursor() as cur:
            n = run(cur)
            bump(GRID)
    return n


_ARRAYS = VersionedCache("grid-arrays", (GRID,), local=1)


def _grid_arrays() -> dict[str, np.ndarray]:
    with connection.cursor() as cur:
        cur.execute("SELECT id, lon, lat FROM predictions_cell ORDER BY idx")
        rows = cur.fetchall()
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    return {
        "cell_ids": arr[:, 0].astype(np.int64),
        "lon": arr[:, 1],
        "lat": arr[:, 2],
    }


def grid_arrays() -> dict[str, np.ndarray]:
    """Cell ids (int64) and WGS84 centres in idx order, cached per process on the
    grid's version (a rebuild is seen at once)."""
    return _ARRAYS.get("all", _grid_arrays)


def grid_spec():
    """The grid as an ml.grid.GridSpec (ids sorted = idx order)."""
    from ml.grid import GridSpec

    x0, y0 = GRID_ORIGIN
    ids = grid_arrays()["cell_ids"]
    if not len(ids):
        raise RuntimeError(
            "the grid is empty: load the city limits and run `manage.py build_grid`"
        )
    return GridSpec(x0, y0, float(settings.GRID_CELL_SIZE), ids)


def cell_at(lon: float, lat: float) -> int | None:
    """idx of the cell containing a WGS84 point, or None outside the grid."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT idx FROM predictions_cell WHERE ST_Contains(geom,"
            " ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s)) LIMIT 1",
            [lon, lat, settings.ANALYSIS_SRID],
        )
        row = cur.fetchone()
    return int(row[0]) if row else None


def in_city(lon: float, lat: float) -> bool:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT EXISTS (SELECT 1 FROM crimes_area WHERE kind = 'city' AND"
            " ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326)))",
            [lon, lat],
        )
        return bool(cur.fetchone()[0])
