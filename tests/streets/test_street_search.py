"""StreetGraph.shortest_path on the real network answers exactly as the search did
before it kept its CSR index arrays per mode and computed only the per-pair costs
(issue 16, "Fast routing"): the reference below is that search, verbatim in what it
computes (every arc's cost, a new matrix per search, the path read back arc by arc).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from streets.services.street_graph import (
    _MIN_COST,
    NoRoute,
    Snap,
    Step,
    StreetGraph,
    street_graph,
)
from tests.reference_data import ensure_streets

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(db) -> StreetGraph:
    ensure_streets()
    return street_graph()


def _reference(graph, mode, start, end, edge_factor=None, limit=np.inf):
    """The search as it was (d71c163): whole arrays, concatenated per search."""
    mg = graph.modes[mode]
    n = graph.n_vertices
    factor = np.ones(graph.edge_ids.size) if edge_factor is None else edge_factor
    fwd, back = mg.fwd_seconds * factor, mg.back_seconds * factor
    arc_weight = np.maximum(mg.arc_seconds * factor[mg.arc_edge], _MIN_COST)
    e0, f0, e1, f1 = start.edge, start.fraction, end.edge, end.fraction
    first_to, first_cost = [], []
    if np.isfinite(fwd[e0]):
        first_to.append(graph.target[e0])
        first_cost.append(max((1 - f0) * fwd[e0], _MIN_COST))
    if np.isfinite(back[e0]):
        first_to.append(graph.source[e0])
        first_cost.append(max(f0 * back[e0], _MIN_COST))
    if len(first_to) == 2 and first_to[0] == first_to[1]:
        first_to, first_cost = first_to[:1], [min(first_cost)]
    pairs = np.minimum.reduceat(arc_weight[mg.order], mg.starts)
    matrix = csr_matrix(
        (
            np.concatenate([pairs, first_cost]),
            np.concatenate([mg.pair_to, first_to]).astype(np.int32),
            np.concatenate([mg.indptr, [mg.indptr[-1] + len(first_to)]]).astype(
                np.int32
            ),
        ),
        shape=(n + 1, n + 1),
    )
    dist, pred = dijkstra(
        matrix, directed=True, indices=n, return_predecessors=True, limit=limit
    )
    options = []
    if np.isfinite(fwd[e1]):
        options.append(
            (dist[graph.source[e1]] + f1 * fwd[e1], graph.source[e1], Step(e1, 0, f1))
        )
    if np.isfinite(back[e1]):
        options.append(
            (
                dist[graph.target[e1]] + (1 - f1) * back[e1],
                graph.target[e1],
                Step(e1, 1, f1),
            )
        )
    if e0 == e1:
        if f1 >= f0 and np.isfinite(fwd[e0]):
            options.append(((f1 - f0) * fwd[e0], None, Step(e0, f0, f1)))
        elif f1 < f0 and np.isfinite(back[e0]):
            options.append(((f0 - f1) * back[e0], None, Step(e0, f0, f1)))
    options = [o for o in options if np.isfinite(o[0])]
    if not options:
        raise NoRoute(mode)
    cost, last_vertex, last_step = min(options, key=lambda o: o[0])
    if last_vertex is None:
        return [last_step], float(cost)
    vertices = [last_vertex]
    while vertices[-1] != n:
        previous = int(pred[vertices[-1]])
        if previous < 0:
            raise NoRoute(mode)
        vertices.append(previous)
    vertices = vertices[::-1][1:]
    leave = []
    if np.isfinite(fwd[e0]) and graph.target[e0] == vertices[0]:
        leave.append(((1 - f0) * fwd[e0], Step(e0, f0, 1.0)))
    if np.isfinite(back[e0]) and graph.source[e0] == vertices[0]:
        leave.append((f0 * back[e0], Step(e0, f0, 0.0)))
    steps = [min(leave, key=lambda o: o[0])[1]]
    ends = np.append(mg.starts, mg.order.size)
    for u, v in zip(vertices, vertices[1:], strict=False):
        pair = np.searchsorted(mg.pair_key, u * n + v)
        group = mg.order[ends[pair] : ends[pair + 1]]
        arc = group[np.argmin(arc_weight[group])]
        forward = bool(mg.arc_forward[arc])
        edge = int(mg.arc_edge[arc])
        steps.append(Step(edge, 0.0 if forward else 1.0, 1.0 if forward else 0.0))
    steps.append(last_step)
    return [s for s in steps if s.share > 0], float(cost)


def _snaps(graph, mode, rng, count):
    """Random points on edges the mode may use (as snapping finds them)."""
    edges = graph.modes[mode].tree_edges
    return [
        Snap(int(e), float(f), 0.0, 0.0, 0.0)
        for e, f in zip(
            rng.choice(edges, count),
            np.where(
                rng.random(count) < 0.1,
                rng.choice([0.0, 1.0], count),
                rng.random(count),
            ),
            strict=True,
        )
    ]


@pytest.mark.parametrize("mode", ["walk", "bike", "drive"])
def test_searches_answer_as_the_reference(graph, mode):
    rng = np.random.default_rng(16)
    starts, ends = _snaps(graph, mode, rng, 12), _snaps(graph, mode, rng, 12)
    # One pair on one edge both ways (the search along the start edge).
    starts.append(Snap(ends[0].edge, 0.9, 0.0, 0.0, 0.0))
    ends.append(Snap(ends[0].edge, 0.2, 0.0, 0.0, 0.0))
    exposure = rng.gamma(0.5, 2.0, graph.edge_ids.size)
    exposure[rng.random(exposure.size) < 0.3] = 0.0
    compared = 0
    for a, b in zip(starts, ends, strict=True):
        for factor in (None, 1.0 + 0.25 * exposure, 1.0 + 4.0 * exposure):
            try:
                expected = _reference(graph, mode, a, b, factor)
            except NoRoute:
                with pytest.raises(NoRoute):
                    graph.shortest_path(mode, a, b, factor)
                continue
            assert graph.shortest_path(mode, a, b, factor) == expected
            # Under a bound just above the answer (as alternatives bound theirs),
            # and with the costs computed once for several searches.
            bound = expected[1] * (1 + 1e-9) + 1e-6
            assert _reference(graph, mode, a, b, factor, bound) == expected
            weights = graph.search_weights(mode, factor)
            assert graph.shortest_path(mode, a, b, weights, bound) == expected
            compared += 1
    assert compared >= 30


@pytest.mark.parametrize("mode", ["walk", "bike", "drive"])
def test_a_first_try_under_a_smaller_limit_answers_as_the_limit(graph, mode):
    """What alternatives do: a route's cost under the factor as the first try
    (sure), a bit more, and less than the answer (found nothing: the search runs
    again under the limit)."""
    rng = np.random.default_rng(17)
    starts, ends = _snaps(graph, mode, rng, 10), _snaps(graph, mode, rng, 10)
    exposure = rng.gamma(0.5, 2.0, graph.edge_ids.size)
    compared = 0
    for a, b in zip(starts, ends, strict=True):
        for factor in (None, 1.0 + exposure):
            try:
                expected = graph.shortest_path(mode, a, b, factor)
            except NoRoute:
                continue
            cost = expected[1]
            limit = cost * 3 + 600
            assert graph.shortest_path(mode, a, b, factor, limit) == expected
            for first_try in (cost * (1 + 1e-9) + 1e-6, cost * 1.2, cost * 0.9):
                found = graph.shortest_path(mode, a, b, factor, limit, first_try)
                assert found == expected
            compared += 1
    assert compared >= 15


def _grid(k: int, seconds: np.ndarray) -> StreetGraph:
    """A k x k grid of 100 m blocks, walkable both ways, each block ``seconds``."""
    from streets.services.street_graph import _mode_graph

    ids = np.arange(k * k).reshape(k, k)
    source = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    target = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    xy = np.column_stack([ids.ravel() % k, ids.ravel() // k]) * 100.0
    lines = shapely.linestrings(np.stack([xy[source], xy[target]], axis=1))
    edges = source.size
    graph = StreetGraph(
        key=("grid", k),
        edge_ids=np.arange(edges),
        source=source,
        target=target,
        vertex_osm=np.arange(k * k),
        length_m=np.full(edges, 100.0),
        labels=[""] * edges,
        highway=["residential"] * edges,
        lines_utm=lines,
        coords=[shapely.get_coordinates(line) for line in lines],
        cell_indptr=np.zeros(edges + 1, dtype=np.int64),
        cell_ids=np.empty(0, dtype=np.int64),
        bearing_start=np.zeros(edges),
        bearing_end=np.zeros(edges),
        junction=np.zeros(k * k, dtype=bool),
    )
    graph.modes["walk"] = _mode_graph(graph, seconds, seconds, np.ones(edges, bool))
    return graph


def test_a_first_try_that_meets_a_tie_searches_again(monkeypatch):
    """On a grid of blocks of 1-3 s most paths tie with others of the same cost:
    which one Dijkstra keeps may depend on every vertex the search reached, so on
    its limit. A first try that meets a tie on its path is not kept."""
    rng = np.random.default_rng(5)
    graph = _grid(12, rng.integers(1, 4, 2 * 12 * 11).astype(float))
    tries = []
    sure = StreetGraph._sure

    def counted(self, *args):
        tries.append(sure(self, *args))
        return tries[-1]

    monkeypatch.setattr(StreetGraph, "_sure", counted)
    edges = graph.edge_ids.size
    for _ in range(150):
        a, b = (
            Snap(int(rng.integers(edges)), float(rng.random()), 0.0, 0.0, 0.0)
            for _ in range(2)
        )
        expected = graph.shortest_path("walk", a, b, limit=1e9)
        for first_try in (expected[1] * (1 + 1e-9), expected[1] * 1.3):
            assert graph.shortest_path("walk", a, b, None, 1e9, first_try) == expected
    assert tries.count(False) > 50 and tries.count(True) > 50


def test_sure_names_a_tie_on_the_path():
    """A square: 0 -> 1 -> 3 and 0 -> 2 -> 3, vertex 1 and 2 reached at 1.5, 3 at
    2.5 through 1: through 2 too when the block 2-3 takes 1 s (a tie: not sure),
    not when it takes 2 s."""
    for block_2_3, tied in ((1.0, True), (2.0, False)):
        # Edges of a 2 x 2 grid: 0-1, 2-3 (rows), then 0-2, 1-3 (columns).
        graph = _grid(2, np.array([1.0, block_2_3, 1.0, 1.0]))
        weights = graph.search_weights("walk")
        dist = np.array([0.5, 1.5, 1.5, 2.5, 0.0])  # vertex 4: the start point
        pred = np.array([4, 0, 0, 1, -9999], dtype=np.int32)
        assert graph._sure(weights, dist, pred, [0, 1, 3]) is not tied
