"""Random trips routed across the city: the crowd a commute is placed among.

Geometry only, no forecast: a trip's streets, length and duration do not depend on
the hour, so the sample is routed once per mode (and per network load: the same
seed gives the same trips) and its exposure to every departure hour is then one
sparse product with the stored forecast (``trip_reference``).

How a trip is drawn: an origin uniformly among the vertices of the streets the mode
may use (so more trips start where there are more streets, as people do), a target
crow-flies distance drawn log-uniformly over the mode's range of commutes, and the
vertex nearest that distance from the origin as the destination. Log-uniform
lengths put about as many trips within 20% of a 600 m walk as of a 5 km one, so a
commute of any usual length has a few hundred similar trips. Each origin is searched
once (one Dijkstra tree) and gives several destinations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from streets.services.street_graph import Step, StreetGraph

SAMPLE_TRIPS = 2400  # per mode; the issue asks for at least 2,000 across the city
DESTINATIONS_PER_ORIGIN = 8
SEED = 19
# Route lengths (metres) the sample covers, per mode: from a short hop to beyond
# what most people commute that way. Street routes run ~1.3x the crow-flies distance.
LENGTH_RANGE_M = {
    "walk": (300.0, 8_000.0),
    "bike": (500.0, 20_000.0),
    "drive": (1_000.0, 30_000.0),
}
DETOUR = 1.3
_MIN_COST = 1e-6
_CHUNK = 64  # origins per Dijkstra call: (64 x vertices) float64 arrays


@dataclass(frozen=True)
class TripSample:
    """``n`` routed trips of one mode: their lengths, durations and edges."""

    mode: str
    lengths_m: np.ndarray  # (n,) float64
    seconds: np.ndarray  # (n,) float64
    edges: csr_matrix  # (n, edges of the graph): 1 where the trip uses the edge

    @property
    def n(self) -> int:
        return int(self.lengths_m.size)


def vertex_xy(graph: StreetGraph) -> np.ndarray:
    """(vertices, 2) EPSG:32610 coordinates of each vertex of the graph."""

    def build() -> np.ndarray:
        xy = np.full((graph.n_vertices, 2), np.nan)
        first = shapely.get_coordinates(shapely.get_point(graph.lines_utm, 0))
        last = shapely.get_coordinates(shapely.get_point(graph.lines_utm, -1))
        xy[graph.source] = first
        xy[graph.target] = last
        return xy

    return graph.memo(("vertex-xy",), build)


def _mode_matrix(graph: StreetGraph, mode: str) -> csr_matrix:
    mg = graph.modes[mode]
    costs = graph.pair_costs(mode, np.maximum(mg.arc_seconds, _MIN_COST))
    n = graph.n_vertices
    return csr_matrix((costs, mg.pair_to, mg.indptr), shape=(n, n))


def _usable_vertices(graph: StreetGraph, mode: str) -> np.ndarray:
    """Vertices of the connected streets the mode may use (where routes snap)."""
    edges = graph.modes[mode].tree_edges
    return np.unique(np.concatenate([graph.source[edges], graph.target[edges]]))


def _path(pred_row: np.ndarray, origin: int, dest: int) -> list[int] | None:
    path = [dest]
    while path[-1] != origin:
        previous = int(pred_row[path[-1]])
        if previous < 0:
            return None
        path.append(previous)
    path.reverse()
    return path


def sample_trips(
    graph: StreetGraph, mode: str, n: int = SAMPLE_TRIPS, seed: int = SEED
) -> TripSample:
    """``n`` random trips of ``mode`` routed along the streets (quickest paths)."""
    rng = np.random.default_rng([seed, sorted(LENGTH_RANGE_M).index(mode)])
    xy = vertex_xy(graph)
    usable = _usable_vertices(graph, mode)
    lo, hi = LENGTH_RANGE_M[mode]
    matrix = _mode_matrix(graph, mode)
    trips: list[list[int]] = []
    while len(trips) < n:
        origins = rng.choice(usable, size=_CHUNK)
        dist, pred = dijkstra(
            matrix, directed=True, indices=origins, return_predecessors=True
        )
        for row, origin in enumerate(origins):
            reach = usable[np.isfinite(dist[row, usable])]
            crow = np.hypot(*(xy[reach] - xy[origin]).T)
            targets = (
                np.exp(rng.uniform(np.log(lo), np.log(hi), DESTINATIONS_PER_ORIGIN))
                / DETOUR
            )
            for target in targets:
                dest = int(reach[np.argmin(np.abs(crow - target))])
                if dest == origin:
                    continue
                path = _path(pred[row], int(origin), dest)
                if path is not None and len(path) > 1:
                    trips.append(path)
            if len(trips) >= n:
                break
    return _as_sample(graph, mode, trips[:n])


def _as_sample(graph: StreetGraph, mode: str, trips: list[list[int]]) -> TripSample:
    hops = np.array([len(t) - 1 for t in trips])
    u = np.concatenate([t[:-1] for t in trips]).astype(np.int64)
    v = np.concatenate([t[1:] for t in trips]).astype(np.int64)
    arcs = graph.cheapest_arcs(mode, graph.modes[mode].arc_seconds, u, v)
    mg = graph.modes[mode]
    edge = mg.arc_edge[arcs]
    trip = np.repeat(np.arange(len(trips)), hops)
    seconds = np.bincount(trip, weights=mg.arc_seconds[arcs], minlength=len(trips))
    if mode == "drive":
        # As a commute's route: the turns at junctions are added to the time the
        # search weighed (streets' turn_seconds), so a similar drive lasts as long.
        forward = mg.arc_forward[arcs]
        bounds = np.concatenate([[0], np.cumsum(hops)])
        for t in range(len(trips)):
            lo, hi = bounds[t], bounds[t + 1]
            steps = [
                Step(int(e), 0.0, 1.0) if f else Step(int(e), 1.0, 0.0)
                for e, f in zip(edge[lo:hi], forward[lo:hi], strict=True)
            ]
            seconds[t] += graph.turn_seconds(mode, steps)
    lengths = np.bincount(trip, weights=graph.length_m[edge], minlength=len(trips))
    edges = csr_matrix(
        (np.ones(edge.size), (trip, edge)),
        shape=(len(trips), graph.edge_ids.size),
    )
    edges.data[:] = 1.0  # an edge used twice counts once (duplicates were summed)
    return TripSample(mode=mode, lengths_m=lengths, seconds=seconds, edges=edges)
