"""Run issue 10's probes against a fresh local deployment and print what they saw.

    DATABASE_URL=postgis://.../cp_hard .venv/bin/python -m benchmarks.probes.run
    .venv/bin/python -m benchmarks.probes.run throttle inputs      # some of them
    .venv/bin/python -m benchmarks.probes.run --beat costs home tiles variants

The deployment (benchmarks/probes/deployment.py) is gunicorn with 2 workers and a
Celery worker on the database in DATABASE_URL (a demo database: the bundled 2021
extract imported, a model trained and a forecast week stored) and a Redis of its own;
`postgres` copies the database into a PostgreSQL cluster of its own first. Loopback
only. Exit status 1 when any observation is not the answer the site must give.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.probes import crowd, findings  # noqa: E402
from benchmarks.probes.deployment import Deployment  # noqa: E402

PROBES = {
    "throttle": findings.throttle,
    "uploads": findings.uploads,
    "inputs": findings.inputs,
    "bodies": findings.bodies,
    "redis": findings.redis_down,
    "exports": findings.exports,
    "csv": findings.csv_injection,
    "training": findings.training_until,
    "smaller": findings.smaller,
    "runs": findings.dead_runs,
    "postgres": findings.postgres_down,
    "proxy": findings.proxy,
    # Issue 16, in the deployed layout (gunicorn 2 x 12 threads).
    "costs": crowd.costs,
    "home": crowd.home_while_routing,
    "tiles": crowd.tiles,
    "variants": crowd.variants,
}
# Probes that need their own deployment (a PostgreSQL of their own, beat).
OWN_POSTGRES = {"postgres"}
WITH_BEAT = {"runs"}
BEHIND_NGINX = {"proxy"}
DEPLOYED_LAYOUT = {"costs", "home", "tiles", "variants"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probes", nargs="*", help=", ".join(PROBES))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--dead-run-wait", type=float, default=330, help="seconds (runs probe)"
    )
    parser.add_argument(
        "--beat",
        action="store_true",
        help="run Celery beat in every deployment (production-like: web, worker, beat)",
    )
    args = parser.parse_args()
    names = args.probes or list(PROBES)
    env = {"API_ANON_RATE": f"{findings.RATE}/minute"}
    results = []
    own = OWN_POSTGRES | WITH_BEAT | BEHIND_NGINX | DEPLOYED_LAYOUT
    shared = [n for n in names if n not in own]
    groups = [(shared, {})]
    groups += [([n for n in names if n in DEPLOYED_LAYOUT], {"threads": None})]
    groups += [([n], {"beat": True}) for n in names if n in WITH_BEAT]
    groups += [([n], {"own_postgres": True}) for n in names if n in OWN_POSTGRES]
    groups += [
        ([n], {"extra_env": {**env, "BEHIND_PROXY": "1"}})
        for n in names
        if n in BEHIND_NGINX
    ]
    for group, options in groups:
        if not group:
            continue
        options.setdefault("extra_env", env)
        options["beat"] = options.get("beat", False) or args.beat
        with Deployment(port=args.port, **options) as dep:
            print(f"deployment on {dep.base} ({dep.tmp})", flush=True)
            for name in group:
                t0 = time.monotonic()
                findings.reset(dep)  # each probe starts with no throttle history
                kwargs = {"wait_s": args.dead_run_wait} if name == "runs" else {}
                try:
                    found = PROBES[name](dep, **kwargs)
                except Exception as exc:  # noqa: BLE001 - a probe's failure is a finding
                    found = [findings.Result(name, f"probe error: {exc!r}", False)]
                for result in found:
                    mark = "ok  " if result.ok else "FAIL"
                    print(f"{mark} {result.finding}: {result.observed}", flush=True)
                print(f"     ({name}: {time.monotonic() - t0:.0f}s)", flush=True)
                results += found
    bad = [r for r in results if not r.ok]
    print(f"\n{len(results) - len(bad)} of {len(results)} observations as required")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
