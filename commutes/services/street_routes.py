"""Routes along the streets: the cheapest through the points, and its stretches.

A route is a list of Steps (parts of edges) through the snapped start, waypoints and
end: the fastest for the mode, or (with an edge factor) a candidate for a safer
alternative (alternatives.py generates and chooses those). A route's cells, vertices
and street names, and its named stretches, are read from the graph here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M
from commutes.services.routes import MODE_SPEED_KMH
from osm.junctions import names_at_vertices
from osm.names import base_name
from streets.services.street_graph import (
    NoRoute,
    SearchWeights,
    Snap,
    Step,
    StepPoints,
    StreetGraph,
    step_arrays,
)

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


def route_through(
    graph: StreetGraph,
    mode: str,
    snaps: list[Snap],
    edge_factor: np.ndarray | SearchWeights | None = None,
    limits: list[float] | None = None,
    first_tries: list[float] | None = None,
) -> StreetRoute:
    """Chain the cheapest leg between each pair of consecutive snapped points.

    ``limits``: per leg, a cost no answer can exceed (bounds the search);
    ``first_tries``: per leg, a smaller one to try first (StreetGraph.shortest_path).
    ``edge_factor`` may be the graph's ``search_weights`` of one where ``limits``
    are given. Raises LegNotFound naming the leg that has no path.
    """
    legs: list[list[Step]] = []
    for i, (a, b) in enumerate(zip(snaps, snaps[1:], strict=False)):
        try:
            if limits:
                leg, _ = graph.shortest_path(
                    mode,
                    a,
                    b,
                    edge_factor,
                    limit=limits[i],
                    first_try=first_tries[i] if first_tries else None,
                )
            else:
                leg = _leg(graph, mode, a, b, edge_factor)
        except NoRoute:
            raise LegNotFound(i) from None
        legs.append(leg)
    steps = [s for leg in legs for s in leg]
    return StreetRoute(
        steps=steps,
        # The search weighs junctions (in the edges' times); turns are added to the
        # trip's time afterwards (osm.drive_times).
        seconds=route_seconds(graph, mode, steps) + graph.turn_seconds(mode, steps),
        length_m=sum(s.share * float(graph.length_m[s.edge]) for s in steps),
        legs=legs,
    )


# A first search stops at this many times the crow-flies time at a slow pace for the
# mode (plus ten minutes): a short leg then explores a neighbourhood, not the city.
_DETOUR = 3.0
_SLOW_SHARE = 0.8  # of the mode's usual speed


def _leg(graph: StreetGraph, mode: str, a: Snap, b: Snap, edge_factor) -> list[Step]:
    crow_m = float(np.hypot(*np.subtract(*_utm_xy(graph, [a, b]))))
    pace_kmh = _SLOW_SHARE * MODE_SPEED_KMH[mode]
    bound = _DETOUR * crow_m / (pace_kmh / 3.6) + 600.0
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


def route_seconds(
    graph: StreetGraph,
    mode: str,
    steps: list[Step],
    edge_factor: np.ndarray | None = None,
) -> float:
    # A loop: in numpy (and added in order with cumsum) it was as fast inside a
    # commute, ~0.6 ms for its ~7 calls either way (docs/benchmarks.md).
    modes = graph.modes[mode]
    total = 0.0
    for step in steps:
        per = modes.fwd_seconds if step.forward else modes.back_seconds
        factor = 1.0 if edge_factor is None else float(edge_factor[step.edge])
        total += step.share * float(per[step.edge]) * factor
    return total


def route_cells(graph: StreetGraph, steps: list[Step]) -> np.ndarray:
    """Sorted unique ids of the cells within the corridor's half width of the route."""
    if not steps:
        return np.empty(0, np.int64)
    return np.unique(graph.steps_cells(steps, CORRIDOR_HALF_WIDTH_M)[1])


