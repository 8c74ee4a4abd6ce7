"""Issue 12's options of the neural forecaster (self-excitation term, extra rate-map
groups, negative-binomial head, listwise term, stacking): each trains, forecasts
from events reported before the origin only, and round-trips through a checkpoint.
Tiny configs on the synthetic city of test_model.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml import forecasters
from ml.events import Events
from ml.features import N_GROUPS, FeatureBuilder, FeatureConfig
from ml.model import nb_nll, poisson_nll, window_listwise
from ml.timeutil import DAY, HOUR
from ml.train import NeuralForecaster

from .test_model import GRID, TINY, UNTIL, late_events, synthetic_events

OPTIONS = {
    "excitation": {"excitation": True, "excite_init_origins": 24},
    "extra_groups": {"extra_groups": ("late", "placeholder")},
    "nb": {"loss": "nb"},
    "listwise": {"listwise_weight": 1.0},
    "stack": {"stack": ("seasonal_smooth", "kde")},
}
FAST = {**TINY, "max_epochs": 2, "patience": 1}


@pytest.fixture(scope="module")
def events() -> Events:
    ev = synthetic_events()
    ev.imprecise[::50] = True  # some placeholder times for the "placeholder" group
    return ev


@pytest.fixture(scope="module", params=list(OPTIONS))
def fitted(request, events) -> NeuralForecaster:
    return NeuralForecaster(seed=2, **FAST, **OPTIONS[request.param]).fit(
        events, GRID, UNTIL
    )


def test_option_forecasts_are_positive_and_learn(fitted, events):
    out = fitted.predict(events, UNTIL, 48)
    assert out.shape == (48, GRID.n_cells, 2) and out.dtype == np.float32
    assert np.isfinite(out).all() and (out > 0).all()
    hist = fitted.metrics["history"]
    assert hist[-1]["train"] == hist[-1]["train"]  # trained (not NaN)


def test_option_ignores_events_reported_after_the_origin(fitted, events):
    origin = UNTIL + 2 * DAY
    before = fitted.predict(events, origin, 48)
    after = fitted.predict(
        Events.concat([events, late_events(origin, n=400)]), origin, 48
    )
    np.testing.assert_array_equal(before, after)


def test_option_checkpoint_round_trip(fitted, events, tmp_path):
    fitted.save(tmp_path / "m.pt")
    loaded = forecasters.load(tmp_path / "m.pt")
    assert loaded.config == fitted.config
    np.testing.assert_array_equal(
        fitted.predict(events, UNTIL, 72), loaded.predict(events, UNTIL, 72)
    )


def test_excitation_term_is_initialised_by_em_and_reacts_to_a_burst(events):
    m = NeuralForecaster(seed=2, **FAST, **OPTIONS["excitation"]).fit(
        events, GRID, UNTIL
    )
    theta = np.asarray(m.metrics["excite_em_theta"])
    assert theta.shape == (2, 1 + 6) and (theta >= 0).all()
    origin = UNTIL + DAY
    x, y = GRID.centers()
    burst = Events(
        event_time=origin - np.arange(1, 9) * HOUR,
        report_time=origin - np.arange(1, 9) * HOUR + 60,
        x=np.full(8, x[60]),
        y=np.full(8, y[60]),
        category=np.ones(8),
        imprecise=np.zeros(8, dtype=bool),
    )
    p = m.predict(Events.concat([events, burst]), origin, 24)
    q = m.predict(events, origin, 24)
    assert p[:, 60, 1].sum() > q[:, 60, 1].sum()


def test_stack_weights_per_band_and_channel(events):
    m = NeuralForecaster(seed=2, **FAST, **OPTIONS["stack"]).fit(events, GRID, UNTIL)
    w = m.stack_weights
    assert w.shape == (3, 2, 3) and (w >= 0).all()
    assert m.metrics["stack"]["members"] == ["neural", "seasonal_smooth", "kde"]
    band = m._band_of(168)
    assert band[0] == 0 and band[7] == 0 and band[8] == 1 and band[24] == 2
    assert band[167] == 2


def test_extra_groups_count_late_and_placeholder_events():
    t0 = 1_600_000_000 - 1_600_000_000 % HOUR
    x, y = GRID.centers()
    ev = Events(
        event_time=[t0, t0, t0, t0],
        report_time=[t0 + 60, t0 + 2 * DAY, t0 + 60, t0 + 60],
        x=[x[3]] * 4,
        y=[y[3]] * 4,
        category=[1, 1, 2, 0],
        imprecise=[False, False, False, True],
    )
    cfg = FeatureConfig(windows_h=(168,), extra_groups=("late", "placeholder"))
    fb = FeatureBuilder(ev, GRID, cfg)
    assert fb.n_groups == N_GROUPS + 2
    # One hour of data before t0 + 1 h: rates are counts. Groups: PERSON, PROPERTY,
    # other, late, placeholder; the late PROPERTY event is not reported yet.
    m = fb.rate_maps(t0 + HOUR).reshape(5, -1)
    assert m[:, 3].tolist() == [1.0, 1.0, 1.0, 0.0, 1.0]
    m = fb.rate_maps(t0 + 3 * DAY).reshape(5, -1)
    assert m[3, 3] > 0  # ...and then it is, in "late"
    with pytest.raises(ValueError, match="unknown extra group"):
        FeatureBuilder(ev, GRID, FeatureConfig(extra_groups=("nope",)))


def test_nb_nll_tends_to_poisson_and_listwise_is_a_window_cross_entropy():
    g = torch.Generator().manual_seed(0)
    log_mu = torch.randn(2, 16, 5, 2, generator=g) - 2
    idx = torch.tensor([[0, 1, 2, 0], [1, 9, 4, 1], [1, 15, 0, 0]])
    w = torch.tensor([1.0, 2.0, 0.5])
    big_r = torch.full((2, 5, 2), 12.0)
    assert float(nb_nll(log_mu, big_r, idx, w)) == pytest.approx(
        float(poisson_nll(log_mu, idx, w)), rel=1e-3
    )
    # Over-dispersed (small r) costs less for a clustered count than Poisson does.
    small_r = torch.full((2, 5, 2), -1.0)
    w_big = torch.tensor([1.0, 9.0, 0.5])
    assert float(nb_nll(log_mu, small_r, idx, w_big)) < float(
        poisson_nll(log_mu, idx, w_big)
    )
    lw = window_listwise(log_mu, idx, w, window_h=8)
    tot = torch.exp(log_mu).reshape(2, 2, 8, 5, 2).sum((2, 4))  # (B, W, C)
    p = tot / tot.sum(-1, keepdim=True)
    manual = -(
        1.0 * torch.log(p[0, 0, 2])
        + 2.0 * torch.log(p[1, 1, 4])
        + 0.5 * torch.log(p[1, 1, 0])
    ) / (2 * 16)
    assert float(lw) == pytest.approx(float(manual), rel=1e-5)
