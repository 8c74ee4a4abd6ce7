"""The leaky ceiling reference never counts the scored week's own events."""

from __future__ import annotations

import numpy as np

from ml.ceiling import YearOracle
from ml.events import Events
from ml.timeutil import DAY

from .conftest import local_s, make_events, square_grid

GRID = square_grid(6)


def test_year_oracle_leaves_the_scored_week_out():
    rng = np.random.default_rng(0)
    x, y = GRID.centers()
    y0 = local_s(2021, 1, 4)
    n = 4000
    pos = rng.integers(0, GRID.n_cells, n)
    t = y0 - 400 * DAY + rng.integers(0, 700 * DAY, n)
    ev = make_events(t, x[pos], y[pos], category=rng.integers(0, 2, n))
    origin = y0 + 70 * DAY
    # 50 extra events inside the scored week, all in cell 7.
    extra = make_events(origin + rng.integers(0, 7 * DAY, 50), x[7], y[7], category=1)
    for kw in ({}, {"shrink": 64.0}, {"shrink": 64.0, "local_weeks": 2}):
        a = YearOracle(ev, GRID, y0, y0 + 364 * DAY, **kw).predict(ev, origin, 168)
        both = Events.concat([ev, extra])
        b = YearOracle(both, GRID, y0, y0 + 364 * DAY, **kw).predict(both, origin, 168)
        np.testing.assert_allclose(a, b, rtol=1e-5)
        assert a.shape == (168, GRID.n_cells, 2) and (a > 0).all()
