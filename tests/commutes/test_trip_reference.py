"""The fair reference: random routed trips per forecast run, and a commute's place
among the similar ones (same mode, length within 20%, same departure hour)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from commutes.models import TripReference
from commutes.services import commute_words, scoring, trip_reference
from commutes.services.trip_sample import SAMPLE_TRIPS, sample_trips
from predictions.models import ForecastRun
from streets.services.street_graph import street_graph
from tests.commutes.conftest import FORECAST_START


# --- the arithmetic --------------------------------------------------------------
def test_percentile_counts_the_trips_expecting_fewer_and_ties_half():
    others = np.array([0.0, 0.0, 0.1, 0.2, 0.3])
    assert trip_reference.percentile_among(others, 0.25) == 80.0
    assert trip_reference.percentile_among(others, 0.0) == 20.0  # two ties, half
    assert trip_reference.percentile_among(others, 1.0) == 100.0
    assert trip_reference.percentile_among(others, -1.0) == 0.0


def test_similar_means_within_twenty_percent_of_the_length():
    ref = trip_reference.Reference(
        mode="bike",
        category="all",
        start=FORECAST_START,
        departures=168,
        lengths_m=np.array([790.0, 800.0, 1000.0, 1200.0, 1201.0]),
        expected=np.zeros((5, 168)),
        forecast_run_id=1,
    )
    assert trip_reference.similar_mask(ref, 1000.0).tolist() == [
        False,
        True,
        True,
        True,
        False,
    ]


def test_a_departure_outside_the_week_takes_the_same_hour_of_the_week():
    ref = trip_reference.Reference(
        mode="walk",
        category="all",
        start=FORECAST_START,
        departures=168,
        lengths_m=np.zeros(1),
        expected=np.zeros((1, 168)),
        forecast_run_id=1,
    )
    at = FORECAST_START + timedelta(hours=8, minutes=40)
    assert trip_reference.departure_index(ref, at) == 8
    assert trip_reference.departure_index(ref, at + timedelta(days=7)) == 8
    short = trip_reference.Reference(**{**ref.__dict__, "departures": 24})
    assert trip_reference.departure_index(short, at + timedelta(days=1)) is None


def test_exposures_match_the_scorer_trip_integral_for_every_trip():
    from scipy.sparse import csr_matrix

    rng = np.random.default_rng(3)
    values = rng.gamma(0.5, 0.01, (180, 12)).astype(np.float32)
    cells = csr_matrix((rng.random((4, 12)) < 0.4).astype(float))
    seconds = np.array([600.0, 3600.0, 5400.0, 9000.0])
    got = trip_reference.exposures(cells, seconds, values, 168)
    for t in range(4):
        cols = cells[t].indices
        per_hour = values[:, cols].sum(axis=1, dtype=np.float64)
        want = scoring.trip_integral(per_hour, seconds[t] / 3600, 168)
        np.testing.assert_allclose(got[t], want, rtol=1e-9, atol=1e-12)


def test_the_stretch_to_watch_is_never_in_the_first_or_last_200_m():
    bounds = [(0, 250), (250, 500), (500, 750), (750, 1000)]
    cells = np.array([4, 4, 4, 4])
    # The start's and the destination's blocks are the busiest: still not them.
    assert scoring.stretch_to_watch(bounds, [9, 2, 3, 8], cells, 1000) == 2
    # A stretch mostly beyond the margin qualifies though it begins inside it.
    assert (
        scoring.stretch_to_watch(
            [(0, 120), (120, 480), (480, 700)], [9, 1, 5], [3, 3, 3], 700
        )
        == 1
    )
    # The last stretch holds the destination, however long it is.
    assert (
        scoring.stretch_to_watch(
            [(0, 250), (250, 500), (500, 1400)], [1, 2, 9], [3, 3, 3], 1400
        )
        == 1
    )
    # Too short a trip: nothing to watch.
    assert scoring.stretch_to_watch([(0, 200), (200, 350)], [5, 5], [3, 3], 350) is None
    # Nothing expected anywhere: nothing to watch.
    assert scoring.stretch_to_watch(bounds, [0, 0, 0, 0], cells, 1000) is None


# --- routed on the real network and the stored forecast ----------------------------
@pytest.fixture
def reference(commute_data):
    """The known forecast's run; its reference was built with the data (conftest)."""
    return ForecastRun.objects.get(model_version_id=commute_data.model_version_id)


