"""The analysis grid as this site configures it (settings.GRID_CELL_SIZE), for SQL.

Square cells in EPSG:32610 aligned to a fixed origin; cell_id = row * 10000 + col,
where col/row count whole cells from the origin. The formula and the origin are
ml.grid's; these helpers apply them to the configured cell size.
"""

from __future__ import annotations

import math

from django.conf import settings

from ml.grid import ID_BASE as ROW_FACTOR


def cell_col_row(x: float, y: float, size: float | None = None) -> tuple[int, int]:
    size = size or settings.GRID_CELL_SIZE
    x0, y0 = settings.GRID_ORIGIN
    return math.floor((x - x0) / size), math.floor((y - y0) / size)


def cell_id_of(x: float, y: float, size: float | None = None) -> int:
    col, row = cell_col_row(x, y, size)
    return row * ROW_FACTOR + col


def cell_bounds(
    cell_id: int, size: float | None = None
) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of a cell in EPSG:32610."""
    size = size or settings.GRID_CELL_SIZE
    x0, y0 = settings.GRID_ORIGIN
    row, col = divmod(cell_id, ROW_FACTOR)
    return (
        x0 + col * size,
        y0 + row * size,
        x0 + (col + 1) * size,
        y0 + (row + 1) * size,
    )


def cell_id_sql(
    x_column: str = "x_utm", y_column: str = "y_utm", size: float | None = None
) -> str:
    """SQL expression computing the cell id from metric coordinate columns."""
    size = float(size or settings.GRID_CELL_SIZE)
    x0, y0 = settings.GRID_ORIGIN
    return (
        f"(floor(({y_column} - {y0}) / {size})::bigint * {ROW_FACTOR}"
        f" + floor(({x_column} - {x0}) / {size})::bigint)"
    )
