"""Benchmark: the trip reference (issue 19). What building it costs the worker after a
forecast run, what placing a route costs a request, and how fresh random trips spread
over the percentiles (the figure in docs/routing.md).

    DATABASE_URL=postgis://crimepredict:crimepredict@127.0.0.1:5432/cp_h19ref \\
        .venv/bin/python benchmarks/bench_trip_reference.py [--trips 600]

Needs the street network (migrations) and a finished forecast run of the active
version (make demo). The reference of the newest run is built here (in-process, as
the worker does it) and compared, in the same run, with the time one forecast week
takes to read from PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghijklmnop")


def main() -> None:
    import django

    django.setup()
    import numpy as np

    from commutes.services import trip_reference
    from commutes.services.trip_sample import sample_trips
    from core.cache import uncached
    from predictions.services import forecast_store
    from streets.services.street_graph import street_graph

    parser = argparse.ArgumentParser()
    parser.add_argument("--trips", type=int, default=600, help="fresh trips per mode")
    args = parser.parse_args()

    version = forecast_store.active_version()
    run = forecast_store.newest_run(version.pk)
    graph = street_graph()
    with uncached():
        t0 = time.perf_counter()
        week = forecast_store.load_forecast(
            "all", start=run.start, hours=176, model_version_id=version.pk
        )
        read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    trip_reference.build(run.pk)  # routes the samples (cold), then stores
    cold_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    trip_reference.build(run.pk)  # the samples kept with the graph (warm)
    warm_s = time.perf_counter() - t0
    print(f"forecast run {run.pk} of version {version.pk} ({version.kind})")
    print(f"read one forecast week (reference):  {read_s:6.2f} s")
    print(
        f"build, routing the samples (cold):  {cold_s:6.2f} s  {cold_s / read_s:5.1f}x"
    )
    print(
        f"build, samples already routed:      {warm_s:6.2f} s  {warm_s / read_s:5.1f}x"
    )

    rng = np.random.default_rng(5)
    print(
        f"\nfresh random trips ({args.trips} per mode, seed 2026), each at a random "
        "hour, placed among the stored reference:"
    )
    print("| mode | placed | median | p10 | p25 | p75 | p90 | similar trips, median |")
    print("|---|---|---|---|---|---|---|---|")
    for mode in ("walk", "bike", "drive"):
        ref = trip_reference.reference_for(week, mode)
        fresh = sample_trips(graph, mode, n=args.trips, seed=2026)
        cells = trip_reference.trip_cells(
            fresh, trip_reference.edge_cell_matrix(graph, week.cell_ids)
        )
        expected = trip_reference.exposures(cells, fresh.seconds, week.values, 168)
        hours = rng.integers(0, 168, fresh.n)
        t0 = time.perf_counter()
        placed = [
            trip_reference.similar_trips(
                ref,
                fresh.lengths_m[i],
                ref.start + timedelta(hours=int(hours[i])),
                expected[i, hours[i]],
            )
            for i in range(fresh.n)
        ]
        per_route_us = (time.perf_counter() - t0) / fresh.n * 1e6
        pct = np.array([p["percentile"] for p in placed if p["percentile"] is not None])
        q = np.percentile(pct, [50, 10, 25, 75, 90])
        n_med = int(np.median([p["n"] for p in placed]))
        print(
            f"| {mode} | {pct.size}/{fresh.n} | {q[0]:.0f} | {q[1]:.0f} | {q[2]:.0f} "
            f"| {q[3]:.0f} | {q[4]:.0f} | {n_med} |  ({per_route_us:.0f} µs a route)"
        )


if __name__ == "__main__":
    main()
