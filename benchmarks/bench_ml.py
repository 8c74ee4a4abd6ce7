"""Neural forecaster benchmark (issue 4): training time on all of 2012-2021, the
168-hour forecast for every 150 m cell, and peak memory.

    .venv/bin/python benchmarks/bench_ml.py [--device auto|cpu|cuda] [--threads N]
        [--events-cache /tmp/events.npz] [--max-minutes 12] [--skip-train CKPT]
        [--config '{"excitation": true}']

Prints figures and ratios: against the goals (training <= 15 min, forecast <= 10 s,
peak < 6 GB) and against a reference measured in the same run (the seasonal_smooth
baseline's forecast, the product's strongest baseline). The machine's load average is
printed too: on a shared CPU, wall time depends on what else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ml import forecasters  # noqa: E402
from ml.events import Events, load_spd_csv  # noqa: E402
from ml.grid import GridSpec  # noqa: E402
from ml.timeutil import local_naive_seconds, local_naive_to_utc  # noqa: E402

CSV = REPO.parent / "shared/data/spd/spd_crime_2012_2021.csv.gz"
LIMITS = REPO.parent / "shared/data/boundaries/city_limits.geojson"
TRAIN_GOAL_S = 15 * 60
FORECAST_GOAL_S = 10.0
MEMORY_GOAL_MB = 6 * 1024


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def local_midnight(y: int, m: int, d: int) -> int:
    return int(local_naive_to_utc(local_naive_seconds(y, m, d, 0, 0, 0)))


def load_events(cache: str | None) -> Events:
    if cache and Path(cache).exists():
        return Events.load_npz(cache)
    events, _ = load_spd_csv(CSV)
    if cache:
        events.save_npz(cache)
    return events


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="0 = all cores")
    ap.add_argument("--events-cache", default=None)
    ap.add_argument("--max-minutes", type=float, default=12.0)
    ap.add_argument("--skip-train", default=None, help="checkpoint to load instead")
    ap.add_argument("--save", default=None, help="write the trained checkpoint here")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--config",
        default="{}",
        help="extra NeuralConfig fields as JSON, e.g. '{\"excitation\": true}'",
    )
    args = ap.parse_args()

    load0 = os.getloadavg()
    t = time.perf_counter()
    events = load_events(args.events_cache)
    grid = GridSpec.from_geojson(LIMITS, 150.0)
    print(
        f"data: {len(events):,} located events, {grid.n_cells:,} cells at 150 m "
        f"({time.perf_counter() - t:.1f}s to load)"
    )
    print(
        f"cpu cores: {os.cpu_count()}, load average at start: "
        f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}"
    )
    until = local_midnight(2022, 1, 1)  # all of 2012-2021

    if args.skip_train:
        model = forecasters.load(args.skip_train)
        train_s, cpu_s = float("nan"), float("nan")
    else:
        model = forecasters.get(
            "neural",
            device=args.device,
            threads=args.threads,
            max_minutes=args.max_minutes,
            **json.loads(args.config),
        )
        c0, t0 = time.process_time(), time.perf_counter()
        model.fit(events, grid, until)
        train_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
        if args.save:
            model.save(args.save)
    m = model.metrics
    print(f"device: {m.get('device')}, torch threads: {m.get('torch_threads')}")
    print(
        f"training: {train_s:.1f} s wall, {cpu_s:.1f} s CPU, "
        f"{m.get('epochs')} epochs (stop: {m.get('stop_reason')}), "
        f"{m.get('n_train_origins')} origins; val NLL "
        f"{m.get('val_nll_untrained', float('nan')):.4f} -> "
        f"{m.get('val_nll', float('nan')):.4f}"
    )
    print(f"  ratio to the 15-min goal: {train_s / TRAIN_GOAL_S:.2f}")

    origin = local_midnight(2021, 12, 20)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = model.predict(events, origin, 168)
        times.append(time.perf_counter() - t0)
    fc = float(np.median(times))
    ref = forecasters.get("seasonal_smooth").fit(events, grid, origin)
    ref_times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ref.predict(events, origin, 168)
        ref_times.append(time.perf_counter() - t0)
    rf = float(np.median(ref_times))
    print(
        f"forecast 168 h x {out.shape[1]:,} cells x 2: {fc:.2f} s (median of "
        f"{args.repeats}, features from all {len(events):,} events included)"
    )
    print(
        f"  ratio to the 10-s goal: {fc / FORECAST_GOAL_S:.3f}; "
        f"ratio to seasonal_smooth ({rf:.2f} s, same run): {fc / rf:.2f}"
    )
    pk = peak_mb()
    print(
        f"peak memory (max RSS): {pk:,.0f} MB; ratio to the 6 GB goal: "
        f"{pk / MEMORY_GOAL_MB:.2f}"
    )
    load1 = os.getloadavg()
    print(f"load average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    print(
        json.dumps(
            {
                "train_wall_s": round(train_s, 1),
                "train_cpu_s": round(cpu_s, 1),
                "forecast_s": round(fc, 3),
                "reference_forecast_s": round(rf, 3),
                "peak_mb": round(pk),
                "device": m.get("device"),
                "load_start": load0[0],
                "load_end": load1[0],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
