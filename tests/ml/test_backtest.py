from __future__ import annotations

import json

import numpy as np
import pytest

from ml import forecasters
from ml.ablation import ablation_markdown, collect
from ml.backtest import (
    BacktestConfig,
    evaluate,
    imprecise_report,
    load_windows,
    main,
    run_backtest,
    summarise,
    weekly_origins,
)
from ml.timeutil import DAY, to_local_naive
from tests.data_files import CITY_LIMITS

from .conftest import local_s, make_events, square_grid

GRID = square_grid(10)


def _events(seed=0, n=30_000):
    rng = np.random.default_rng(seed)
    x, y = GRID.centers()
    pos = np.where(rng.random(n) < 0.3, 42, rng.integers(0, GRID.n_cells, n))
    t0 = local_s(2020, 1, 1)
    t = t0 + rng.integers(0, 500 * DAY, n)
    return make_events(t, x[pos], y[pos], category=rng.integers(0, 2, n))


def test_weekly_origins_are_local_midnights_across_dst():
    o = weekly_origins("2021-03-08", 3)  # DST starts 2021-03-14
    assert (to_local_naive(o) % DAY == 0).all()
    assert np.diff(o).tolist() == [7 * DAY - 3600, 7 * DAY]


def test_run_backtest_scores_and_compares():
    ev = _events()
    cfg = BacktestConfig(
        first_origin="2021-03-01", n_origins=3, cell_sizes=(150, 300), n_boot=50
    )
    seen: list[tuple[float, str]] = []
    raw = run_backtest(
        ev,
        GRID,
        ["uniform", "longrun", "seasonal_smooth"],
        cfg,
        progress=lambda f, m: seen.append((f, m)),
    )
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert ("longrun: origin 3/3") in [m for _, m in seen]
    assert any(m.startswith("seasonal_smooth fit: shrink") for _, m in seen)
    pw = raw["per_window"]["150m"]
    assert len(pw["8h"]["uniform"]["pai_1"]) == 3 * 21
    assert len(pw["7d"]["longrun"]["pai_1"]) == 3
    assert np.allclose(pw["24h"]["uniform"]["pai_5"], 1.0)
    s = summarise(raw, cfg, reference="longrun")
    lr = s["summary"]["150m"]["24h"]["longrun"]["pai_1"]
    assert lr["mean"] > 10 and lr["lo"] <= lr["mean"] <= lr["hi"]  # the hotspot
    diff = s["paired"]["150m"]["24h"]["uniform"]["pai_1"]
    assert diff["lo"] > 0  # long-run beats uniform, interval excludes zero
    assert set(s["summary"]) == {"150m", "300m"}


def test_evaluate_a_fitted_model_for_the_training_run():
    ev = _events()
    m = forecasters.get("seasonal").fit(ev, GRID, local_s(2021, 3, 1))
    out = evaluate(m, ev, GRID, "2021-03-01", n_origins=2)
    json.dumps(out)
    assert out["summary"]["150m"]["8h"]["seasonal"]["pai_1"]["mean"] > 5


def test_imprecise_report_counts_placeholders():
    ev = _events(n=1000)
    ev.imprecise[:100] = True
    rep = imprecise_report(ev, GRID, local_s(2030, 1, 1))
    assert rep["n_imprecise"] == 100 and rep["fraction_imprecise"] == pytest.approx(0.1)
    assert sum(rep["hour_of_day_spread"]) == pytest.approx(1000)


def _events_cache_in_seattle(tmp_path):
    """An events cache for the CLI: synthetic events moved into Seattle (the CLI
    builds the grid from the city limits)."""
    ev = _events(n=5000)
    ev.x = ev.x - ev.x.mean() + 550000
    ev.y = ev.y - ev.y.mean() + 5272000
    cache = tmp_path / "ev.npz"
    ev.save_npz(cache)
    cache.with_suffix(".json").write_text("{}")
    return cache


def test_cli_writes_metrics_and_plots(tmp_path):
    cache = _events_cache_in_seattle(tmp_path)
    rc = main(
        [
            "--events-cache",
            str(cache),
            "--city-limits",
            str(CITY_LIMITS),
            "--out",
            str(tmp_path / "rep"),
            "--models",
            "uniform,recent",
            "--origins",
            "2",
            "--first-origin",
            "2021-03-01",
            "--cell-sizes",
            "300",
            "--n-boot",
            "20",
        ]
    )
    assert rc == 0
    out = json.loads((tmp_path / "rep/metrics.json").read_text())
    assert out["reference"] == "seasonal_smooth" and out["kinds"] == [
        "uniform",
        "recent",
    ]
    for png in ("hit_rate_curves", "calibration", "example_forecast_map"):
        assert (tmp_path / f"rep/{png}.png").stat().st_size > 1000


def test_variants_windows_and_the_ablation_table(tmp_path):
    cache = _events_cache_in_seattle(tmp_path)
    common = [
        "--events-cache",
        str(cache),
        "--city-limits",
        str(CITY_LIMITS),
        "--origins",
        "3",
        "--first-origin",
        "2021-03-01",
        "--cell-sizes",
        "150",
        "--n-boot",
        "20",
        "--no-plots",
    ]
    # Two runs made separately: the second has a variant (label=kind, own config).
    assert (
        main(
            [
                *common,
                "--out",
                str(tmp_path / "a"),
                "--models",
                "seasonal_smooth,longrun",
            ]
        )
        == 0
    )
    cfg = json.dumps({"recent_7d": {"lookback_days": 7}})
    rc = main(
        [
            *common,
            "--out",
            str(tmp_path / "b"),
            "--models",
            "recent_7d=recent,recent",
            "--model-config",
            cfg,
        ]
    )
    assert rc == 0
    out = json.loads((tmp_path / "b/metrics.json").read_text())
    assert out["kind_of"] == {"recent_7d": "recent"}
    w = load_windows(tmp_path / "b/windows.npz")
    a7, a28 = (
        w["per_window"]["150m"]["24h"]["recent_7d"],
        w["per_window"]["150m"]["24h"]["recent"],
    )
    assert len(a7["pai_1"]) == 3 * 7 and not np.array_equal(a7["n_pred"], a28["n_pred"])
    np.testing.assert_array_equal(a7["n_obs"], a28["n_obs"])  # same truth
    merged = collect([tmp_path / "a", tmp_path / "b"])
    table = ablation_markdown(merged, reference="longrun", n_boot=20)
    for label in ("seasonal_smooth", "longrun", "recent_7d", "recent"):
        assert f"| {label} | 8h |" in table
    with pytest.raises(SystemExit):
        main([*common, "--out", str(tmp_path / "c"), "--models", "x=nope"])
    # A run scored against another truth (differently parsed events) cannot pair.
    other = tmp_path / "other"
    other.mkdir()
    (other / "metrics.json").write_text((tmp_path / "b/metrics.json").read_text())
    with np.load(tmp_path / "b/windows.npz") as z:
        arrays = {k: z[k] + (1 if k.endswith("|n_obs") else 0) for k in z.files}
    np.savez(other / "windows.npz", **arrays)
    with pytest.raises(ValueError, match="observed counts differ"):
        collect([tmp_path / "a", other])
