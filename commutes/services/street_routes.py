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
    StreetGraph,
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
    modes = graph.modes[mode]
    total = 0.0
    for step in steps:
        per = modes.fwd_seconds if step.forward else modes.back_seconds
        factor = 1.0 if edge_factor is None else float(edge_factor[step.edge])
        total += step.share * float(per[step.edge]) * factor
    return total


def route_cells(graph: StreetGraph, steps: list[Step]) -> np.ndarray:
    """Sorted unique ids of the cells within the corridor's half width of the route."""
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
