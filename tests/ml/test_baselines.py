from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ml import forecasters
from ml.baselines import BASELINE_KINDS, how_profile
from ml.events import Events
from ml.hackathon import Hackathon, build_network, time_inputs
from ml.timeutil import DAY, HOUR, WEEK, local_hour_of_week

from .conftest import local_s, make_events, square_grid

GRID = square_grid(10)
HOT = 37
ORIGIN = local_s(2021, 6, 7, 0)  # a Monday, local midnight
CX, CY = GRID.centers()


def _hotspot_events(seed: int = 0, n: int = 20_000, days: int = 730) -> Events:
    """Half the events in cell HOT, the rest uniform; Poisson-ish in time."""
    rng = np.random.default_rng(seed)
    pos = np.where(rng.random(n) < 0.5, HOT, rng.integers(0, GRID.n_cells, n))
    t = ORIGIN - rng.integers(1, days * DAY, n)
    cat = rng.integers(0, 2, n)
    return make_events(t, CX[pos], CY[pos], category=cat)


def _fit(kind: str, events: Events, **cfg):
    return forecasters.get(kind, **cfg).fit(events, GRID, ORIGIN)


def test_registry_knows_every_kind():
    kinds = forecasters.available()
    for k in (*BASELINE_KINDS, "hackathon"):
        assert k in kinds
    with pytest.raises(KeyError):
        forecasters.get("nope")


@pytest.mark.parametrize(
    "kind", ["longrun", "recent", "kde", "seasonal", "seasonal_smooth"]
)
def test_planted_hotspot_is_the_top_cell(kind):
    ev = _hotspot_events()
    p = _fit(kind, ev).predict(ev, ORIGIN, 24)
    assert p.shape == (24, GRID.n_cells, 2) and p.dtype == np.float32
    per_cell = p.sum(axis=(0, 2))
    assert int(np.argmax(per_cell)) == HOT
    # Half of all expected events are in the hotspot (KDE smears some to neighbours).
    share = per_cell[HOT] / per_cell.sum()
    assert share == pytest.approx(0.5, abs=0.25 if kind == "kde" else 0.05)


def test_rates_have_the_right_scale():
    ev = _hotspot_events(n=20_000, days=730)
    per_hour = 20_000 / (730 * 24)
    for kind in ("uniform", "longrun", "seasonal"):
        p = _fit(kind, ev, **({"level_days": 730} if kind == "seasonal" else {}))
        total = p.predict(ev, ORIGIN, 168).sum() / 168
        assert total == pytest.approx(per_hour, rel=0.05), kind
    flat = _fit("uniform", ev).predict(ev, ORIGIN, 3)
    assert np.allclose(flat, flat[:1, :1, :])


def _weekly_events(seed: int = 0, weeks: int = 150) -> Events:
    """Cell 11 only on Monday 08:00-09:00 local, cell 88 only on Friday 20:00-21:00;
    plus many placeholder-midnight events that must not make a midnight peak."""
    rng = np.random.default_rng(seed)
    w = np.arange(1, weeks + 1)
    parts = []
    for cell, off_h in ((11, 8), (88, 4 * 24 + 20)):
        t = np.repeat(ORIGIN - w * WEEK + off_h * HOUR, 6) + rng.integers(
            0, HOUR, 6 * weeks
        )
        parts.append(make_events(t, CX[cell], CY[cell]))
    mid = ORIGIN - rng.integers(1, weeks * 7, 4 * weeks) * DAY  # local midnights
    parts.append(make_events(mid, CX[50], CY[50], imprecise=True))
    return Events.concat(parts)


def test_planted_hour_of_week_pattern():
    ev = _weekly_events()
    how = local_hour_of_week(ORIGIN + HOUR * np.arange(168))
    seasonal = _fit("seasonal", ev).predict(ev, ORIGIN, 168).sum(axis=(1, 2))
    peaks = set(how[np.argsort(seasonal)[-2:]])
    assert peaks == {8, 4 * 24 + 20}
    smooth = _fit("seasonal_smooth", ev, shrinkages=(1.0, 10000.0))
    assert smooth.state["shrink"] == 1.0  # cell-specific shapes win on held-out data
    p = smooth.predict(ev, ORIGIN, 168)
    assert how[np.argmax(p[:, 11].sum(1))] == 8
    assert how[np.argmax(p[:, 88].sum(1))] == 4 * 24 + 20


def test_placeholder_midnights_make_no_midnight_peak():
    ev = _weekly_events()
    prof = how_profile(ev, GRID, ORIGIN - 3 * 365 * DAY, ORIGIN)
    midnights = prof[np.arange(7) * 24, 1]  # the events are all PROPERTY (channel 1)
    assert (midnights < 0.1).all()  # only the +1 smoothing pseudo-count
    # ...while the imprecise events still count in the cell's level.
    p = _fit("seasonal", ev).predict(ev, ORIGIN, 168)
    assert p[:, 50].sum() == pytest.approx(4.0, rel=0.1)  # 4 a week


