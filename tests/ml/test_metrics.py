from __future__ import annotations

import numpy as np
import pytest

from ml.metrics import (
    bootstrap_mean_ci,
    calibration,
    hit_rate,
    pai,
    paired_bootstrap,
    pei,
    poisson_deviance,
    window_sums,
)


def test_hit_rate_and_pai_hand_computed():
    # 10 cells, 10 events; top 10% = 1 cell (the 0.9 one, 4 events), top 20% = 2 cells
    # (0.9 and 0.8: 4 + 1 events).
    pred = np.array([[0.1, 0.9, 0.2, 0.8, 0.0, 0.0, 0.3, 0.0, 0.0, 0.05]])
    obs = np.array([[2, 4, 0, 1, 0, 0, 1, 2, 0, 0]])
    hr = hit_rate(pred, obs, [0.1, 0.2])
    assert hr.tolist() == [[0.4, 0.5]]
    assert pai(pred, obs, [0.1, 0.2]) == pytest.approx(np.array([[4.0, 2.5]]))
    # Half a cell of area: half of the best cell's events.
    assert hit_rate(pred, obs, [0.05])[0, 0] == pytest.approx(0.2)


def test_pei_divides_by_the_best_possible_capture():
    pred = np.array([[0.1, 0.9, 0.2, 0.8, 0.0, 0.0, 0.3, 0.0, 0.0, 0.05]])
    obs = np.array([[2, 4, 0, 1, 0, 0, 1, 2, 0, 0]])
    # Best 2 cells hold 4 + 2 = 6 events; the forecast's top 2 hold 5.
    assert pei(pred, obs, [0.2])[0, 0] == pytest.approx(5 / 6)
    assert pei(obs, obs, [0.1, 0.2]).tolist() == [[1.0, 1.0]]


def test_ties_share_the_area_so_a_flat_map_hits_its_area_share():
    rng = np.random.default_rng(0)
    obs = rng.poisson(rng.gamma(0.3, 1.0, (5, 200)))
    flat = np.ones_like(obs, dtype=float)
    assert hit_rate(flat, obs, [0.01, 0.05, 0.2]) == pytest.approx(
        np.tile([0.01, 0.05, 0.2], (5, 1))
    )
    # A partly tied map: cell 0 alone on top, cells 1-3 tied next.
    pred = np.array([[5.0, 1.0, 1.0, 1.0]])
    obs1 = np.array([[1, 3, 0, 0]])
    # 2 cells = cell 0 + a third of the tied group's 3 events = 2 of 4.
    assert hit_rate(pred, obs1, [0.5])[0, 0] == pytest.approx(0.5)


def test_windows_without_events_are_nan():
    assert np.isnan(hit_rate(np.ones((1, 4)), np.zeros((1, 4)), [0.25])[0, 0])


def test_poisson_deviance_hand_computed():
    d = poisson_deviance(np.array([1.0, 2.0, 0.5, 0.0]), np.array([1.0, 0.0, 2.0, 1.0]))
    assert d[0] == pytest.approx(0.0)
    assert d[1] == pytest.approx(4.0)  # 2 * (0 - (0 - 2))
    assert d[2] == pytest.approx(2 * (2 * np.log(4) - 1.5))
    assert np.isfinite(d[3]) and d[3] > 20  # zero forecast, one event: floored


def test_window_sums_and_calibration():
    h = np.arange(24 * 2, dtype=float).reshape(24, 2)
    s = window_sums(h, 8)
    assert s.shape == (3, 2) and s[0, 0] == sum(range(0, 16, 2))
    pred = np.arange(100, dtype=float)
    obs = pred * 2
    cal = calibration(pred, obs, 10)
    assert cal["mean_pred"][0] == pytest.approx(4.5)
    assert cal["mean_obs"][9] == pytest.approx(2 * 94.5)
    assert cal["n"] == [10] * 10


def test_bootstrap_intervals_cover_the_mean_and_pairs_cancel_noise():
    rng = np.random.default_rng(1)
    base = rng.normal(10, 3, 200)
    model = base + 0.5 + rng.normal(0, 0.1, 200)
    ci = bootstrap_mean_ci(base, n_boot=300)
    assert ci["lo"] < ci["mean"] < ci["hi"]
    pb = paired_bootstrap(model, base, groups=np.arange(200) // 4, n_boot=300)
    assert pb["diff"] == pytest.approx(0.5, abs=0.05)
    assert 0.4 < pb["lo"] < pb["hi"] < 0.6  # pairing removes the shared noise
    assert pb["rel"] == pytest.approx(model.mean() / base.mean() - 1)
