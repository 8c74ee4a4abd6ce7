"""History page and API benchmark (issue 3).

Starts gunicorn on 127.0.0.1 over the database in DATABASE_URL (default: cp_full, the
full 2012-2021 import) and the Redis db in REDIS_URL, then prints, per endpoint:

- p50 / p95 request time, cold (the cached answers deleted before every request, the
  data unchanged: the answer is computed) and warm, for a citywide year and for the
  whole 10 years with a filter;
- the page's data calls (the page and every JSON it fetches on first load), their
  bytes and time;
- warm grid throughput against a static file of the same bytes served by the same
  gunicorn (WhiteNoise), in the same run; goal ratio >= 0.5.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cp_full \\
    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python benchmarks/bench_history.py

Times are measured by the client on the same machine (loopback), so they include
HTTP and gunicorn overhead: an upper bound on server time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.common import percentile, timed_get  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cp_full")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
os.environ.setdefault(
    "SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnopqrstuvw"
)
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("MAP_TILES_URL", "")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The throttle still runs on every request (its Redis round trips are part of the
# cost); the rate is only raised so the benchmark itself is not refused.
os.environ.setdefault("API_ANON_RATE", "100000000/minute")

YEAR = "start=2021-01-01&end=2021-12-31"
DECADE = "start=2012-01-01&end=2021-12-31&category=person"
ENDPOINTS = [
    ("grid 600 m", "/api/v1/history/grid/?{q}&cell_size=600"),
    ("grid 150 m", "/api/v1/history/grid/?{q}&cell_size=150"),
    ("timeseries month", "/api/v1/history/timeseries/?{q}&interval=month"),
    ("profile", "/api/v1/history/profile/?{q}"),
    ("groups", "/api/v1/history/groups/?{q}"),
    ("areas beat", "/api/v1/areas/?{q}&kind=beat&geometry=false"),
    ("incidents p1", "/api/v1/incidents/?{q}&page_size=50"),
    ("meta", "/api/v1/meta/"),
]
# What the history page fetches on first load (see static/js/pages/history.js).
PAGE_CALLS = [
    "/history/?{q}",
    "/boundaries/city.geojson",
    "/api/v1/history/grid/?{q}&cell_size=600",
    "/api/v1/history/timeseries/?{q}&interval=month",
    "/api/v1/history/groups/?{q}",
    "/api/v1/history/profile/?{q}",
    "/api/v1/areas/?{q}&kind=beat&geometry=false",
]


def request(port: int, path: str) -> tuple[float, int, bytes]:
    elapsed, body = timed_get(port, path, {"Accept-Encoding": "identity"})
    return elapsed, 200, body


def pct(values: list[float], p: float) -> float:
    """Percentile in milliseconds (the tables print ms)."""
    return percentile(values, p) * 1000


def flush_cache() -> None:
    """Delete every cached answer and keep what only a change of the data resets: the
    cache's version counters and the facts computed once per version (the history
    state). "Cold" is then an answer never computed for this data, as after a new
    query, not the first request after an import (clearing the whole cache also
    dropped the version counter, so every cold request recomputed the ~400 ms state).
    The key names match this code and the code before the one-cache change."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    doomed = [
        key
        for key in client.scan_iter(match=f"{prefix}:*", count=1000)
        if b"version" not in key and b"state" not in key
    ]
    for i in range(0, len(doomed), 500):
        client.delete(*doomed[i : i + 500])


def measure(port: int, path: str, cold_runs: int, warm_runs: int) -> dict:
    cold = []
    for _ in range(cold_runs):
        flush_cache()
        cold.append(request(port, path)[0])
    request(port, path)
    warm = [request(port, path)[0] for _ in range(warm_runs)]
    size = len(request(port, path)[2])
    return {"cold": cold, "warm": warm, "bytes": size}


def throughput(port: int, path: str, threads: int, per_thread: int) -> float:
    def work():
        for _ in range(per_thread):
            request(port, path)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return threads * per_thread / (time.perf_counter() - t0)


