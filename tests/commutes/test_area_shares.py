"""The share of each grid cell within the corridor's half width of a route
(corridor.area_shares): known cases, and the general overlay on a winding route."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from django.conf import settings

from commutes.services.corridor import area_shares
from core.grid_sql import cell_bounds
from ml.grid import GRID_ORIGIN, ID_BASE, cell_col_row, cell_id

SIZE = settings.GRID_CELL_SIZE
X0, Y0 = GRID_ORIGIN[0] + 300 * SIZE, GRID_ORIGIN[1] + 200 * SIZE  # a corner


def _cells_near(line_xy: np.ndarray, reach: float) -> np.ndarray:
    xmin, ymin = line_xy.min(axis=0) - reach
    xmax, ymax = line_xy.max(axis=0) + reach
    xs, ys = np.meshgrid(
        np.arange(xmin, xmax, SIZE / 2), np.arange(ymin, ymax, SIZE / 2)
    )
    return np.unique(cell_id(*cell_col_row(xs.ravel(), ys.ravel(), SIZE)))


def test_a_straight_street_through_the_middle_of_its_cells_covers_them():
    # Along the middle of a row of cells, 1 km long: the 200 m band covers the
    # 150 m cells it runs through (away from the ends) and 25 m of each neighbour.
    y = Y0 + SIZE / 2
    line = np.array([[X0, y], [X0 + 1000.0, y]])
    middle = cell_id(*cell_col_row(np.array([X0 + 500.0]), np.array([y]), SIZE))
    above = middle + ID_BASE  # the next row up
    shares = area_shares(line, np.concatenate([middle, above]), half_width_m=100.0)
    assert shares[0] == pytest.approx(1.0)
    assert shares[1] == pytest.approx((100.0 - SIZE / 2) / SIZE)


def test_shares_equal_the_general_overlay_on_a_winding_route():
    rng = np.random.default_rng(4)
    steps = rng.normal(0, 120, (60, 2)) + [80.0, 30.0]
    line = np.array([X0, Y0]) + np.cumsum(steps, axis=0)
    cells = _cells_near(line, 200.0)
    zone = shapely.LineString(line).buffer(100.0)
    bounds = np.array([cell_bounds(int(c)) for c in cells])
    overlay = shapely.area(shapely.intersection(shapely.box(*bounds.T), zone)) / (
        SIZE * SIZE
    )
    shares = area_shares(line, cells, half_width_m=100.0)
    assert np.allclose(shares, overlay, atol=1e-9)
    assert (
        (shares == 0).any()
        and (shares > 0.99).any()
        and ((0 < shares) & (shares < 1)).any()
    )


def test_one_call_for_every_cell_equals_one_clip_per_cell():
    # shapely.clip_by_rect takes one rectangle; area_shares passes them all to its
    # ufunc at once: the same areas, to the last bit.
    rng = np.random.default_rng(7)
    line = np.array([X0, Y0]) + np.cumsum(rng.normal(0, 90, (80, 2)) + 40.0, axis=0)
    cells = _cells_near(line, 150.0)
    zone = shapely.LineString(line).buffer(100.0)
    bounds = [cell_bounds(int(c)) for c in cells]
    one_by_one = np.array(
        [shapely.area(shapely.clip_by_rect(zone, *box)) for box in bounds]
    ) / np.array([(b[2] - b[0]) * (b[3] - b[1]) for b in bounds])
    assert np.array_equal(area_shares(line, cells, half_width_m=100.0), one_by_one)
    assert np.array_equal(np.column_stack(cell_bounds(cells)), np.array(bounds))
