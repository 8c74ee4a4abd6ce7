"""Profile: where a new (uncached) routed commute spends its time, in one process.

    DATABASE_URL=postgis://... REDIS_URL=redis://127.0.0.1:6379/N \\
        .venv/bin/python benchmarks/profile_commute.py [--commutes 24] [--mode bike]

Warms the process up as a web worker does (commutes.services.warm_up), then scores
``--commutes`` ~10 km commutes (Capitol Hill to Northgate, both ends jittered, so no
answer is cached) under cProfile, and prints the time per commute and the share of
the named steps (cumulative time, so they overlap where one calls another), then
cProfile's own top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import new_commute  # noqa: E402

STEPS = {
    "searches (StreetGraph.shortest_path)": "shortest_path",
    "corridor area shares (corridor.area_shares)": "area_shares",
    "Redis round trips": "execute_command",
    "last year's reports on the stretch (stretch_history)": "recent_history",
    "naming stretches (street_routes.stretches)": "stretches",
    "cells near steps (street_routes.route_cells)": "route_cells",
    "coordinates (street_routes.route_coords)": "route_coords",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commutes", type=int, default=24)
    parser.add_argument("--mode", default="bike", choices=["walk", "bike", "drive"])
    parser.add_argument(
        "--plain",
        action="store_true",
        help="no profiler: the API's answer (commute_answer, its cache bypassed) "
        "timed per commute, median and p95",
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
    import django

    django.setup()
    from commutes.services.commute import score_commute
    from commutes.services.routes import parse_route
    from commutes.services.warm_up import warm_up

    warm_up()
    rng = random.Random()  # new pairs every run: answers are cached in Redis

    def commute():
        return parse_route(new_commute(rng, args.mode))

    routes = [commute() for _ in range(args.commutes + 1)]
    score_commute(routes[0])  # the process's first: anything still lazy
    if args.plain:
        _time_answers(routes[1:], args.mode)
        return
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for route in routes[1:]:
        score_commute(route)
    profile.disable()
    per = (time.perf_counter() - started) / args.commutes
    stats = pstats.Stats(profile)
    total = sum(row[3] for key, row in stats.stats.items() if key[2] == "score_commute")
    print(
        f"{args.commutes} new {args.mode} commutes: {per * 1e3:.0f} ms each under"
        f" the profiler (load average {os.getloadavg()[0]:.1f})"
    )
    print("| step | ms per commute | share |")
    print("|---|---|---|")
    for label, name in STEPS.items():
        spent = sum(row[3] for key, row in stats.stats.items() if key[2] == name)
        print(f"| {label} | {spent / args.commutes * 1e3:.0f} | {spent / total:.0%} |")
    stats.sort_stats("tottime").print_stats(15)


def _time_answers(routes, mode: str) -> None:
    """Each commute's whole answer (scoring and its JSON), without the profiler."""
    from commutes.services import commute

    commute._ANSWERS.get = lambda key, make, **kw: make()  # computed every time
    times = []
    for route in routes:
        started = time.perf_counter()
        commute.commute_answer(route)
        times.append((time.perf_counter() - started) * 1e3)
    times.sort()
    print(
        f"{len(times)} new {mode} commutes, the answer computed: median"
        f" {times[len(times) // 2]:.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms"
        f" (load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