def start_server(port: int, static_root: Path, workers: int) -> subprocess.Popen:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "benchmarks.bench_settings"
    env["BENCH_STATIC_ROOT"] = str(static_root)
    proc = subprocess.Popen(
        [
            str(REPO / ".venv" / "bin" / "gunicorn"),
            "crimepredict_site.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            request(port, "/api/v1/meta/")
            return proc
        except (OSError, RuntimeError):
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cold", type=int, default=12, help="cold runs per endpoint")
    parser.add_argument("--warm", type=int, default=40, help="warm runs per endpoint")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=250, help="per thread")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from crimes.models import Incident

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_indexes WHERE indexname = 'incident_history_cover'"
        )
        if cursor.fetchone() is None:
            sys.exit("migrate first: the history covering index is missing")
    rows = Incident.objects.count()
    print(f"database {connection.settings_dict['NAME']}: {rows:,} incidents")

    static_root = Path(tempfile.mkdtemp(prefix="bench-history-"))
    server = start_server(args.port, static_root, args.workers)
    try:
        # Every gunicorn worker computes the per-import facts (vocabulary, freshness)
        # once; "cold" below means the cache of answers is empty, not that.
        flush_cache()
        for _ in range(4 * args.workers):
            request(args.port, "/api/v1/meta/")
        results = {}
        for label, q in (("citywide year 2021", YEAR), ("2012-2021, person", DECADE)):
            print(f"\n== {label} ({q})")
            print(
                f"{'endpoint':18} {'bytes':>9} {'cold p50':>9} {'cold p95':>9}"
                f" {'warm p50':>9} {'warm p95':>9}   (ms)"
            )
            for name, template in ENDPOINTS:
                path = template.format(q=q)
                r = measure(args.port, path, args.cold, args.warm)
                results[(label, name)] = r
                print(
                    f"{name:18} {r['bytes']:>9,} {pct(r['cold'], 50):>9.1f}"
                    f" {pct(r['cold'], 95):>9.1f} {pct(r['warm'], 50):>9.1f}"
                    f" {pct(r['warm'], 95):>9.1f}"
                )

        print("\n== the page's first load, citywide year (default view)")
        for label, cache_state in (("cold", True), ("warm", False)):
            totals, total_bytes = [], 0
            for _ in range(args.cold if cache_state else args.warm // 4):
                if cache_state:
                    flush_cache()
                t, total_bytes = 0.0, 0
                for template in PAGE_CALLS:
                    elapsed, _status, body = request(args.port, template.format(q=YEAR))
                    t += elapsed
                    total_bytes += len(body)
                totals.append(t)
            print(
                f"{label}: {len(PAGE_CALLS)} requests, {total_bytes:,} bytes,"
                f" sum of request times p50 {pct(totals, 50):.1f} ms"
                f" p95 {pct(totals, 95):.1f} ms"
            )
        data_bytes = sum(
            len(request(args.port, t.format(q=YEAR))[2]) for t in PAGE_CALLS[1:]
        )
        print(
            f"page data (JSON fetched by the page): {data_bytes:,} bytes"
            " (goal < 500 KB)"
        )

        print("\n== warm grid throughput vs a static file of the same bytes")
        grid_path = ENDPOINTS[0][1].format(q=YEAR)
        body = request(args.port, grid_path)[2]
        server.terminate()
        server.wait(timeout=20)
        (static_root / "grid-copy.json").write_bytes(body)
        server = start_server(args.port, static_root, args.workers)
        request(args.port, grid_path)
        request(args.port, "/grid-copy.json")
        # The machine is shared: interleave short rounds of both and compare the
        # medians, so a burst of other load hits both sides alike.
        paths = (("grid endpoint", grid_path), ("static file", "/grid-copy.json"))
        for _name, path in paths:
            throughput(args.port, path, args.threads, 20)  # warm-up
        rounds: dict[str, list[float]] = {name: [] for name, _ in paths}
        for _ in range(5):
            for name, path in paths:
                rate = throughput(args.port, path, args.threads, args.requests // 5)
                rounds[name].append(rate)
        rates = {}
        for name, _path in paths:
            rates[name] = sorted(rounds[name])[2]
            each = ", ".join(f"{r:.0f}" for r in rounds[name])
            print(
                f"{name:14} {len(body):,} bytes: median {rates[name]:.0f} requests/s"
                f" (rounds: {each})"
            )
        ratio = rates["grid endpoint"] / rates["static file"]
        print(f"ratio {ratio:.2f} (goal >= 0.5)")
        cold95 = pct(results[("citywide year 2021", "grid 600 m")]["cold"], 95)
        print(f"cold citywide-year grid p95 {cold95:.1f} ms (goal < 300 ms)")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(static_root, ignore_errors=True)


if __name__ == "__main__":
    main()
