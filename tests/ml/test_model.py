"""The neural forecaster on small synthetic data: it learns, it does not leak, it is
reproducible and its checkpoints round-trip. Tiny configs keep the file fast on 2
cores."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import torch

from ml import forecasters
from ml.device import resolve_device
from ml.events import Events
from ml.features import FeatureBuilder, federal_holidays, horizon_features
from ml.timeutil import DAY, HOUR, local_hour_of_day
from ml.train import NeuralForecaster

from .conftest import local_s, square_grid

GRID = square_grid(12)
START = local_s(2019, 1, 1, 0)
DAYS = 420
UNTIL = START + 400 * DAY  # fit cut-off; the last 20 days are for checking forecasts
NIGHT = (20, 21, 22, 23, 0, 1)
TINY = {
    "hidden": 8,
    "rank": 2,
    "windows_h": (24, 168, 672, 2184),
    "base_window_h": 2184,
    "profile_window_h": 4000,
    "pool_factors": (2, 4),
    "min_history_days": 30,
    "val_days": 28,
    "origin_stride_h": 24,
    "batch_size": 8,
    "max_epochs": 6,
    "patience": 2,
    "lr": 1e-2,
    # One thread: on a shared 2-core machine, two OpenMP threads oversubscribe the CPU
    # and run several times slower than one.
    "threads": 1,
}


def true_intensity(hour_starts: np.ndarray) -> np.ndarray:
    """(hours, cells) expected events per cell-hour, both categories together:
    a flat background, day hotspots, and night hotspots at 6x by night."""
    n = GRID.n_cells
    base = np.full(n, 0.002)
    base[[15, 16, 27]] = 0.03  # steady hotspots
    night = np.isin(local_hour_of_day(hour_starts), NIGHT)
    mu = np.tile(base, (len(hour_starts), 1))
    mu[:, [100, 101, 113]] = np.where(night, 0.09, 0.015)[:, None]
    return mu


def synthetic_events(seed: int = 0) -> Events:
    rng = np.random.default_rng(seed)
    hours = START + np.arange(DAYS * 24) * HOUR
    counts = rng.poisson(true_intensity(hours))
    h, c = np.nonzero(counts)
    rep = counts[h, c]
    h, c = np.repeat(h, rep), np.repeat(c, rep)
    t = hours[h] + rng.integers(0, HOUR, len(h))
    x, y = GRID.centers()
    return Events(
        event_time=t,
        report_time=t + rng.exponential(6 * HOUR, len(t)).astype(np.int64),
        x=x[c],
        y=y[c],
        category=rng.integers(0, 2, len(t)),
        imprecise=np.zeros(len(t), dtype=bool),
    )


@pytest.fixture(scope="module")
def events() -> Events:
    return synthetic_events()


@pytest.fixture(scope="module")
def fitted(events) -> NeuralForecaster:
    return NeuralForecaster(seed=3, **TINY).fit(events, GRID, UNTIL)


def test_device_auto_picks_cpu_without_a_gpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"


def test_registered_as_neural_kind():
    assert "neural" in forecasters.available()
    assert isinstance(forecasters.get("neural", **TINY), NeuralForecaster)


def test_federal_holidays_computed_in_code():
    h2021 = federal_holidays(2021)
    assert h2021[date(2021, 1, 18)] == h2021[date(2021, 1, 18)]  # MLK, 3rd Monday
    assert date(2021, 5, 31) in h2021  # Memorial Day, last Monday
    assert date(2021, 7, 5) in h2021 and date(2021, 7, 4) in h2021  # Sunday -> Monday
    assert date(2020, 11, 26) in federal_holidays(2020)  # Thanksgiving
    assert date(2021, 6, 18) in h2021  # Juneteenth (Saturday) observed Friday
    assert date(2020, 6, 19) not in federal_holidays(2020)  # not a holiday before 2021
    feats = horizon_features(local_s(2021, 12, 24, 23), 2)
    assert feats["holiday"][0] > 0 and feats["holiday"][1] > 0  # observed Fri + 25th


def test_placeholder_times_are_spread_over_their_day():
    t = local_s(2021, 3, 3, 0)  # a placeholder midnight
    ev = Events(
        event_time=[t, t + 5 * HOUR],
        report_time=[t + DAY, t + DAY],
        x=[GRID.centers()[0][0]] * 2,
        y=[GRID.centers()[1][0]] * 2,
        category=[1, 1],
        imprecise=[True, False],
    )
    y = FeatureBuilder(ev, GRID).dense_targets(t, 24)[:, 0, 1]
    assert y.sum() == pytest.approx(2.0)
    assert y[0] == pytest.approx(1 / 24)  # no midnight peak
    assert y[5] == pytest.approx(1 + 1 / 24)


def test_recovers_planted_intensities_better_than_a_naive_rate(fitted, events):
    origin = UNTIL + 3 * DAY
    hours = origin + np.arange(168) * HOUR
    pred = fitted.predict(events, origin, 168).sum(-1)
    truth = true_intensity(hours)
    known = events.reported_before(origin)
    cells = GRID.index_of(known.x, known.y)
    span_h = (origin - START) / HOUR
    naive = np.tile(np.bincount(cells, minlength=GRID.n_cells) / span_h, (168, 1))

    def dev(p: np.ndarray) -> float:  # expected Poisson deviance against the truth
        return float(np.mean(truth * np.log(truth / p) - (truth - p)))

    assert dev(pred) < 0.8 * dev(naive)
    night = np.isin(local_hour_of_day(hours), NIGHT)
    hot = [100, 101, 113]
    assert pred[night][:, hot].mean() > 2.5 * pred[~night][:, hot].mean()
    assert pred.sum(1).mean() == pytest.approx(truth.sum(1).mean(), rel=0.25)


def test_forecast_shape_dtype_and_positivity(fitted, events):
    out = fitted.predict(events, UNTIL, 24)
    assert out.shape == (24, GRID.n_cells, 2) and out.dtype == np.float32
    assert np.isfinite(out).all() and (out > 0).all()


def late_events(origin: int, n: int = 500, seed: int = 9) -> Events:
    """Events that happened before the origin but were reported after it, and events
    after the origin outright: a forecast made at ``origin`` must not see any."""
    rng = np.random.default_rng(seed)
    x, y = GRID.centers()
    late = Events(
        event_time=origin + rng.integers(-5 * DAY, 5 * DAY, n),
        report_time=origin + rng.integers(0, 6 * DAY, n),
        x=x[rng.integers(0, GRID.n_cells, n)],
        y=y[rng.integers(0, GRID.n_cells, n)],
        category=rng.integers(0, 4, n),
        imprecise=rng.random(n) < 0.3,
    )
    late.report_time = np.maximum(late.report_time, late.event_time)
    return late


def test_events_reported_after_origin_change_nothing(fitted, events):
    origin = UNTIL + 2 * DAY
    before = fitted.predict(events, origin, 48)
    n = 500
    late = late_events(origin, n)
    after = fitted.predict(Events.concat([events, late]), origin, 48)
    np.testing.assert_array_equal(before, after)
    # ...while events reported before the origin do change the forecast.
    early = late.select(np.arange(n))
    early.report_time = np.full(n, origin - HOUR)
    early.event_time = np.minimum(early.event_time, origin - 2 * HOUR)
    assert not np.array_equal(
        before, fitted.predict(Events.concat([events, early]), origin, 48)
    )


def test_fit_ignores_events_reported_after_until(events):
    cfg = {**TINY, "max_epochs": 1}
    a = NeuralForecaster(seed=1, **cfg).fit(events, GRID, UNTIL)
    b = NeuralForecaster(seed=1, **cfg).fit(events.reported_before(UNTIL), GRID, UNTIL)
    np.testing.assert_array_equal(
        a.predict(events, UNTIL, 24), b.predict(events, UNTIL, 24)
    )


def test_deterministic_on_cpu_with_a_seed(events, fitted):
    again = NeuralForecaster(seed=3, **TINY).fit(events, GRID, UNTIL)
    np.testing.assert_array_equal(
        fitted.predict(events, UNTIL, 24), again.predict(events, UNTIL, 24)
    )


def test_checkpoint_round_trip_gives_identical_predictions(fitted, events, tmp_path):
    path = tmp_path / "neural.pt"
    fitted.save(path)
    loaded = forecasters.load(path)
    assert isinstance(loaded, NeuralForecaster)
    np.testing.assert_array_equal(
        fitted.predict(events, UNTIL, 72), loaded.predict(events, UNTIL, 72)
    )
    d = loaded.describe()
    assert d["kind"] == "neural" and d["metrics"]["device"] == "cpu"
    assert d["data_window"]["fit_until_s"] == UNTIL
    assert d["metrics"]["train_seconds"] > 0 and d["model_args"]["n_cells"] == 144


def test_progress_callback_reports_fractions(events):
    seen: list[tuple[float, str]] = []
    cfg = {**TINY, "max_epochs": 1}
    NeuralForecaster(**cfg).fit(
        events, GRID, UNTIL, progress=lambda f, m: seen.append((f, m))
    )
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(isinstance(f, float) and 0.0 <= f <= 1.0 for f in fractions)
    assert all(isinstance(m, str) and m for _, m in seen)
