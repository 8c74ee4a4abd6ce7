"""Which forecast columns each street edge covers: the one join of the routing graph's
edges (their ``cell_ids``) to a forecast grid's sorted cell ids.

The commute's exposure (alternatives.edge_mean_matrix: the mean over an edge's cells)
and the trip reference (trip_reference.edge_cell_matrix: every cell of an edge) weigh
the same pairs differently, so they share this and not the matrix.
"""

from __future__ import annotations

import numpy as np

from streets.services.street_graph import StreetGraph


def edge_columns(
    graph: StreetGraph, grid_cell_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(edge row, forecast column) for each of the edges' cells the grid has.

    A cell the forecast grid lacks (the edges were cut against another grid) is
    left out rather than matched to its neighbour in the sorted ids.
    """
    pos = np.clip(
        np.searchsorted(grid_cell_ids, graph.cell_ids), 0, grid_cell_ids.size - 1
    )
    known = grid_cell_ids[pos] == graph.cell_ids
    rows = np.repeat(np.arange(graph.edge_ids.size), np.diff(graph.cell_indptr))
    return rows[known], pos[known]
