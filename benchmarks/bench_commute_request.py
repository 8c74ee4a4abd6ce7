"""A new routed commute through the whole request, this checkout against another.

    DATABASE_URL=postgis://... REDIS_URL=redis://127.0.0.1:6379/N \\
        .venv/bin/python benchmarks/bench_commute_request.py --reference CHECKOUT \\
        [--rounds 4] [--commutes 15] [--mode bike]

Each round runs one process per checkout, in turn (reference, then this one), and
each process POSTs ``--commutes`` new commutes (~10 km, Capitol Hill to Northgate,
both ends jittered from the round's seed, so both checkouts route the same trips)
through Django's handler in process: every middleware, the throttle, the view, the
JSON and its gzip, as gunicorn would run them, without the network. Each checkout
gets a Redis database of its own (N and N + 1, emptied first), so neither finds the
other's answers cached. Per request: wall and CPU time (medians), Redis commands and
SQL queries; then this checkout's figures as a ratio of the reference's (medians of
the rounds). The first request of each process (loading the graph) is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from benchmarks.common import new_commute  # noqa: E402


def _worker(args) -> None:
    sys.path.insert(0, str(Path(args.code).resolve()))
    os.chdir(args.code)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from commutes.services.warm_up import warm_up

    settings.ALLOWED_HOSTS = ["*"]
    warm_up()
    sent = [0]
    real = redis.client.Redis.execute_command

    def counted(self, *a, **kw):
        sent[0] += 1
        return real(self, *a, **kw)

    redis.client.Redis.execute_command = counted
    rng = random.Random(args.seed)

    def body() -> str:
        return json.dumps(new_commute(rng, args.mode))

    client = Client(HTTP_ACCEPT_ENCODING="gzip")
    url = "/api/v1/commutes/score/"
    client.post(url, body(), content_type="application/json")  # loads what is lazy
    rows = []
    for _ in range(args.commutes):
        data = body()
        sent[0] = 0
        with CaptureQueriesContext(connection) as queries:
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.post(url, data, content_type="application/json")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if response.status_code != 200:
            continue  # a pair in the water: the same for both checkouts
        rows.append((wall * 1e3, cpu * 1e3, sent[0], len(queries)))
    print(json.dumps(rows))


def _run(code: str, redis_db_url: str, args, seed: int) -> list[tuple]:
    env = {
        **os.environ,
        "REDIS_URL": redis_db_url,
        "API_ANON_RATE": "100000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            "--code",
            code,
            "--seed",
            str(seed),
            "--commutes",
            str(args.commutes),
            "--mode",
            args.mode,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", help="the other checkout (a directory)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--commutes", type=int, default=15)
    parser.add_argument("--mode", default="bike", choices=["walk", "bike", "drive"])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", default=str(HERE), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    if not args.reference:
        parser.error("--reference CHECKOUT is required")
    import redis

    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    head, db = base.rsplit("/", 1)
    urls = {"reference": base, "this": f"{head}/{int(db) + 1}"}
    for url in urls.values():
        redis.Redis.from_url(url).flushdb()
    codes = {"reference": args.reference, "this": str(HERE)}
    medians: dict[str, list[tuple]] = {"reference": [], "this": []}
    print(
        f"{args.rounds} rounds x {args.commutes} new {args.mode} commutes per checkout"
        f" (load average {os.getloadavg()[0]:.1f})"
    )
    for round_ in range(args.rounds):
        seed = random.randrange(1 << 30)
        for name in ("reference", "this"):
            rows = _run(codes[name], urls[name], args, seed)
            cols = list(zip(*rows, strict=True))
            medians[name].append(tuple(statistics.median(c) for c in cols))
            wall, cpu, sent, queries = medians[name][-1]
            print(
                f"  round {round_ + 1} {name:9}: wall {wall:6.1f} ms,"
                f" CPU {cpu:6.1f} ms,"
                f" {sent:.0f} Redis commands, {queries:.0f} SQL queries (n={len(rows)})"
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    labels = ("wall ms", "CPU ms", "Redis commands", "SQL queries")
    print("| per request (median of rounds) | reference | this | this / reference |")
    print("|---|---|---|---|")
    for i, label in enumerate(labels):
        ref = statistics.median(m[i] for m in medians["reference"])
        new = statistics.median(m[i] for m in medians["this"])
        ratio = f"{new / ref:.2f}" if ref else "-"
        print(f"| {label} | {ref:.1f} | {new:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
