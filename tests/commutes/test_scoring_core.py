"""The scoring arithmetic against sums computed independently (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from commutes.services import scoring


def brute_force_trip(per_hour: np.ndarray, start_h: float, duration_h: float) -> float:
    """Sum the hourly rate over the trip in one-second steps."""
    step = 1 / 3600
    t = start_h + step * (np.arange(round(duration_h / step)) + 0.5)
    hours = np.floor(t).astype(int)
    wrapped = np.where(hours >= per_hour.size, hours - 168, hours)
    return float(per_hour[wrapped].sum() * step)


@pytest.mark.parametrize("duration_h", [0.25, 1.0, 1.4, 2.75, 8.0])
def test_trip_integral_pro_rates_each_hour(duration_h):
    rng = np.random.default_rng(1)
    per_hour = rng.gamma(2.0, 1.0, size=176)
    got = scoring.trip_integral(per_hour, duration_h, 168)
    for d in (0, 5, 100, 167):
        expected = brute_force_trip(per_hour, d, duration_h)
        assert got[d] == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_trips_past_the_forecast_wrap_to_the_same_hour_a_week_earlier():
    per_hour = np.arange(168, dtype=float)
    got = scoring.trip_integral(per_hour, 2.0, 168)
    # Leaving at hour 167 spends an hour in 167 and an hour in "168" = hour 0.
    assert got[167] == pytest.approx(167 + 0)
    assert got[166] == pytest.approx(166 + 167)


def test_columns_for_maps_ids_and_drops_cells_outside_the_grid():
    grid = np.array([10, 20, 30, 40], dtype=np.int64)
    cols = scoring.columns_for(np.array([40, 10, 99, 10]), grid)
    assert cols.tolist() == [0, 3]
    assert scoring.columns_for(np.array([], dtype=np.int64), grid).size == 0


def test_score_corridor_sums_the_corridor_and_compares_with_the_city_mean():
    rng = np.random.default_rng(7)
    values = rng.gamma(1.0, 0.01, size=(170, 50)).astype(np.float32)
    cols = np.array([3, 4, 5, 17, 30])
    segments = [np.array([3, 4]), np.array([4, 5, 17]), np.array([30])]
    core = scoring.score_corridor(values, cols, segments, duration_h=0.5)
    v = values.astype(np.float64)
    for d in (0, 42, 167):
        mine = 0.5 * v[d, cols].sum()
        typical = 0.5 * len(cols) * v[d].mean()
        assert core.expected[d] == pytest.approx(mine, rel=1e-6)
        assert core.typical[d] == pytest.approx(typical, rel=1e-6)
        assert core.relative[d] == pytest.approx(mine / typical, rel=1e-6)
    week_mean = v[:168].mean()
    for i, seg in enumerate(segments):
        rate = v[:168][:, seg].mean(axis=0).sum()
        assert core.segment_rate[i] == pytest.approx(rate, rel=1e-6)
        assert core.segment_relative[i] == pytest.approx(
            rate / (len(seg) * week_mean), rel=1e-6
        )


def test_a_corridor_of_average_cells_is_exactly_typical():
    values = np.full((168, 20), 0.02, dtype=np.float32)
    core = scoring.score_corridor(values, np.arange(6), [np.arange(6)], 1.3)
    assert np.allclose(core.relative, 1.0)


def test_an_empty_corridor_expects_nothing():
    values = np.ones((168, 5), dtype=np.float32)
    core = scoring.score_corridor(values, np.array([], dtype=np.int64), [], 1.0)
    assert core.corridor_cells == 0
    assert np.all(core.expected == 0)
    assert np.all(np.isnan(core.relative))


def test_many_departures_sum_exactly_as_one_does():
    # _best_leave scores ~18 ten-minute departures per route at once: each must be
    # the very float expected_at gives, or the best and worst moment could change.
    rng = np.random.default_rng(16)
    for hours in (168, 176, 30):
        per_hour = rng.gamma(0.5, 2.0, hours)
        for duration in (0.05, 0.6, 1.0, 2.5, 7.9, 9.3):
            starts = np.concatenate(
                [rng.uniform(0, hours, 40), np.arange(0, 12, 1 / 6), [hours - 0.1]]
            )
            many = scoring.expected_at_many(per_hour, starts, duration)
            one = [scoring.expected_at(per_hour, s, duration) for s in starts]
            assert many.tolist() == one
    assert scoring.expected_at_many(per_hour, np.array([]), 1.0).size == 0
    assert scoring.expected_at_many(per_hour, np.array([3.0]), 0.0).tolist() == [0.0]
