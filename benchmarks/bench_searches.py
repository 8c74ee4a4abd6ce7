"""Time a new commute's street searches and its avoided-street check, in CPU time.

    DATABASE_URL=postgis://... REDIS_URL=redis://127.0.0.1:6379/N \\
        .venv/bin/python benchmarks/bench_searches.py [--commutes 40] [--mode bike]

Run from the checkout to measure (it imports the code of the current directory, so
the same file measures another checkout: ``cd ../main && python
../wt/x/benchmarks/bench_searches.py``). Warms the process up as a web worker does,
then scores ``--commutes`` ~10 km commutes (Capitol Hill to Northgate, both ends
jittered from a fixed seed, so every run routes the same new commutes) with
``score_commute``, and reports per commute the CPU time (this thread's, so other
processes on the machine count less than in wall time) of every
``StreetGraph.shortest_path`` call (the shortest route and the alternatives' three
lambdas), of ``commute._avoided``, and of the whole score: medians and p90.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

from benchmarks.common import new_commute  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commutes", type=int, default=40)
    parser.add_argument("--mode", default="bike", choices=["walk", "bike", "drive"])
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
    import django

    django.setup()
    from commutes.services import commute
    from commutes.services.routes import parse_route
    from commutes.services.warm_up import warm_up
    from streets.services.street_graph import StreetGraph

    warm_up()
    spent = {"searches": 0.0, "avoided": 0.0, "calls": 0}

    def timed(function, name):
        def wrapper(*a, **kw):
            started = time.thread_time()
            try:
                return function(*a, **kw)
            finally:
                spent[name] += time.thread_time() - started
                spent["calls"] += name == "searches"

        return wrapper

    StreetGraph.shortest_path = timed(StreetGraph.shortest_path, "searches")
    commute._avoided = timed(commute._avoided, "avoided")
    rng = random.Random(args.seed)

    def route():
        return parse_route(new_commute(rng, args.mode))

    commute.score_commute(route())  # the process's first: anything still lazy
    rows = []
    for _ in range(args.commutes):
        for key in spent:
            spent[key] = 0
        started = time.thread_time()
        commute.score_commute(route())
        whole = time.thread_time() - started
        rows.append((spent["searches"], spent["calls"], spent["avoided"], whole))

    def ms(values) -> str:
        values = sorted(v * 1e3 for v in values)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        return f"{statistics.median(values):.2f} (p90 {p90:.2f})"

    searches, calls, avoided, whole = zip(*rows, strict=True)
    per_search = [s / c for s, c in zip(searches, calls, strict=True) if c]
    print(
        f"{Path.cwd().name}: {args.commutes} new {args.mode} commutes, CPU ms per"
        f" commute, median (p90): searches {ms(searches)} in"
        f" {statistics.median(calls):.0f} calls, {ms(per_search)} a search;"
        f" avoided {ms(avoided)}; whole score {ms(whole)}"
        f" (load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
