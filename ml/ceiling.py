"""How much can a map of *where* crime happens give? A leaky reference, no forecaster.

``python -m ml.ceiling`` scores, on the backtest's 52 weekly origins, maps that know the
backtest year's own spatial pattern: each cell's rate over the whole year of the
origins (2021) *except the week being scored* (so a week's events never count towards
their own forecast), times a citywide hour-of-week profile (as ``seasonal``) or a
shrunk per-cell one (as ``seasonal_smooth``, shrinkage 1024). They read the future on
purpose: no honest forecaster can know next month's per-cell totals, so their PAI
bounds what any better *spatial level* could add on top of the seasonal baselines;
what is left beyond it needs within-week dynamics (near-repeats, events of the last
hours). Results go to ``--out`` in the backtest's format (``metrics.json``,
``windows.npz``), so ``python -m ml.ablation`` compares them with real runs.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ml.backtest import (
    DEFAULT_CSV,
    DEFAULT_LIMITS,
    BacktestConfig,
    jsonable,
    load_events,
    run_backtest,
    save_windows,
    summarise,
    weekly_origins,
)
from ml.baselines import N_CH, SeasonalSmooth, _cell_totals, how_profile
from ml.events import Events
from ml.grid import GridSpec
from ml.timeutil import DAY, HOUR, local_hour_of_week


class YearOracle:
    """Cell rate over [year_start, year_end) minus the scored week, from every event
    in the file (late reports included), x an hour-of-week shape from the three
    years before ``year_start`` (citywide, or per cell, ``shrink`` pseudo-counts)."""

    def __init__(
        self,
        events: Events,
        grid: GridSpec,
        year_start: int,
        year_end: int,
        shrink: float | None = None,
        local_weeks: int = 0,
        local_weight: float = 0.5,
    ):
        self.grid = grid
        self.events = events
        self.year = (int(year_start), int(year_end))
        self.total = _cell_totals(events, grid, *self.year)
        self.hours = (year_end - year_start) / HOUR
        self.local_weeks = local_weeks
        self.local_weight = local_weight
        before = events.reported_before(year_start)
        start = year_start - 3 * 365 * DAY
        if shrink is None:
            prof = how_profile(before, grid, start, year_start)  # (168, 2)
            self.shape = np.broadcast_to(prof[:, None], (168, grid.n_cells, N_CH))
        else:
            ss = SeasonalSmooth()
            ss.grid = grid
            self.shape = np.transpose(ss._shape(before, year_start, shrink), (1, 0, 2))

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        week = _cell_totals(self.events, self.grid, origin_s, origin_s + hours * HOUR)
        level = (self.total - week) / (self.hours - hours)
        if self.local_weeks:
            # The weeks either side of the scored one: the level of the moment.
            span = self.local_weeks * 7 * DAY
            end = origin_s + hours * HOUR
            near = _cell_totals(self.events, self.grid, origin_s - span, origin_s)
            near += _cell_totals(self.events, self.grid, end, end + span)
            local = near / (2 * span / HOUR)
            level = self.local_weight * local + (1 - self.local_weight) * level
        how = local_hour_of_week(origin_s + HOUR * np.arange(hours, dtype=np.int64))
        return (level[None] * self.shape[how]).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ml.ceiling", description=__doc__)
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--events-cache", type=Path, default=None)
    ap.add_argument("--city-limits", type=Path, default=DEFAULT_LIMITS)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cfg = BacktestConfig(cell_sizes=(150,), n_boot=args.n_boot)
    events, _ = load_events(args.csv, args.events_cache)
    grid = GridSpec.from_geojson(args.city_limits, 150.0)
    origins = weekly_origins(cfg.first_origin, cfg.n_origins)
    y0, y1 = int(origins[0]), int(origins[-1]) + 7 * DAY
    fitted = {
        "oracle_year_citywide": YearOracle(events, grid, y0, y1),
        "oracle_year_smooth": YearOracle(events, grid, y0, y1, shrink=1024.0),
        # Level of the 4 weeks either side of the scored week, alone and half-half
        # with the year's.
        "oracle_8weeks": YearOracle(
            events, grid, y0, y1, shrink=1024.0, local_weeks=4, local_weight=1.0
        ),
        "oracle_8weeks_year": YearOracle(
            events, grid, y0, y1, shrink=1024.0, local_weeks=4, local_weight=0.5
        ),
    }
    raw = run_backtest(events, grid, list(fitted), cfg, fitted=fitted)
    raw.pop("_examples")
    args.out.mkdir(parents=True, exist_ok=True)
    save_windows(raw, args.out / "windows.npz")
    out = {
        "command": "python -m ml.ceiling "
        + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
        "leaky": "reads the scored year's events (all but the scored week)",
        "config": asdict(cfg),
        "kinds": list(fitted),
        **summarise(raw, cfg),
        "calibration": raw["calibration"],
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }
    (args.out / "metrics.json").write_text(json.dumps(jsonable(out), indent=1))
    for w in cfg.windows:
        for kind in fitted:
            m = out["summary"]["150m"][w][kind]["pai_1"]
            print(f"{w} {kind}: PAI@1% {m['mean']:.2f} [{m['lo']:.2f}, {m['hi']:.2f}]")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
