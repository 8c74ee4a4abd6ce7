"""Driving times: urban speeds with delays at junctions and turns (issue 19), checked
on the real street network and on small hand-made junctions."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.calibrate_drive_times import drive_speeds, random_drives
from commutes.services import street_routes
from osm.drive_times import (
    CITY_DRIVE_KMH,
    LEFT_TURN_S,
    RIGHT_TURN_S,
    U_TURN_S,
    junction_delays,
    turn_delay_s,
)
from streets.services.street_graph import street_graph
from tests.reference_data import ensure_streets


@pytest.fixture
def graph(db):
    ensure_streets()
    return street_graph()


def test_random_city_drives_run_at_urban_speeds(graph):
    speeds = drive_speeds(graph, random_drives(graph, 120, seed=7))
    median = float(np.median(speeds))
    # Issue 19: between 18 and 35 km/h (it was 50 km/h at the speed limit).
    assert 18.0 <= median <= 35.0
    # A drive scored without routing runs at the routed median.
    assert median == pytest.approx(CITY_DRIVE_KMH, rel=0.1)


def test_a_drive_across_capitol_hill_takes_city_time(graph):
    # Broadway & E Pine St to NE 45th St & University Way NE: 6 minutes at the
    # speed limit before; 6.4 km now, by Melrose Ave, I-5 and the Ship Canal Bridge.
    snaps = [
        graph.snap(-122.3208, 47.6153, "drive"),
        graph.snap(-122.3130, 47.6613, "drive"),
    ]
    route = street_routes.route_through(graph, "drive", snaps)
    kmh = route.length_m / route.seconds * 3.6
    assert 15.0 <= kmh <= 40.0  # a freeway stretch: above the city median
    assert route.seconds / 60 >= 9.0
    # Its turns are in its time, on top of the edges' (junction-weighted) times.
    turns = graph.turn_seconds("drive", route.steps)
    assert turns > 0
    assert route.seconds == pytest.approx(
        street_routes.route_seconds(graph, "drive", route.steps) + turns
    )


def test_walking_and_cycling_have_no_junction_or_turn_delays(graph):
    snaps = [
        graph.snap(-122.3208, 47.6153, "bike"),
        graph.snap(-122.3130, 47.6613, "bike"),
    ]
    route = street_routes.route_through(graph, "bike", snaps)
    assert graph.turn_seconds("bike", route.steps) == 0.0
    assert route.length_m / route.seconds * 3.6 == pytest.approx(15.0)


def test_a_side_street_waits_at_an_arterial_and_the_arterial_barely_does():
    # Vertex 0: Main St (an arterial, edges 0 and 1) crosses Oak St (edges 2, 3).
    source = np.array([1, 0, 3, 0])
    target = np.array([0, 2, 0, 4])
    highway = ["secondary", "secondary", "residential", "residential"]
    label = ["Main St", "Main St", "Oak St", "Oak St"]
    fwd, back = junction_delays(source, target, highway, label, np.ones(4, bool))
    on_main, on_oak = fwd[0], fwd[2]  # both arrive at vertex 0
    assert on_oak > 3 * on_main > 0
    assert back[1] == on_main and back[3] == on_oak
    # Leaving the junction costs nothing at the far ends (no junction there).
    assert fwd[1] == fwd[3] == back[0] == back[2] == 0.0
    # A T (Oak St ends at Main St) holds up less than a crossing.
    t_fwd, _ = junction_delays(
        source[:3], target[:3], highway[:3], label[:3], np.ones(3, bool)
    )
    assert 0 < t_fwd[2] < on_oak
    # A street's own continuation is no junction; nor is an undrivable crossing.
    straight, _ = junction_delays(
        source, target, highway, label, np.array([True, True, False, False])
    )
    assert straight[0] == 0.0


@pytest.mark.parametrize(
    ("arrive", "leave", "delay"),
    [
        (0.0, 10.0, 0.0),  # on straight
        (0.0, 90.0, RIGHT_TURN_S),  # heading north, then east: right
        (0.0, 270.0, LEFT_TURN_S),  # then west: left
        (350.0, 80.0, RIGHT_TURN_S),  # across north
        (90.0, 265.0, U_TURN_S),
    ],
)
def test_turns_cost_by_their_side(arrive, leave, delay):
    assert turn_delay_s(np.array([arrive]), np.array([leave]))[0] == delay
