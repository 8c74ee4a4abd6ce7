"""How long driving takes in the city: speeds below the limit, and delays at junctions
and turns.

The extract has no traffic signals, stop signs or traffic data, so a junction's delay
is guessed from what it has: how many roads meet there (a T or a crossing) and the
class of the road arrived on against the biggest other road there (a side street
meeting an arterial waits for a gap or a light; an arterial crossing a side street
barely slows). Between junctions a car runs below the limit (``CRUISE_SHARE``).
Turns cost extra on top (``turn_delay_s``: a left turn waits for oncoming traffic).
The constants are calibrated so that random 3-8 km drives across the city take what
published urban travel speeds say they take: docs/routing.md has the reference and
the calibration table, and ``CITY_DRIVE_KMH`` is the median that calibration gives
(the speed of a drive scored as a drawn line, without routing).
"""

from __future__ import annotations

import numpy as np

# Road tiers for junction rules (OSM ``highway``); anything else is local.
FREEWAY, RAMP, ARTERIAL, LOCAL = 0, 1, 2, 3
_TIER = {
    "motorway": FREEWAY,
    "motorway_link": RAMP,
    "trunk_link": RAMP,
    # Seattle's trunks (Aurora Ave, parts of SR 99 and SR 520 approaches) have lights.
    "trunk": ARTERIAL,
    "primary": ARTERIAL,
    "primary_link": ARTERIAL,
    "secondary": ARTERIAL,
    "secondary_link": ARTERIAL,
    "tertiary": ARTERIAL,
    "tertiary_link": ARTERIAL,
}

# Share of the speed limit (or the class's default) a car holds between junctions:
# platoons, parked cars, buses, pedestrians; freeways are congested much of the day.
CRUISE_SHARE = {FREEWAY: 0.75, RAMP: 0.7, ARTERIAL: 0.85, LOCAL: 0.75}

# Expected delay (seconds) on arriving at a junction of four or more roads, by the
# tier arrived on (rows) and the biggest other road there (columns: freeway, ramp,
# arterial, local). Arterial x arterial is usually a signal (a 60-90 s cycle, some
# arrivals on green: about 12 s expected); a side street at an arterial stops and
# waits for a gap or a light; side streets among themselves yield, stop or go round a
# traffic circle.
JUNCTION_DELAY_S = np.array(
    [
        # freeway ramp arterial local
        [0.0, 1.0, 0.0, 0.0],  # on a freeway: grade separated, merges only
        [3.0, 3.0, 15.0, 8.0],  # on a ramp: the signal or stop at its end
        [0.0, 8.0, 12.0, 2.0],  # on an arterial
        [0.0, 10.0, 16.0, 4.0],  # on a local street
    ]
)
# A T junction (three roads) holds the through road up less than a crossing does.
T_JUNCTION_SHARE = 0.6

# Turn delays (seconds), traffic on the right: a left turn waits for a gap in the
# oncoming traffic, a right turn slows and yields to people crossing.
STRAIGHT_DEG = 40.0
RIGHT_TURN_S = 5.0
LEFT_TURN_S = 9.0
U_TURN_DEG = 150.0
U_TURN_S = 20.0

# The median speed of random 3-8 km drives on Seattle's network with these rules
# (docs/routing.md, tests/streets/test_drive_times.py): a drive scored without
# routing (a drawn line) runs at it.
CITY_DRIVE_KMH = 24.0


def tier(highway: str) -> int:
    return _TIER.get(highway, LOCAL)


def cruise_kmh(highway: str, limit_kmh: float) -> float:
    """The speed held between junctions on a road of this class and limit."""
    return limit_kmh * CRUISE_SHARE[tier(highway)]


def junction_delays(
    source: np.ndarray,
    target: np.ndarray,
    highway: list[str],
    label: list[str],
    drivable: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per edge, the delay (s) on arriving at its target (driving it forwards) and
    at its source (backwards). 0 where the edge may not be driven.

    Only drivable edges make a junction. The roads "meeting" an edge at a vertex are
    the other drivable edges there with another name (an unnamed edge differs from
    every edge): a street's own continuation is no junction. A vertex with at most
    two drivable edges (a bend, a way split) has no delay.
    """
    n_tiers = JUNCTION_DELAY_S.shape[0]
    tiers = np.array([tier(h) for h in highway], dtype=np.int64)
    names, name_id = np.unique(np.asarray(label, dtype=object), return_inverse=True)
    unnamed = names[name_id] == ""
    # One row per (vertex, edge) meeting: every drivable edge at its source, and at
    # its target unless it loops back to its source.
    edges = np.flatnonzero(drivable)
    loops = edges[source[edges] == target[edges]]
    at_target = edges[source[edges] != target[edges]]
    edge = np.concatenate([edges, at_target])
    vertex = np.concatenate([source[edges], target[at_target]])
    own = tiers[edge]
    # Roads of each tier at each vertex, and of each (vertex, name).
    n_vertices = int(max(source.max(initial=0), target.max(initial=0))) + 1
    per_vertex = np.zeros((n_vertices, n_tiers), dtype=np.int64)
    np.add.at(per_vertex, (vertex, own), 1)
    _, group = np.unique(vertex * len(names) + name_id[edge], return_inverse=True)
    per_name = np.zeros((group.max(initial=-1) + 1, n_tiers), dtype=np.int64)
    np.add.at(per_name, (group, own), 1)
    # The others with another name (an unnamed edge: every other edge).
    itself = np.eye(n_tiers, dtype=np.int64)[own]
    others = per_vertex[vertex] - np.where(
        unnamed[edge][:, None], itself, per_name[group]
    )
    met = others > 0
    biggest = np.argmax(met, axis=1)
    degree = per_vertex.sum(axis=1)[vertex]
    share = np.where(degree == 3, T_JUNCTION_SHARE, 1.0)
    delay = np.where(
        met.any(axis=1) & (degree >= 3), JUNCTION_DELAY_S[own, biggest] * share, 0.0
    )
    on_source = np.zeros(len(source))
    on_source[edges] = delay[: edges.size]
    on_target = np.zeros(len(source))
    on_target[at_target] = delay[edges.size :]
    on_target[loops] = on_source[loops]
    return on_target, on_source


def turn_delay_s(bearing_in: np.ndarray, bearing_out: np.ndarray) -> np.ndarray:
    """Delay of each turn from the direction arrived in to the one left in (degrees
    clockwise from north): 0 going on straight, else a right, left or U-turn."""
    change = (np.asarray(bearing_out) - np.asarray(bearing_in) + 180.0) % 360.0 - 180.0
    size = np.abs(change)
    return np.select(
        [size <= STRAIGHT_DEG, size >= U_TURN_DEG, change > 0],
        [0.0, U_TURN_S, RIGHT_TURN_S],
        LEFT_TURN_S,
    )
