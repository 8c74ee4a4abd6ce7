from __future__ import annotations

import json

import numpy as np

from ml.counts import build_counts, cell_counts, channel_of, spread_over_local_day
from ml.events import utm_to_lonlat
from ml.grid import GridSpec

from .conftest import cell_center, local_s, make_events, square_grid

H = 3600


def test_cell_id_formula_matches_the_contract():
    g = GridSpec(540000.0, 5255000.0, 150.0, [1234 * 10000 + 56])
    x = 540000.0 + 56 * 150 + 1.0
    y = 5255000.0 + 1234 * 150 + 149.0
    assert g.cell_id_of(np.array([x]), np.array([y]))[0] == 12340056
    assert g.index_of(np.array([x, x + 150]), np.array([y, y]))[0] == 0
    assert g.index_of(np.array([x + 150]), np.array([y]))[0] == -1


def test_from_geojson_keeps_cells_touching_the_polygon(tmp_path):
    # A 380 m square from (541010, 5256010): with 150 m cells it touches cols and
    # rows 6..9 (it ends at 541390, inside col 9 = 541350..541500).
    x0, y0, s = 541010.0, 5256010.0, 380.0
    ring_xy = [(x0, y0), (x0 + s, y0), (x0 + s, y0 + s), (x0, y0 + s), (x0, y0)]
    lon, lat = utm_to_lonlat(
        np.array([p[0] for p in ring_xy]), np.array([p[1] for p in ring_xy])
    )
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]
                    ],
                },
            }
        ],
    }
    p = tmp_path / "sq.geojson"
    p.write_text(json.dumps(gj))
    g = GridSpec.from_geojson(p, 150.0)
    assert sorted(set(g.rows)) == [6, 7, 8, 9]
    assert sorted(set(g.cols)) == [6, 7, 8, 9]
    assert g.n_cells == 16


def test_raster_round_trip_and_coarsen(grid10):
    v = np.arange(grid10.n_cells, dtype=np.float32)
    r = grid10.to_raster(v[None])
    assert r.shape == (1, 10, 10) and grid10.mask().all()
    assert (grid10.from_raster(r)[0] == v).all()
    coarse, parent = grid10.coarsen(2)
    assert coarse.n_cells == 25 and coarse.cell_size == 300.0
    summed = np.zeros(coarse.n_cells)
    np.add.at(summed, parent, v)
    assert summed.sum() == v.sum()
    # rows 100-101 / cols 100-101 -> coarse row 50, col 50
    assert coarse.cell_ids[0] == 50 * 10000 + 50


def test_build_counts_aggregates_sparse_and_dense(grid10):
    t0 = local_s(2021, 6, 7, 0)
    x, y = cell_center(grid10, 3)
    ev = make_events(
        [t0 + 10, t0 + 20, t0 + 2 * H + 5, t0 + 2 * H, t0 + 50 * H],
        [x, x, x, 0.0, x],
        [y, y, y, 0.0, y],
        category=[0, 0, 1, 1, 2],
    )
    c = build_counts(ev, grid10, t0, t0 + 24 * H)
    assert c.n_hours == 24 and len(c.count) == 2  # outside-grid and SOCIETY dropped
    d = c.dense()
    assert d[0, 3, 0] == 2 and d[2, 3, 1] == 1 and d.sum() == 3
    assert (c.dense_at(t0 + 2 * H, 1)[0, 3] == [0, 1]).all()
    assert (c.per_cell()[3] == [2, 1]).all()
    assert (cell_counts(ev, grid10)[3] == [2, 1]).all()
    assert channel_of(np.array([0, 1, 2, 3])).tolist() == [0, 1, -1, -1]


def test_spread_imprecise_over_a_25_hour_local_day(grid10):
    day = local_s(2021, 11, 7, 0)  # DST ends: 25 local hours
    src, hours, w = spread_over_local_day(np.array([day, local_s(2021, 6, 1, 12)]))
    assert (src == 0).sum() == 25 and (src == 1).sum() == 24
    assert np.isclose(w[src == 0].sum(), 1.0) and hours[0] == day
    x, y = cell_center(grid10, 0)
    ev = make_events([day, day + 5 * H], x, y, imprecise=[True, False])
    spread = build_counts(ev, grid10, day, day + 25 * H, imprecise="spread").dense()
    assert np.isclose(spread[:, 0, 1].sum(), 2.0)
    assert np.isclose(spread[0, 0, 1], 1 / 25) and np.isclose(
        spread[5, 0, 1], 1 + 1 / 25
    )
    dropped = build_counts(ev, grid10, day, day + 25 * H, imprecise="drop").dense()
    assert dropped.sum() == 1.0
    kept = build_counts(ev, grid10, day, day + 25 * H, imprecise="keep").dense()
    assert kept[0, 0, 1] == 1.0


def test_counts_of_many_events_stay_small():
    g = square_grid(50)
    rng = np.random.default_rng(0)
    n = 200_000
    x, y = g.centers()
    pos = rng.integers(0, g.n_cells, n)
    t0 = local_s(2019, 1, 1)
    ev = make_events(t0 + rng.integers(0, 3 * 365 * 24 * H, n), x[pos], y[pos])
    c = build_counts(ev, g, t0, t0 + 3 * 365 * 24 * H)
    assert c.count.sum() == n
    dense_bytes = c.n_hours * g.n_cells * 2 * 4
    assert c.nbytes < dense_bytes / 50
