"""The analysis grid as this site configures it (settings.GRID_CELL_SIZE), for SQL.

Square cells in EPSG:32610; the cell-id formula and the origin are ml.grid's, and the
SQL below is generated from them (tests/test_one_rule_per_fact.py checks it against
ml.grid on real rows).
"""

from __future__ import annotations

import numpy as np
from django.conf import settings

from ml.grid import GRID_ORIGIN, ID_BASE, cell_col_row, cell_id

__all__ = [
    "GRID_ORIGIN",
    "cell_bounds",
    "cell_ids_from",
    "cell_id_of",
    "cell_id_sql",
    "col_row_sql",
    "corner_sql",
]


def _size(size: float | None) -> float:
    return float(size or settings.GRID_CELL_SIZE)


def cell_id_of(x: float, y: float, size: float | None = None) -> int:
    """The id of the cell (of ``size`` metres, default the grid's) holding a point."""
    return int(cell_id(*cell_col_row(x, y, _size(size))))


def cell_ids_from(cols, rows) -> np.ndarray:
    """The ids of (col, row) pairs (int64), -1 where the formula gives no unique id (a
    typo'd coordinate far from Seattle). Vectorised: the history grid has 10k cells,
    and numpy per scalar cost it ~15 ms."""
    cols = np.asarray(cols, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    unique = (cols >= 0) & (cols < ID_BASE) & (rows >= 0)
    return np.where(unique, cell_id(cols, rows), -1)


def cell_bounds(cell_id, size: float | None = None) -> tuple:
    """(xmin, ymin, xmax, ymax) of a cell in EPSG:32610: floats for one id, arrays
    (the same values) for an int64 array of ids."""
    size = _size(size)
    x0, y0 = GRID_ORIGIN
    row, col = divmod(cell_id, ID_BASE)
    return (
        x0 + col * size,
        y0 + row * size,
        x0 + (col + 1) * size,
        y0 + (row + 1) * size,
    )


def col_row_sql(x: str, y: str, size: float | None = None) -> tuple[str, str]:
    """SQL expressions of the (col, row) holding metric coordinates ``x``, ``y``."""
    size = _size(size)
    x0, y0 = GRID_ORIGIN
    return (
        f"floor(({x} - {x0}) / {size})::bigint",
        f"floor(({y} - {y0}) / {size})::bigint",
    )


def cell_id_sql(
    x_column: str = "x_utm", y_column: str = "y_utm", size: float | None = None
) -> str:
    """SQL expression computing the cell id from metric coordinate columns."""
    col, row = col_row_sql(x_column, y_column, size)
    return f"({row} * {ID_BASE} + {col})"


def corner_sql(
    col: str, row: str, size: float | None = None, offset: float = 0.0
) -> tuple[str, str]:
    """SQL (x, y) of a cell's south-west corner (``offset`` 0.5: its centre, 1: its
    north-east corner) from its col / row expressions."""
    size = _size(size)
    x0, y0 = GRID_ORIGIN
    return (
        f"({x0} + ({col} + {offset}) * {size})",
        f"({y0} + ({row} + {offset}) * {size})",
    )
