"""Each street edge's forecast cells: the cells within the corridor's half width.

The exposure of a street route sums the forecast of these cells (street_routes), so
they are computed against the forecast grid: when the network loads
(``streets.signals.network_loaded``) for the edges that lack them, and for every edge
when the grid is rebuilt (``predictions.signals.grid_rebuilt``). The load records the
grid they were computed against (``grid_signature``), which also keys the in-process
routing graph.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M

_EDGE_CELLS = """
UPDATE commutes_streetedge e SET cell_ids = coalesce((
    SELECT array_agg(c.id ORDER BY c.id) FROM predictions_cell c
    WHERE ST_DWithin(c.geom, ST_Transform(e.geom, %(srid)s), %(radius)s)
), '{}')
WHERE e.cell_ids IS NULL
"""


def grid_signature(cursor) -> str:
    """Identifies the forecast grid the edges' cells were computed against."""
    cursor.execute(
        "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0),"
        " coalesce(max(size), 0) FROM predictions_cell"
    )
    n, lo, hi, size = cursor.fetchone()
    return f"{n}:{lo}:{hi}:{float(size):g}"


def refresh_edge_cells(cursor, force: bool = False) -> int:
    """Compute the cells within CORRIDOR_HALF_WIDTH_M of every edge that lacks them.

    ``force``: forget every edge's cells first (the grid changed). Returns how many
    edges were computed.
    """
    if force:
        cursor.execute("UPDATE commutes_streetedge SET cell_ids = NULL")
    cursor.execute(
        _EDGE_CELLS, {"srid": settings.ANALYSIS_SRID, "radius": CORRIDOR_HALF_WIDTH_M}
    )
    return cursor.rowcount


def cells_for_loaded_network(sender, cursor, say, **kwargs) -> dict:
    """streets.signals.network_loaded: the cells of the new and moved edges (of all
    edges when the grid changed since the previous load)."""
    signature = grid_signature(cursor)
    cursor.execute(
        "SELECT grid_signature FROM commutes_streetnetworkload ORDER BY id DESC LIMIT 1"
    )
    row = cursor.fetchone()
    grid_changed = row is not None and row[0] != signature
    computed = refresh_edge_cells(cursor, force=grid_changed)
    say(f"cells within {CORRIDOR_HALF_WIDTH_M:.0f} m of {computed} edges")
    return {"cells_computed": computed, "grid_signature": signature}


def cells_for_new_grid(sender, cursor, **kwargs) -> None:
    """predictions.signals.grid_rebuilt: recompute every edge's cells now, in the
    rebuild's transaction, and record the grid they were computed against."""
    if "commutes_streetedge" not in connection.introspection.table_names(cursor):
        return  # the grid's own migration, before the network exists
    cursor.execute("SELECT EXISTS (SELECT 1 FROM commutes_streetedge)")
    if not cursor.fetchone()[0]:
        return
    refresh_edge_cells(cursor, force=True)
    cursor.execute(
        "UPDATE commutes_streetnetworkload SET grid_signature = %s"
        " WHERE id = (SELECT max(id) FROM commutes_streetnetworkload)",
        [grid_signature(cursor)],
    )