def test_kde_bandwidth_is_tuned_on_training_data_only():
    # Sparse events spread widely (1 km sd on a 4.5 km grid): a wide kernel must win;
    # dense, tight events: a narrow one (a 2-D KDE's optimum shrinks like n^(-1/6)).
    grid = square_grid(30)
    rng = np.random.default_rng(3)

    def blob(n: int, sd: float) -> Events:
        x = 540000 + 115 * 150 + rng.normal(0, sd, n)
        y = 5255000 + 115 * 150 + rng.normal(0, sd, n)
        return make_events(ORIGIN - rng.integers(1, 400 * DAY, n), x, y)

    wide_ev = blob(150, 1000.0)
    wide = forecasters.get("kde").fit(wide_ev, grid, ORIGIN)
    narrow = forecasters.get("kde").fit(blob(3000, 200.0), grid, ORIGIN)
    assert float(wide.state["bandwidth_m"]) >= 600
    assert float(narrow.state["bandwidth_m"]) <= 150
    # Events after the fit cut-off (even if reported before a later origin) are unused.
    later = make_events(ORIGIN + rng.integers(1, 30 * DAY, 500), CX[0], CY[0])
    again = forecasters.get("kde").fit(Events.concat([wide_ev, later]), grid, ORIGIN)
    assert again.state["bandwidth_m"] == wide.state["bandwidth_m"]


@pytest.mark.parametrize("kind", [*BASELINE_KINDS, "hackathon"])
def test_no_leakage_events_reported_after_the_origin_change_nothing(kind):
    ev = _hotspot_events(n=3000, days=400)
    cfg = {"epochs": 1} if kind == "hackathon" else {}
    m = forecasters.get(kind, **cfg).fit(ev, GRID, ORIGIN)
    base = m.predict(ev, ORIGIN, 48)
    rng = np.random.default_rng(9)
    # Late reports of old offenses, and new offenses, all reported at/after the origin.
    t = np.r_[
        ORIGIN - rng.integers(1, 30 * DAY, 300), ORIGIN + rng.integers(0, DAY, 300)
    ]
    late = make_events(t, CX[5], CY[5], category=0)
    late.report_time = np.maximum(late.report_time, ORIGIN)
    m2 = forecasters.get(kind, **cfg).fit(Events.concat([ev, late]), GRID, ORIGIN)
    assert np.array_equal(m2.predict(Events.concat([ev, late]), ORIGIN, 48), base)


@pytest.mark.parametrize("kind", [*BASELINE_KINDS, "hackathon"])
def test_checkpoint_round_trip(kind, tmp_path):
    ev = _hotspot_events(n=3000, days=400)
    cfg = {"epochs": 1} if kind == "hackathon" else {}
    m = forecasters.get(kind, **cfg).fit(ev, GRID, ORIGIN)
    m.save(tmp_path / "m.pt")
    back = forecasters.load(tmp_path / "m.pt")
    assert back.kind == kind and back.config == m.config
    assert back.data_window["fit_until_s"] == ORIGIN
    assert np.array_equal(back.grid.cell_ids, GRID.cell_ids)
    assert np.array_equal(back.predict(ev, ORIGIN, 24), m.predict(ev, ORIGIN, 24))


def test_hackathon_network_and_settings_are_the_originals():
    net = build_network()
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (4, 8),
        (8, 8),
        (8, 2),
    ]
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    cfg = Hackathon().config
    assert (cfg.lr, cfg.batch_size, cfg.epochs) == (3e-5, 64, 4)
    x = time_inputs(np.array([local_s(2021, 7, 4, 21, 37)]))
    assert x.tolist() == [[7.0, 4.0, 21.0, 37.0]]
    assert net(torch.from_numpy(x)).shape == (1, 2)


def test_hackathon_map_is_60_points_scaled_to_the_mean_hourly_count():
    ev = _hotspot_events(n=4000, days=400)
    m = forecasters.get("hackathon", epochs=1).fit(ev, GRID, ORIGIN)
    p = m.predict(ev, ORIGIN, 5)
    hourly = p.sum(axis=(1, 2))
    assert np.allclose(hourly, m.state["mean_hourly"].sum(), rtol=1e-5)
    assert ((p.sum(2) > 0).sum(1) <= 60).all()
    assert isinstance(m.metrics["train_mse"], list) and len(m.metrics["train_mse"]) == 1


@pytest.mark.parametrize("kind", ["seasonal_smooth", "hackathon"])
def test_fit_progress_is_fraction_and_message(kind):
    # The one progress form in ml/: progress(fraction in [0, 1], message).
    seen: list[tuple[float, str]] = []
    cfg = {"epochs": 2} if kind == "hackathon" else {}
    ev = _hotspot_events(n=3000, days=400)
    forecasters.get(kind, **cfg).fit(
        ev, GRID, ORIGIN, progress=lambda f, m: seen.append((f, m))
    )
    fractions = [f for f, _ in seen]
    assert seen and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(isinstance(m, str) and m for _, m in seen)


def test_seed_and_device_helpers_are_the_ml_device_ones():
    from ml import device

    assert forecasters.set_seed is device.set_seed
    assert forecasters.resolve_device is device.resolve_device
