"""Self-excitation: the excitation maps, the EM fit, the stand-alone ``hawkes``
forecaster on a simulated self-exciting process, and its no-leakage rule."""

from __future__ import annotations

import numpy as np
import pytest

from ml import forecasters
from ml.events import Events
from ml.excitation import ExcitationMaps, KernelSet, em_weights
from ml.timeutil import DAY, HOUR

from .conftest import local_s, make_events, square_grid

GRID = square_grid(10)
CX, CY = GRID.centers()
START = local_s(2019, 1, 7, 0)
UNTIL = START + 600 * DAY
SMALL = {"fit_days": 150.0, "origin_stride_h": 37, "em_iters": 200}


def hawkes_events(seed: int = 0, days: int = 640, branching: float = 0.5) -> Events:
    """Background: 0.004 events per cell-hour everywhere; every event has
    Poisson(branching) offspring in its own cell, delays exponential with mean 24 h."""
    rng = np.random.default_rng(seed)
    n0 = rng.poisson(0.004 * GRID.n_cells * days * 24)
    t = START + rng.integers(0, days * DAY, n0)
    cell = rng.integers(0, GRID.n_cells, n0)
    times, cells = [t], [cell]
    while len(t):
        k = rng.poisson(branching, len(t))
        t = np.repeat(t, k) + (rng.exponential(24.0, k.sum()) * HOUR).astype(np.int64)
        cell = np.repeat(cell, k)
        keep = t < START + days * DAY
        t, cell = t[keep], cell[keep]
        times.append(t)
        cells.append(cell)
    t, cell = np.concatenate(times), np.concatenate(cells)
    return make_events(t, CX[cell], CY[cell], category=rng.integers(0, 2, len(t)))


@pytest.fixture(scope="module")
def events() -> Events:
    return hawkes_events()


@pytest.fixture(scope="module")
def fitted(events):
    return forecasters.get("hawkes", **SMALL).fit(events, GRID, UNTIL)


def test_excitation_maps_decay_and_see_only_reported_events():
    origin = local_s(2021, 3, 1, 0)
    ev = make_events(
        [origin - 12 * HOUR, origin - 12 * HOUR],
        [CX[5], CX[77]],
        [CY[5], CY[77]],
        category=1,
        report_delay_s=0,
    )
    ev.report_time[1] = origin  # reported at the origin: not known yet
    k = KernelSet(taus_h=(12.0, 72.0), sigmas_cells=(0.0, 1.0))
    e = ExcitationMaps(ev, GRID, k).at(origin)
    assert e.shape == (4, GRID.n_cells, 2)
    assert e[0, 5, 1] == pytest.approx(np.exp(-1.0), rel=1e-6)  # tau 12 h, own cell
    assert e[2, 5, 1] == pytest.approx(np.exp(-12 / 72), rel=1e-6)
    assert e[0::2, 77].sum() == 0  # own-cell kernels: the unreported event is unseen
    assert e[0, :, 1].sum() == pytest.approx(np.exp(-1.0), rel=1e-6)
    assert e[:, :, 0].sum() == 0  # the other channel
    # The Gaussian kernel spreads the mass to neighbours, the own-cell one does not.
    assert e[1, 6, 1] > 0 and e[0, 6, 1] == 0
    assert e[1, 5, 1] < e[0, 5, 1]


def test_em_recovers_the_weights_of_a_poisson_mixture():
    rng = np.random.default_rng(0)
    x = rng.gamma(1.0, 1.0, (200_000, 3))
    theta = np.array([0.02, 0.005, 0.0])
    y = rng.poisson(x @ theta)
    hit = y > 0
    got = em_weights(x[hit], y[hit], x.sum(0), iters=500)
    assert got == pytest.approx(theta, abs=1.5e-3)


def test_hawkes_finds_the_planted_self_excitation(fitted):
    theta = fitted.state["theta"]  # (2, 1 + J): background scale, kernel weights
    k = fitted.config.kernels()
    own = np.asarray(k.sigmas_cells)[np.arange(k.n_kernels) % 2] == 0
    # Offspring stay in their cell with a 24 h delay: the own-cell, short kernels carry
    # the triggering, and they carry a share near the branching ratio (1/2 of events
    # at stationarity are offspring).
    assert theta[:, 1:][:, own].sum() > 5 * theta[:, 1:][:, ~own].sum()
    share = np.asarray(fitted.metrics["triggered_share"])
    assert ((share > 0.3) & (share < 0.7)).all()


def test_hawkes_forecast_rises_after_a_burst_and_decays(fitted, events):
    origin = UNTIL + 2 * DAY
    burst = make_events(
        origin - np.arange(1, 6) * HOUR, CX[33], CY[33], category=1, report_delay_s=60
    )
    both = Events.concat([events, burst])
    p = fitted.predict(both, origin, 168)
    q = fitted.predict(events, origin, 168)
    assert p.shape == (168, GRID.n_cells, 2) and p.dtype == np.float32
    lift = p[:, 33, 1] - q[:, 33, 1]
    assert lift[0] > 0.05 and lift[0] > 5 * lift[96]  # decays over days
    # A far cell moves only through the background's citywide profile.
    assert np.abs(p[:, 40] - q[:, 40]).max() < 0.02 * lift[0]


def test_hawkes_ignores_events_reported_after_the_origin(fitted, events):
    origin = UNTIL + 3 * DAY
    before = fitted.predict(events, origin, 48)
    rng = np.random.default_rng(5)
    n = 300
    late = make_events(
        origin + rng.integers(-4 * DAY, 4 * DAY, n),
        CX[rng.integers(0, GRID.n_cells, n)],
        CY[rng.integers(0, GRID.n_cells, n)],
        category=rng.integers(0, 4, n),
    )
    late.report_time = np.maximum(late.event_time, origin) + rng.integers(0, DAY, n)
    after = fitted.predict(Events.concat([events, late]), origin, 48)
    np.testing.assert_array_equal(before, after)


def test_hawkes_fit_ignores_events_reported_after_until(events):
    a = forecasters.get("hawkes", **SMALL).fit(events, GRID, UNTIL)
    later = events.select(events.report_time >= UNTIL)
    later.x = later.x[::-1].copy()  # a different future: must not matter
    mixed = Events.concat([events.reported_before(UNTIL), later])
    b = forecasters.get("hawkes", **SMALL).fit(mixed, GRID, UNTIL)
    np.testing.assert_array_equal(a.state["theta"], b.state["theta"])


def test_hawkes_checkpoint_round_trip(fitted, events, tmp_path):
    fitted.save(tmp_path / "h.pt")
    loaded = forecasters.load(tmp_path / "h.pt")
    np.testing.assert_array_equal(
        fitted.predict(events, UNTIL, 24), loaded.predict(events, UNTIL, 24)
    )
