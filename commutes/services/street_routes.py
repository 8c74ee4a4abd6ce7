"""Routes along the streets: the fastest for the mode, and safer alternatives.

A route is a list of Steps (parts of edges) through the snapped start, waypoints and
end. Alternatives minimise time x (1 + lambda x edge exposure) for a few lambdas,
where an edge's exposure is the forecast of the cells within 100 m of it, relative to
the city's average cell, over the hours of the trip. Only routes that take longer,
expect fewer reported incidents, stay within MAX_EXTRA_TIME and are not just the
shortest route with a different corner are kept (see ``pick_alternatives``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M
from osm.junctions import names_at_vertices
from osm.names import base_name
from streets.services.street_graph import NoRoute, Snap, Step, StreetGraph

LAMBDAS = (0.25, 1.0, 4.0)
MAX_EXTRA_TIME = 0.30  # alternatives more than 30% slower are dropped
MIN_GAIN = 0.05  # ... and so are those saving less than 5% of the expected count
# Two routes are the same unless this much of one (metres, and share) is not on
# the other: a different corner is not an alternative.
DISTINCT_M = 200.0
DISTINCT_SHARE = 0.05
MAX_ALTERNATIVES = 2
STRETCH_M = 250.0
STRETCH_MIN_M = 100.0
STRETCH_MAX_M = 600.0


class LegNotFound(LookupError):
    """No path for one leg: ``leg`` 0 is start -> first waypoint (or end)."""

    def __init__(self, leg: int):
        super().__init__(f"no route for leg {leg}")
        self.leg = leg


@dataclass
class StreetRoute:
    steps: list[Step]
    seconds: float
    length_m: float
    legs: list[list[Step]]
    weight: float = 0.0  # the lambda that found it; 0 for the shortest

    def edge_lengths(self, graph: StreetGraph) -> dict[int, float]:
        out: dict[int, float] = {}
        for step in self.steps:
            out[step.edge] = out.get(step.edge, 0.0) + step.share * float(
                graph.length_m[step.edge]
            )
        return out


def route_through(
    graph: StreetGraph,
    mode: str,
    snaps: list[Snap],
    edge_factor: np.ndarray | None = None,
    limits: list[float] | None = None,
) -> StreetRoute:
    """Chain the cheapest leg between each pair of consecutive snapped points.

    ``limits``: per leg, a cost no answer can exceed (bounds the search). Raises
    LegNotFound naming the leg that has no path.
    """
    legs: list[list[Step]] = []
    for i, (a, b) in enumerate(zip(snaps, snaps[1:], strict=False)):
        try:
            if limits:
                leg, _ = graph.shortest_path(mode, a, b, edge_factor, limit=limits[i])
            else:
                leg = _leg(graph, mode, a, b, edge_factor)
        except NoRoute:
            raise LegNotFound(i) from None
        legs.append(leg)
    steps = [s for leg in legs for s in leg]
    return StreetRoute(
        steps=steps,
        seconds=route_seconds(graph, mode, steps),
        length_m=sum(s.share * float(graph.length_m[s.edge]) for s in steps),
        legs=legs,
    )


# A first search stops at this many times the crow-flies time at a slow pace for the
# mode (plus ten minutes): a short leg then explores a neighbourhood, not the city.
_DETOUR = 3.0
_PACE_KMH = {"walk": 4.0, "bike": 12.0, "drive": 20.0}


def _leg(graph: StreetGraph, mode: str, a: Snap, b: Snap, edge_factor) -> list[Step]:
    crow_m = float(np.hypot(*np.subtract(*_utm_xy(graph, [a, b]))))
    bound = _DETOUR * crow_m / (_PACE_KMH[mode] / 3.6) + 600.0
    if edge_factor is not None:
        bound *= float(np.max(edge_factor))
    try:
        leg, _ = graph.shortest_path(mode, a, b, edge_factor, limit=bound)
    except NoRoute:  # farther round than the bound allows, or truly none
        leg, _ = graph.shortest_path(mode, a, b, edge_factor)
    return leg


def _utm_xy(graph: StreetGraph, snaps: list[Snap]) -> np.ndarray:
    return np.array(
        [
            graph.lines_utm[s.edge].interpolate(s.fraction, normalized=True).coords[0]
            for s in snaps
        ]
    )


def leg_bounds(
    graph: StreetGraph, mode: str, route: StreetRoute, edge_factor: np.ndarray
) -> list[float]:
    """Each leg's cost under ``edge_factor`` along ``route``: the cheapest path
    under those costs cannot cost more, so it bounds the search."""
    return [
        route_seconds(graph, mode, leg, edge_factor) * (1 + 1e-9) + 1e-6
        for leg in route.legs
    ]


def route_seconds(
    graph: StreetGraph,
    mode: str,
    steps: list[Step],
    edge_factor: np.ndarray | None = None,
) -> float:
    modes = graph.modes[mode]
    total = 0.0
    for step in steps:
        per = modes.fwd_seconds if step.forward else modes.back_seconds
        factor = 1.0 if edge_factor is None else float(edge_factor[step.edge])
        total += step.share * float(per[step.edge]) * factor
    return total


def route_cells(graph: StreetGraph, steps: list[Step]) -> np.ndarray:
    """Sorted unique ids of the cells within 100 m of the route."""
    parts = [graph.step_cells(s, CORRIDOR_HALF_WIDTH_M) for s in steps]
    return np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64)


def route_coords(graph: StreetGraph, steps: list[Step]) -> list[list[float]]:
    """lon/lat vertices along the route (6 decimals, no repeated points)."""
    if not steps:
        return []
    # One array for the whole route (a loop over points per step was 15% of a
    # commute's time): consecutive repeats dropped, as before.
    xy = np.round(np.concatenate([graph.step_coords(s) for s in steps]), 6)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)
    return xy[keep].tolist()


def route_streets(graph: StreetGraph, steps: list[Step]) -> list[str]:
    """Street names in travel order, each run of the same name once."""
    names: list[str] = []
    for step in steps:
        label = graph.labels[step.edge]
        if label and (not names or names[-1] != label):
            names.append(label)
    return names


# --- exposure per edge ------------------------------------------------------------
def edge_mean_matrix(graph: StreetGraph, grid_cell_ids: np.ndarray) -> csr_matrix:
    """(edges x forecast columns): the mean over each edge's cells."""

    def build() -> csr_matrix:
        pos = np.clip(
            np.searchsorted(grid_cell_ids, graph.cell_ids), 0, grid_cell_ids.size - 1
        )
        known = grid_cell_ids[pos] == graph.cell_ids
        rows = np.repeat(np.arange(graph.edge_ids.size), np.diff(graph.cell_indptr))
        counts = np.bincount(rows[known], minlength=graph.edge_ids.size)
        weight = 1.0 / np.maximum(counts[rows[known]], 1)
        return csr_matrix(
            (weight, (rows[known], pos[known])),
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


# --- choosing alternatives ----------------------------------------------------------
def differs_enough(graph: StreetGraph, a: StreetRoute, b: StreetRoute) -> bool:
    on_a, on_b = a.edge_lengths(graph), b.edge_lengths(graph)
    for one, other, length in ((on_a, on_b, a.length_m), (on_b, on_a, b.length_m)):
        apart = sum(m for e, m in one.items() if e not in other)
        if apart >= max(DISTINCT_M, DISTINCT_SHARE * length):
            return True
    return False


@dataclass
class Candidate:
    route: StreetRoute
    expected: float


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


# --- named stretches --------------------------------------------------------------
@dataclass
class Stretch:
    steps: list[Step]
    from_m: float
    to_m: float
    name: str


def _vertex_names(graph: StreetGraph) -> dict[int, list[tuple[int, str]]]:
    """Per vertex, the (class rank, label) of the streets meeting there."""

    def build() -> dict[int, list[tuple[int, str]]]:
        return names_at_vertices(
            (int(graph.source[e]), int(graph.target[e]), label, graph.highway[e])
            for e, label in enumerate(graph.labels)
        )

    return graph.memo(("vertex-names",), build)


def _end_vertex(graph: StreetGraph, step: Step) -> int | None:
    if step.end in (0.0, 1.0):
        return int(
            graph.target[step.edge] if step.end == 1.0 else graph.source[step.edge]
        )
    return None


def _start_vertex(graph: StreetGraph, step: Step) -> int | None:
    if step.start in (0.0, 1.0):
        return int(
            graph.source[step.edge] if step.start == 0.0 else graph.target[step.edge]
        )
    return None


def _cross_street(
    names: dict[int, list[tuple[int, str]]], vertex: int | None, own: set[str]
) -> str | None:
    """The biggest street at ``vertex`` that is not one of ``own`` (by base name:
    "Broadway E" continuing "Broadway" does not cross it)."""
    bases = {base_name(label) for label in own}
    for _, label in names.get(vertex, []) if vertex is not None else []:
        if base_name(label) not in bases:
            return label
    return None


def stretches(graph: StreetGraph, route: StreetRoute) -> list[Stretch]:
    """The route cut at junctions into stretches of about STRETCH_M, each named
    "E Pine St between Broadway and 10th Ave E"."""
    names = _vertex_names(graph)
    groups: list[list[Step]] = []
    current: list[Step] = []
    length = 0.0
    for i, step in enumerate(route.steps):
        current.append(step)
        length += step.share * float(graph.length_m[step.edge])
        nxt = route.steps[i + 1] if i + 1 < len(route.steps) else None
        if nxt is None:
            break
        vertex = _end_vertex(graph, step)
        label = graph.labels[step.edge]
        crossing = _cross_street(names, vertex, {label}) is not None
        turn = graph.labels[nxt.edge] != label
        if (
            (length >= STRETCH_M and crossing)
            or length >= STRETCH_MAX_M
            or (turn and length >= STRETCH_MIN_M)
        ):
            groups.append(current)
            current, length = [], 0.0
    if current:
        short = (
            sum(s.share * float(graph.length_m[s.edge]) for s in current)
            < STRETCH_MIN_M
        )
        if groups and short:
            groups[-1].extend(current)
        else:
            groups.append(current)
    out: list[Stretch] = []
    at = 0.0
    for k, group in enumerate(groups):
        span = sum(s.share * float(graph.length_m[s.edge]) for s in group)
        streets = route_streets(graph, group)
        # A junction is named by a street that crosses there, not by the stretch's
        # own streets or their continuations ("Broadway" becoming "Broadway E").
        if k == 0:
            start = "your start"
        else:
            start = _cross_street(names, _start_vertex(graph, group[0]), set(streets))
        if k == len(groups) - 1:
            end = "your destination"
        else:
            end = _cross_street(names, _end_vertex(graph, group[-1]), set(streets))
        out.append(
            Stretch(
                steps=group,
                from_m=at,
                to_m=at + span,
                name=_describe(streets, start, end),
            )
        )
        at += span
    return out


def _describe(streets: list[str], start: str | None, end: str | None) -> str:
    if not streets:
        what = "an unnamed road"
    elif len(streets) == 1:
        what = streets[0]
    else:
        what = ", then ".join(streets[:3])
    if start and end:
        return f"{what} between {start} and {end}"
    if start:
        return f"{what} from {start}"
    if end:
        return f"{what} up to {end}"
    return what
