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

from collections import defaultdict

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
    tiers = np.array([tier(h) for h in highway], dtype=np.int64)
    at: dict[int, list[int]] = defaultdict(list)
    for e in np.flatnonzero(drivable):
        at[int(source[e])].append(int(e))
        if target[e] != source[e]:
            at[int(target[e])].append(int(e))
    delay_at: dict[tuple[int, int], float] = {}
    for vertex, edges in at.items():
        if len(edges) < 3:
            continue
        share = T_JUNCTION_SHARE if len(edges) == 3 else 1.0
        for e in edges:
            own = label[e]
            others = [f for f in edges if f != e and (not own or label[f] != own)]
            if others:
                biggest = int(tiers[others].min())
                delay_at[(vertex, e)] = share * JUNCTION_DELAY_S[tiers[e], biggest]
    fwd = np.array(
        [delay_at.get((int(t), e), 0.0) for e, t in enumerate(target)], dtype=float
    )
    back = np.array(
        [delay_at.get((int(s), e), 0.0) for e, s in enumerate(source)], dtype=float
    )
    return fwd, back


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
