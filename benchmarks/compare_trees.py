"""The same GETs against several checkouts of this repository, alternated request by
request, so that every checkout meets the same load: a paired comparison for a change
whose effect is smaller than the shared machine's noise between two benchmark runs.

    DATABASE_URL=postgis://.../crimepredict_full REDIS_URL=redis://127.0.0.1:6379/6 \\
      .venv/bin/python benchmarks/compare_trees.py --trees /work/bench-before,. \\
      --paths "/api/v1/meta/,/api/v1/history/grid/?cell_size=600" [--cold] [-n 400]

Each checkout (a `git worktree add --detach DIR COMMIT` with a `.venv`) gets one
gunicorn worker over the same database and Redis db, its keys apart under its own
CACHE_KEY_PREFIX. Warm: each path is asked once, then n times per checkout, in a new
random order every round. --cold: before each request the checkout's cached answers are
deleted (its version counters and per-version facts kept, as bench_history's cold).
Prints each checkout's p50 and its ratio to the first checkout's (the reference).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import timed_get  # noqa: E402

HEADERS = {"Host": "localhost", "Accept-Encoding": "identity"}


def start(tree: Path, port: int, prefix: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="crimepredict_site.settings",
        SECRET_KEY="compare-trees-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        HTTPS="0",
        DEBUG="0",
        STATIC_MANIFEST="0",
        MAP_TILES_URL="",
        LOG_LEVEL="WARNING",
        API_ANON_RATE="100000000/minute",
        CACHE_KEY_PREFIX=prefix,
    )
    return subprocess.Popen(
        [str(tree / ".venv" / "bin" / "gunicorn"), "crimepredict_site.wsgi"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning"],
        cwd=tree,
        env=env,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            timed_get(port, "/api/v1/meta/", HEADERS)
            return
        except (OSError, RuntimeError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def flush_answers(client, prefix: str) -> None:
    doomed = [
        key
        for key in client.scan_iter(match=f"{prefix}:*", count=1000)
        if b"version" not in key and b"state" not in key
    ]
    if doomed:
        client.delete(*doomed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trees", required=True, help="comma-separated checkouts")
    parser.add_argument("--paths", required=True, help="comma-separated GET paths")
    parser.add_argument("-n", type=int, default=400, help="requests per checkout")
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    servers = {t: (8790 + i, f"cmp{i}") for i, t in enumerate(trees)}
    procs = [start(t, port, prefix) for t, (port, prefix) in servers.items()]
    load = os.getloadavg()[0]
    try:
        for port, _prefix in servers.values():
            wait_up(port)
        for path in args.paths.split(","):
            times: dict[Path, list[float]] = {t: [] for t in trees}
            if not args.cold:
                for port, _prefix in servers.values():
                    timed_get(port, path, HEADERS)
            for _ in range(args.n):
                for tree in random.sample(trees, len(trees)):
                    port, prefix = servers[tree]
                    if args.cold:
                        flush_answers(client, prefix)
                    times[tree].append(timed_get(port, path, HEADERS)[0] * 1000)
            reference = statistics.median(times[trees[0]])
            print(f"{'cold' if args.cold else 'warm'} {path}")
            for tree in trees:
                p50 = statistics.median(times[tree])
                print(f"  {str(tree):28} p50 {p50:8.3f} ms  x{p50 / reference:5.2f}")
        print(f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
