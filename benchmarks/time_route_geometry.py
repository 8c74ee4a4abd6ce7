"""CPU time of the steps that turn a found route into what is scored, per new commute,
without the profiler (which inflates per-step Python several times over).

    cd CHECKOUT && DATABASE_URL=postgis://... REDIS_URL=redis://127.0.0.1:6379/N \\
        .venv/bin/python /path/to/benchmarks/time_route_geometry.py [--commutes 40]
        [--seed 41] [--mode bike]

Times the checkout it is run from (the current directory, so one copy of this script
times a checkout before a change and one after: alternate them, same seeds). Warms
the process up as a web worker does, then computes the API's answer
(commute.commute_answer, its cache bypassed) for ``--commutes`` ~10 km commutes drawn
from ``--seed`` (Capitol Hill to Northgate, both ends jittered), with these functions
wrapped in CPU timers (time.process_time): ``commute._street_path`` (a scored route's
stretches, coordinates and cells; it includes ``street_routes.stretches``),
``corridor.area_shares``, the candidates' ``route_cells`` (alternatives) and
``street_routes.route_seconds``. Prints the whole answer's CPU and each step's, in ms
per commute.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

from benchmarks.common import new_commute  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commutes", type=int, default=40)
    parser.add_argument("--seed", type=int, default=41)
    parser.add_argument("--mode", default="bike", choices=["walk", "bike", "drive"])
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
    import django

    django.setup()
    from commutes.services import alternatives, commute, street_routes
    from commutes.services.routes import parse_route
    from commutes.services.warm_up import warm_up

    warm_up()
    spent: dict[str, float] = {}

    def timed(module, name: str, label: str):
        inner = getattr(module, name)

        def wrapper(*a, **kw):
            started = time.process_time()
            try:
                return inner(*a, **kw)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - started

        setattr(module, name, wrapper)
        return wrapper

    timed(commute, "_street_path", "_street_path")
    timed(street_routes, "stretches", "of which stretches")
    timed(commute, "area_shares", "area_shares")
    timed(alternatives, "route_cells", "candidates' route_cells")
    seconds = timed(street_routes, "route_seconds", "route_seconds")
    alternatives.route_seconds = seconds
    rng = random.Random(args.seed)
    routes = [
        parse_route(new_commute(rng, args.mode)) for _ in range(args.commutes + 1)
    ]
    commute._ANSWERS.get = lambda key, make, **kw: make()  # computed every time
    commute.commute_answer(routes[0])  # the process's first: anything still lazy
    spent.clear()
    started = time.process_time()
    for route in routes[1:]:
        commute.commute_answer(route)
    per = (time.process_time() - started) / args.commutes * 1e3
    steps = ", ".join(
        f"{label} {total / args.commutes * 1e3:.2f}" for label, total in spent.items()
    )
    print(
        f"{Path.cwd().name} seed {args.seed}: {args.commutes} new {args.mode} commutes,"
        f" answer CPU {per:.1f} ms each; ms per commute: {steps}"
        f" (load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