def route_coords(graph: StreetGraph, steps: list[Step]) -> list[list[float]]:
    """lon/lat vertices along the route (6 decimals, no repeated points)."""
    if not steps:
        return []
    return _without_repeats(np.round(graph.steps_points(steps).lonlat, 6))


def _without_repeats(xy: np.ndarray) -> list[list[float]]:
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)
    return xy[keep].tolist()


@dataclass(frozen=True)
class RouteArrays:
    """A route's vertices and corridor cells, read once for all its steps. Any runs
    of its steps (its stretches: ``(a, b)`` for steps a to b - 1) are read from
    them, each exactly as route_coords, route_cells and step_line_utm give it for
    those steps alone; two numpy calls for all the runs, not two per run."""

    points: StepPoints
    rounded: np.ndarray  # points.lonlat to 6 decimals
    fresh: np.ndarray  # per row of rounded: not a repeat of the row before it
    cell_at: np.ndarray  # step i's cells are cells[cell_at[i]:cell_at[i + 1]]
    cells: np.ndarray

    def coords(self, runs: list[tuple[int, int]]) -> list[list[list[float]]]:
        """Per run, its lon/lat vertices (6 decimals, no repeated points)."""
        rows, first = _run_rows(self.points.at, runs)
        ends = np.append(first, rows.size)
        keep = self.fresh[rows]
        # A run starts with its first vertex, whatever came before it.
        keep[first[first < ends[1:]]] = True
        picked = np.zeros(rows.size + 1, np.int64)
        np.cumsum(keep, out=picked[1:])
        kept = self.rounded[rows[keep]].tolist()
        bounds = picked[ends].tolist()
        return [kept[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    def utm(self, a: int, b: int) -> np.ndarray:
        """EPSG:32610 vertices of steps a to b - 1, each as step_line_utm's."""
        at = self.points.at
        return self.points.utm[at[a] : at[b]]

    def cell_ids(self, runs: list[tuple[int, int]]) -> list[np.ndarray]:
        """Per run, the sorted unique ids of its cells (as route_cells)."""
        rows, first = _run_rows(self.cell_at, runs)
        cells = self.cells[rows]
        if not cells.size:
            return [cells for _ in runs]
        # One sort for every run: the run's number above the cell id.
        low = int(cells.min())
        span = int(cells.max()) - low + 1
        run = np.repeat(np.arange(len(runs)), np.diff(np.append(first, rows.size)))
        keys = np.unique(run * span + (cells - low))
        bounds = np.searchsorted(keys, np.arange(len(runs) + 1) * span).tolist()
        ids = keys % span + low
        return [ids[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _run_rows(
    at: np.ndarray, runs: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, first): the rows of steps a to b - 1 of every run, run after run, and
    where each run's rows begin in them (``at``: step i's rows begin at at[i])."""
    lo = at[[a for a, _ in runs]]
    count = at[[b for _, b in runs]] - lo
    first = np.zeros(len(runs), np.int64)
    np.cumsum(count[:-1], out=first[1:])
    rows = np.arange(int(count.sum())) + np.repeat(lo - first, count)
    return rows, first


def route_arrays(graph: StreetGraph, steps: list[Step]) -> RouteArrays:
    points = graph.steps_points(steps)
    cell_at, cells = graph.steps_cells(steps, CORRIDOR_HALF_WIDTH_M, points)
    rounded = np.round(points.lonlat, 6)
    fresh = np.ones(len(rounded), dtype=bool)
    fresh[1:] = np.any(rounded[1:] != rounded[:-1], axis=1)
    return RouteArrays(points, rounded, fresh, cell_at, cells)


def route_streets(graph: StreetGraph, steps: list[Step]) -> list[str]:
    """Street names in travel order, each run of the same name once."""
    names: list[str] = []
    for step in steps:
        label = graph.labels[step.edge]
        if label and (not names or names[-1] != label):
            names.append(label)
    return names


# --- named stretches --------------------------------------------------------------
@dataclass
class Stretch:
    steps: list[Step]
    first_step: int  # the index of steps[0] in the route's steps
    from_m: float
    to_m: float
    name: str
    streets: list[str]  # route_streets of its steps


@dataclass(frozen=True)
class _Junctions:
    """The streets meeting at each vertex, with every label's base name read once
    per graph (osm.names.base_name for each step of each route was a tenth of
    naming the stretches)."""

    names: dict[int, list[tuple[int, str]]]  # per vertex, (class rank, label)
    base: dict[str, str]  # every label of the graph -> its base name
    bases: dict[int, frozenset[str]]  # per vertex, its streets' base names


def _junctions(graph: StreetGraph) -> _Junctions:
    def build() -> _Junctions:
        names = names_at_vertices(
            (int(graph.source[e]), int(graph.target[e]), label, graph.highway[e])
            for e, label in enumerate(graph.labels)
        )
        base = {label: base_name(label) for label in set(graph.labels)}
        bases = {
            vertex: frozenset(base[label] for _, label in at)
            for vertex, at in names.items()
        }
        return _Junctions(names, base, bases)

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
    junctions: _Junctions, vertex: int | None, own: set[str]
) -> str | None:
    """The biggest street at ``vertex`` that is not one of ``own`` (by base name:
    "Broadway E" continuing "Broadway" does not cross it)."""
    if vertex is None:
        return None
    bases = {junctions.base[label] for label in own}
    for _, label in junctions.names.get(vertex, []):
        if junctions.base[label] not in bases:
            return label
    return None


def _crosses(junctions: _Junctions, vertex: int, label: str) -> bool:
    """Whether _cross_street(vertex, {label}) names a street (vertex -1: None)."""
    bases = junctions.bases.get(vertex)
    return bool(bases) and len(bases) > (junctions.base[label] in bases)


def stretches(graph: StreetGraph, route: StreetRoute) -> list[Stretch]:
    """The route cut at junctions into stretches of about STRETCH_M, each named
    "E Pine St between Broadway and 10th Ave E"."""
    junctions = _junctions(graph)
    steps = route.steps
    n = len(steps)
    # Per step, its length and the vertex it ends at (-1: inside its edge), from
    # arrays: a loop over Step properties cost more than this.
    edge, start, end = step_arrays(steps)
    lengths = (np.abs(end - start) * graph.length_m[edge]).tolist()
    vertex = np.where(
        end == 1.0, graph.target[edge], np.where(end == 0.0, graph.source[edge], -1)
    ).tolist()
    labels = [graph.labels[e] for e in edge.tolist()]
    groups: list[list[int]] = []  # [first, past the last] step of each
    first, length = 0, 0.0
    for i in range(n - 1):
        length += lengths[i]
        label = labels[i]
        if (
            (length >= STRETCH_M and _crosses(junctions, vertex[i], label))
            or length >= STRETCH_MAX_M
            or (labels[i + 1] != label and length >= STRETCH_MIN_M)
        ):
            groups.append([first, i + 1])
            first, length = i + 1, 0.0
    if first < n:
        if groups and sum(lengths[first:]) < STRETCH_MIN_M:
            groups[-1][1] = n
        else:
            groups.append([first, n])
    out: list[Stretch] = []
    at = 0.0
    for k, (a, b) in enumerate(groups):
        group = steps[a:b]
        span = sum(lengths[a:b])
        streets = route_streets(graph, group)
        # A junction is named by a street that crosses there, not by the stretch's
        # own streets or their continuations ("Broadway" becoming "Broadway E").
        if k == 0:
            start = "your start"
        else:
            start = _cross_street(
                junctions, _start_vertex(graph, group[0]), set(streets)
            )
        if k == len(groups) - 1:
            end_name = "your destination"
        else:
            end_name = _cross_street(
                junctions, _end_vertex(graph, group[-1]), set(streets)
            )
        out.append(
            Stretch(
                steps=group,
                first_step=a,
                from_m=at,
                to_m=at + span,
                name=_describe(streets, start, end_name),
                streets=streets,
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
