"""A route's vertices, cells and stretch names read in arrays for all its steps at
once (StreetGraph.steps_points / steps_cells, street_routes.RouteArrays, the
junction names per graph) equal what the step-by-step helpers give, exactly, on
real routes of every mode: whole edges both ways, cut first and last steps, a
route inside one edge, waypoints, points on a vertex."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from commutes.services import street_routes
from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M
from osm.names import base_name
from streets.services.street_graph import Snap, StreetGraph, street_graph
from tests.reference_data import ensure_streets

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(db) -> StreetGraph:
    ensure_streets()
    return street_graph()


def _routes(graph: StreetGraph) -> list[street_routes.StreetRoute]:
    """Random routes of every mode (some through a waypoint, some from or to a
    vertex), and two inside one edge."""
    return [route for _, route in _mode_routes(graph)]


def _mode_routes(graph: StreetGraph) -> list[tuple[str, street_routes.StreetRoute]]:
    rng = np.random.default_rng(16)
    routes = []
    for mode in ("walk", "bike", "drive"):
        edges = graph.modes[mode].tree_edges
        made = 0
        while made < 8:
            count = 3 if made % 3 == 0 else 2
            fractions = rng.choice([0.0, 1.0, *rng.uniform(0, 1, 4)], count)
            snaps = [
                Snap(int(e), float(f), 0.0, 0.0, 0.0)
                for e, f in zip(rng.choice(edges, count), fractions, strict=True)
            ]
            try:
                routes.append((mode, street_routes.route_through(graph, mode, snaps)))
            except street_routes.LegNotFound:
                continue
            made += 1
    edge = int(graph.modes["walk"].tree_edges[0])
    for a, b in ((0.2, 0.7), (0.6, 0.1)):
        snaps = [Snap(edge, a, 0.0, 0.0, 0.0), Snap(edge, b, 0.0, 0.0, 0.0)]
        routes.append(("walk", street_routes.route_through(graph, "walk", snaps)))
    return routes


def _coords_one_by_one(graph, steps) -> list[list[float]]:
    xy = np.round(np.concatenate([graph.step_coords(s) for s in steps]), 6)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)
    return xy[keep].tolist()


def _cells_one_by_one(graph, steps) -> np.ndarray:
    return np.unique(
        np.concatenate([graph.step_cells(s, CORRIDOR_HALF_WIDTH_M) for s in steps])
    )


def test_steps_read_together_equal_steps_read_one_by_one(graph):
    routes = _routes(graph)
    steps = [s for r in routes for s in r.steps]
    # The routes have what needs care: cut steps, and whole edges against their
    # direction.
    assert any(not s.whole for s in steps)
    assert any(s.whole and not s.forward for s in steps)
    for route in routes:
        points = graph.steps_points(route.steps)
        cell_at, cells = graph.steps_cells(route.steps, CORRIDOR_HALF_WIDTH_M)
        given = graph.steps_cells(route.steps, CORRIDOR_HALF_WIDTH_M, points)
        assert np.array_equal(given[0], cell_at) and np.array_equal(given[1], cells)
        for i, step in enumerate(route.steps):
            rows = slice(points.at[i], points.at[i + 1])
            assert np.array_equal(points.lonlat[rows], graph.step_coords(step))
            utm = shapely.get_coordinates(graph.step_line_utm(step))
            assert np.array_equal(points.utm[rows], utm)
            assert np.array_equal(
                cells[cell_at[i] : cell_at[i + 1]],
                graph.step_cells(step, CORRIDOR_HALF_WIDTH_M),
            )


def test_a_routes_stretches_read_from_its_arrays_equal_their_own(graph):
    for route in _routes(graph):
        steps = route.steps
        n = len(steps)
        arrays = street_routes.route_arrays(graph, steps)
        found = street_routes.stretches(graph, route)
        runs = [(s.first_step, s.first_step + len(s.steps)) for s in found]
        # The stretches are the route's steps in order, each run of them.
        assert [s for f in found for s in f.steps] == steps
        assert all(steps[a:b] == f.steps for (a, b), f in zip(runs, found, strict=True))
        runs += [(0, n), (n - 1, n), (0, 1)]
        coords, cells = arrays.coords(runs), arrays.cell_ids(runs)
        assert coords[-3] == street_routes.route_coords(graph, steps)
        assert np.array_equal(cells[-3], street_routes.route_cells(graph, steps))
        for (a, b), xy, ids in zip(runs, coords, cells, strict=True):
            assert xy == _coords_one_by_one(graph, steps[a:b])
            assert np.array_equal(ids, _cells_one_by_one(graph, steps[a:b]))
            assert ids.dtype == np.int64
            utm = [shapely.get_coordinates(graph.step_line_utm(s)) for s in steps[a:b]]
            assert np.array_equal(arrays.utm(a, b), np.concatenate(utm))
        for f in found:
            assert f.streets == street_routes.route_streets(graph, f.steps)


def test_junction_names_read_once_name_the_crossings_as_base_names_do(graph):
    junctions = street_routes._junctions(graph)

    def crossing(vertex, own):  # _cross_street as it read names one by one
        bases = {base_name(label) for label in own}
        for _, label in junctions.names.get(vertex, []):
            if base_name(label) not in bases:
                return label
        return None

    checked = 0
    for route in _routes(graph):
        for step in route.steps:
            vertex = street_routes._end_vertex(graph, step)
            label = graph.labels[step.edge]
            expected = crossing(vertex, {label})
            assert street_routes._cross_street(junctions, vertex, {label}) == expected
            at = -1 if vertex is None else vertex
            assert street_routes._crosses(junctions, at, label) == (
                expected is not None
            )
            checked += expected is not None
    assert checked > 10


def test_a_street_path_is_its_stretches_end_to_end(graph):
    from commutes.services.commute import _street_path

    for route in _routes(graph):
        path = _street_path(graph, route, "shortest")
        found = street_routes.stretches(graph, route)
        assert len(path.stretches) == len(found)
        assert np.array_equal(
            path.line_xy, np.concatenate([s.xy for s in path.stretches])
        )
        assert path.coords == street_routes.route_coords(graph, route.steps)
        assert np.array_equal(
            path.cell_ids, street_routes.route_cells(graph, route.steps)
        )
        for stretch, mine in zip(found, path.stretches, strict=True):
            assert mine.geometry["coordinates"] == _coords_one_by_one(
                graph, stretch.steps
            )
            assert np.array_equal(
                mine.cell_ids, _cells_one_by_one(graph, stretch.steps)
            )
            assert (mine.name, mine.from_m, mine.to_m) == (
                stretch.name,
                stretch.from_m,
                stretch.to_m,
            )


def test_a_graph_made_without_the_flat_vertices_makes_them_as_the_build_does(graph):
    import dataclasses

    made = dataclasses.replace(graph, coord_indptr=None, lonlat=None, utm_xy=None)
    assert np.array_equal(made.coord_indptr, graph.coord_indptr)
    assert np.array_equal(made.lonlat, graph.lonlat)
    assert np.array_equal(made.utm_xy, graph.utm_xy)
