"""Safer alternatives along the streets: generated and chosen here.

Candidates minimise time x (1 + lambda x edge exposure) for a few lambdas, where an
edge's exposure is the forecast of its cells (within the corridor's half width)
relative to the city's average cell, over the hours of the trip for the departure.
Only candidates that take longer, expect fewer reported incidents, stay within
MAX_EXTRA_TIME and are not just the shortest route with a different corner are kept
(``pick_alternatives``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix

from commutes.services import scoring
from commutes.services.edge_columns import edge_columns
from commutes.services.street_routes import (
    StreetRoute,
    route_cells,
    route_seconds,
    route_through,
)
from streets.services.street_graph import Snap, StreetGraph

if TYPE_CHECKING:
    from predictions.services.forecast_store import ForecastWeek

LAMBDAS = (0.25, 1.0, 4.0)
MAX_EXTRA_TIME = 0.30  # alternatives more than 30% slower are dropped
MIN_GAIN = 0.05  # ... and so are those saving less than 5% of the expected count
# Two routes are the same unless this much of one (metres, and share) is not on
# the other: a different corner is not an alternative.
DISTINCT_M = 200.0
DISTINCT_SHARE = 0.05
MAX_ALTERNATIVES = 2


@dataclass(frozen=True)
class Candidate:
    route: StreetRoute
    expected: float  # expected reported incidents for the departure


@dataclass(frozen=True)
class Trip:
    """What the alternatives are for: the snapped points, the mode, the forecast,
    the departure (hours from the forecast's first hour) and the shortest route."""

    graph: StreetGraph
    mode: str
    snaps: list[Snap]
    week: ForecastWeek
    city_mean: np.ndarray  # the city's mean cell, per forecast hour
    depart_h: float
    shortest: Candidate


def alternatives(trip: Trip) -> list[StreetRoute]:
    """Up to MAX_ALTERNATIVES detours through quieter streets, quickest first.

    Raises street_routes.LegNotFound as route_through does (the caller names it).
    """
    exposure = _exposure(trip)
    chosen = pick_alternatives(
        trip.graph, trip.shortest, list(_candidates(trip, exposure))
    )
    return [c.route for c in chosen]


def _exposure(trip: Trip) -> np.ndarray:
    week = trip.week
    hours = trip.shortest.route.seconds / 3600
    idx, spent = scoring.hour_weights(trip.depart_h, hours, week.hours)
    cell_rate = (week.values[idx].astype(np.float64) * spent[:, None]).sum(axis=0)
    city = float((trip.city_mean[idx] * spent).sum())
    return edge_exposure(trip.graph, week.cell_ids, cell_rate, city)


def _candidates(trip: Trip, exposure: np.ndarray) -> Iterator[Candidate]:
    """One search per lambda; the same route found twice is one candidate.

    Each search is bounded by what the shortest route costs under its factor
    (``leg_bounds``), and first tried under the least that an earlier lambda's
    route costs under it, where that is smaller (it usually is: nearer the answer
    than the shortest): fewer vertices reached, and the same answer
    (StreetGraph.shortest_path's ``first_try``).
    """
    graph, week = trip.graph, trip.week
    seen: set[tuple] = set()
    found_so_far: list[_RouteCosts] = []  # the lambdas' routes (the last's unused)
    for i, lam in enumerate(LAMBDAS):
        factor = 1.0 + lam * exposure
        bounds = leg_bounds(graph, trip.mode, trip.shortest.route, factor)
        first_tries = None
        if found_so_far:
            tighter = np.min([r.leg_bounds(factor) for r in found_so_far], axis=0)
            # (Not worth a second search where it is hardly below the bound.)
            first_tries = np.where(
                tighter < 0.98 * np.asarray(bounds), tighter, np.inf
            ).tolist()
        found = route_through(
            graph,
            trip.mode,
            trip.snaps,
            edge_factor=graph.search_weights(trip.mode, factor),
            limits=bounds,
            first_tries=first_tries,
        )
        if i + 1 < len(LAMBDAS):
            found_so_far.append(_RouteCosts.of(graph, trip.mode, found))
        key = tuple((s.edge, s.forward) for s in found.steps)
        if key in seen:
            continue
        seen.add(key)
        cols = scoring.columns_for(route_cells(graph, found.steps), week.cell_ids)
        per_hour = week.values[:, cols].sum(axis=1, dtype=np.float64)
        expected = scoring.expected_at(per_hour, trip.depart_h, found.seconds / 3600)
        yield Candidate(found, expected)


def leg_bounds(
    graph: StreetGraph, mode: str, route: StreetRoute, edge_factor: np.ndarray
) -> list[float]:
    """Each leg's cost under ``edge_factor`` along ``route``: the cheapest path
    under those costs cannot cost more, so it bounds the search."""
    return [
        route_seconds(graph, mode, leg, edge_factor) * (1 + 1e-9) + 1e-6
        for leg in route.legs
    ]


@dataclass(frozen=True)
class _RouteCosts:
    """A route's legs as arrays, to cost them under any factor at once: the
    steps' edges and seconds (their share of the edge's time each way)."""

    edges: list[np.ndarray]
    seconds: list[np.ndarray]

    @classmethod
    def of(cls, graph: StreetGraph, mode: str, route: StreetRoute) -> _RouteCosts:
        modes = graph.modes[mode]
        edges, seconds = [], []
        for leg in route.legs:
            edge = np.array([s.edge for s in leg], dtype=np.int64)
            forward = np.array([s.forward for s in leg], dtype=bool)
            share = np.array([s.share for s in leg])
            per = np.where(forward, modes.fwd_seconds[edge], modes.back_seconds[edge])
            edges.append(edge)
            seconds.append(share * per)
        return cls(edges, seconds)

    def leg_bounds(self, edge_factor: np.ndarray) -> np.ndarray:
        """As ``leg_bounds`` (summed in another order: a bound to try, not the
        search's ``limit``)."""
        return np.array(
            [
                float(seconds @ edge_factor[edge]) * (1 + 1e-9) + 1e-6
                for edge, seconds in zip(self.edges, self.seconds, strict=True)
            ]
        )


# --- exposure per edge ------------------------------------------------------------
def edge_mean_matrix(graph: StreetGraph, grid_cell_ids: np.ndarray) -> csr_matrix:
    """(edges x forecast columns): the mean over each edge's cells."""

    def build() -> csr_matrix:
        rows, columns = edge_columns(graph, grid_cell_ids)
        counts = np.bincount(rows, minlength=graph.edge_ids.size)
        weight = 1.0 / np.maximum(counts[rows], 1)
        return csr_matrix(
            (weight, (rows, columns)),
            shape=(graph.edge_ids.size, grid_cell_ids.size),
        )

    key = ("edge-mean", int(grid_cell_ids.size), *grid_cell_ids[[0, -1]].tolist())
    return graph.memo(key, build)


def edge_exposure(
    graph: StreetGraph, grid_cell_ids: np.ndarray, cell_rate: np.ndarray, city: float
) -> np.ndarray:
    """Per edge: mean forecast of its cells over the trip / the city's mean cell.

    1 is an average part of the city; 0 where no forecast cell is near.
    """
    if city <= 0:
        return np.zeros(graph.edge_ids.size)
    return np.asarray(edge_mean_matrix(graph, grid_cell_ids) @ cell_rate) / city


# --- choosing ---------------------------------------------------------------------
def _edge_lengths(graph: StreetGraph, route: StreetRoute) -> dict[int, float]:
    out: dict[int, float] = {}
    for step in route.steps:
        out[step.edge] = out.get(step.edge, 0.0) + step.share * float(
            graph.length_m[step.edge]
        )
    return out


def differs_enough(graph: StreetGraph, a: StreetRoute, b: StreetRoute) -> bool:
    on_a, on_b = _edge_lengths(graph, a), _edge_lengths(graph, b)
    for one, other, length in ((on_a, on_b, a.length_m), (on_b, on_a, b.length_m)):
        apart = sum(m for e, m in one.items() if e not in other)
        if apart >= max(DISTINCT_M, DISTINCT_SHARE * length):
            return True
    return False


def pick_alternatives(
    graph: StreetGraph, shortest: Candidate, candidates: list[Candidate]
) -> list[Candidate]:
    """Up to MAX_ALTERNATIVES Pareto-better detours, quickest first.

    Kept: slower than the shortest (by at most MAX_EXTRA_TIME), at least MIN_GAIN
    (of the shortest's expected count) fewer expected incidents than the shortest
    and than any quicker kept alternative, and different enough from the shortest
    and from each other. So the list is Pareto-better: each is slower and lower.
    """
    t0, e0 = shortest.route.seconds, shortest.expected
    fit = [
        c
        for c in candidates
        if t0 < c.route.seconds <= t0 * (1 + MAX_EXTRA_TIME)
        and c.expected <= e0 * (1 - MIN_GAIN)
        and differs_enough(graph, c.route, shortest.route)
    ]
    fit.sort(key=lambda c: (c.route.seconds, c.expected))
    frontier: list[Candidate] = []
    for c in fit:
        if frontier and c.expected > frontier[-1].expected - MIN_GAIN * e0:
            # Dominated, or a longer way for next to no gain over a kept quicker one.
            continue
        if any(not differs_enough(graph, c.route, k.route) for k in frontier):
            continue
        frontier.append(c)
    if len(frontier) > MAX_ALTERNATIVES:
        # The smallest detour and the lowest exposure: the two ends of the choice.
        frontier = [frontier[0], frontier[-1]]
    return frontier