@pytest.mark.django_db
def test_a_forecast_run_stores_at_least_2000_routed_trips_per_mode(reference):
    rows = TripReference.objects.filter(forecast_run=reference)
    assert sorted(rows.values_list("mode", flat=True)) == ["bike", "drive", "walk"]
    for row in rows:
        assert row.n_trips == SAMPLE_TRIPS >= 2000
        assert row.departures == 168 and row.category == "all"
        assert len(row.expected) == row.n_trips * 168 * 4


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["walk", "bike", "drive"])
def test_random_trips_sit_near_the_middle_of_similar_trips(reference, mode):
    """Fresh random trips (another seed), each at a random hour, placed among the
    stored reference: their percentiles spread evenly, median near 50. Against the
    city's average cell instead, every trip along the streets sat high."""
    from predictions.services.forecast_store import load_forecast

    graph = street_graph()
    week = load_forecast("all", start=FORECAST_START, hours=176)
    ref = trip_reference.reference_for(week, mode)
    assert ref is not None and ref.forecast_run_id == reference.pk
    fresh = sample_trips(graph, mode, n=400, seed=2026)
    cells = trip_reference.trip_cells(
        fresh, trip_reference.edge_cell_matrix(graph, week.cell_ids)
    )
    expected = trip_reference.exposures(cells, fresh.seconds, week.values, 168)
    hours = np.random.default_rng(5).integers(0, 168, fresh.n)
    placed = [
        trip_reference.similar_trips(
            ref,
            fresh.lengths_m[i],
            ref.start + timedelta(hours=int(hours[i])),
            expected[i, hours[i]],
        )
        for i in range(fresh.n)
    ]
    pct = np.array([p["percentile"] for p in placed if p["percentile"] is not None])
    assert pct.size >= 0.9 * fresh.n  # nearly every length has enough similar trips
    assert 42 <= np.median(pct) <= 58, np.median(pct)
    q1, q3 = np.percentile(pct, [25, 75])
    assert 15 <= q1 <= 35 and 65 <= q3 <= 85, (q1, q3)
    assert min(p["n"] for p in placed) >= 1


@pytest.mark.django_db
def test_no_reference_for_the_hour_says_nothing_rather_than_guessing(commute_data):
    assert trip_reference.similar_trips(None, 1000.0, FORECAST_START, 0.1) is None


# --- in the commute's answer --------------------------------------------------------
CAPITOL_HILL_TO_UW = {"start": [-122.3208, 47.6154], "end": [-122.3130, 47.6612]}


@pytest.mark.django_db
def test_a_scored_route_is_placed_among_the_stored_similar_trips(reference):
    """Typical is the median of the stored trips of the mode within 20% of the
    route's length at each hour; the percentile at the departure is their share
    expecting fewer: both recomputed here from the stored row."""
    from commutes.services.commute import score_commute
    from commutes.services.commute_payload import payload
    from commutes.services.routes import parse_route, parse_window

    result = payload(
        score_commute(
            parse_route(CAPITOL_HILL_TO_UW | {"mode": "bike"}),
            parse_window({"start": "07:00", "end": "09:00", "days": "weekdays"}),
        )
    )
    row = TripReference.objects.get(forecast_run=reference, mode="bike")
    lengths = np.frombuffer(bytes(row.lengths), dtype="<f4")
    expected = np.frombuffer(bytes(row.expected), dtype="<f4").reshape(-1, 168)
    for route in result["routes"]:
        similar = np.abs(lengths - route["length_m"]) <= 0.2 * route["length_m"]
        for d in (0, 8, 100):
            want = float(np.median(expected[similar, d].astype(np.float64)))
            assert route["timeline"][d]["typical"] == pytest.approx(want, rel=1e-3)
        depart = datetime.fromisoformat(result["depart"]["departure"])
        hour = int((depart - FORECAST_START).total_seconds() // 3600)
        others = expected[similar, hour].astype(np.float64)
        mine = route["expected"]
        share = 100 * (
            np.count_nonzero(others < mine) + 0.5 * np.count_nonzero(others == mine)
        )
        got = route["similar_trips"]
        assert got["n"] == similar.sum() >= 30
        assert abs(got["percentile"] - share / others.size) <= 1.0
        assert got["median_expected"] == pytest.approx(np.median(others), rel=1e-3)
        words = route["words"]["standing"]
        hour_words = commute_words.clock(depart.replace(minute=0))
        assert words.endswith(f"similar bike trips leaving at {hour_words}"), words
    # No route's standing says "x typical" of the city's average any more: the
    # ratio is against the similar trips' median.
    first = result["routes"][0]
    assert first["relative_risk"] == pytest.approx(
        first["expected"] / first["typical"], rel=2e-3
    )


def test_the_near_way_share_counts_only_the_part_of_a_cell_near_the_route():
    from django.conf import settings

    from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M, area_shares
    from core.grid_sql import cell_bounds, cell_id_of

    size = settings.GRID_CELL_SIZE
    x0, y0, x1, _ = cell_bounds(cell_id_of(551_000.0, 5_272_000.0))
    mid = y0 + size / 2
    line = np.array([[x0 - 2000, mid], [x1 + 2000, mid]])  # through the cells' middles
    beside = cell_id_of(x0 + 1, y0 + size + 1)  # the row above: 75-225 m away
    far = cell_id_of(x0 + 1, y0 + 3 * size + 1)
    shares = area_shares(line, [cell_id_of(x0 + 1, y0 + 1), beside, far])
    assert shares[0] == pytest.approx(1.0)
    assert shares[1] == pytest.approx((CORRIDOR_HALF_WIDTH_M - size / 2) / size)
    assert shares[2] == 0.0
