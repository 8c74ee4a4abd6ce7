"""Load benchmark (issue 10): the site under concurrent clients, loopback only.

Starts gunicorn (2 workers, as deployed on a small host) over BENCH_DATABASE_URL
(default: the full-data database `crimepredict_full`) and a Redis db of its own
(REDIS_URL), then, bounded in time:

1. reference: one client in turn on each endpoint of the mix (p50/p95 per endpoint),
   and /history/ alone (its p95 is the reference for 3 and 4);
2. 16 concurrent clients for --seconds (60) on the mix: the forecast API (q8 and
   float), the history grid (three selections), the history page and the commute API
   (POST, four routes): requests/s, errors (anything but 2xx, or no answer: must be
   0) and p95 per endpoint, against the one-client p95;
3. /history/ p95 while 4 clients pull exports (GeoJSON and CSV of twelve selections)
   for --seconds: must stay under 1 s;
4. /history/ p95 while an import runs (`import_spd --dry-run` of a real SPD file:
   parse, stage, compare, as an import does, without writing incidents; it records
   one dry-run ImportRun row): must stay under 1 s.

    BENCH_DATABASE_URL=postgis://.../crimepredict_full REDIS_URL=redis://.../5 \\
        .venv/bin/python benchmarks/bench_load.py [--seconds 60] [--file PATH]

The anonymous throttle is raised for the run: every client here is 127.0.0.1, one
address, and the point is the site's capacity, not the throttle's. The clients run
on the same 2 cores as the server (the numbers are a floor).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.common import percentile  # noqa: E402
from tests import localstack  # noqa: E402

YEAR = "start=2021-01-01&end=2021-12-31"
ROUTES = [
    {"start": [-122.3331, 47.6015], "end": [-122.3035, 47.6553], "mode": "bike"},
    {"start": [-122.3493, 47.6205], "end": [-122.3125, 47.6145], "mode": "walk"},
    {"start": [-122.3870, 47.6680], "end": [-122.3210, 47.6610], "mode": "transit"},
    {"start": [-122.2960, 47.5480], "end": [-122.3340, 47.6050], "mode": "drive"},
]
GRID_QUERIES = [
    f"/api/v1/history/grid/?{YEAR}&cell_size=600",
    f"/api/v1/history/grid/?{YEAR}&cell_size=150",
    "/api/v1/history/grid/?start=2012-01-01&end=2021-12-31&category=person"
    "&cell_size=300",
]


def mix(start: str) -> list[tuple[str, str, str, bytes | None]]:
    """(label, method, path, body) of the concurrent mix."""
    forecast = f"/api/v1/forecasts/?start={start}&hours=168"
    out = [
        ("forecast q8", "GET", forecast + "&encoding=q8", None),
        ("forecast float", "GET", forecast, None),
    ]
    out += [("history grid", "GET", q, None) for q in GRID_QUERIES]
    out += [("history page", "GET", f"/history/?{YEAR}", None)]
    out += [
        ("commute score", "POST", "/api/v1/commutes/score/", json.dumps(r).encode())
        for r in ROUTES
    ]
    return out


def call(port: int, method: str, path: str, body: bytes | None) -> tuple[float, int]:
    """(seconds, status); status 0 when no answer came back."""
    t0 = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Accept-Encoding": "gzip"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
        conn.close()
    except OSError:
        status = 0
    return time.perf_counter() - t0, status


def run_clients(
    port: int, requests: list, clients: int, seconds: float
) -> dict[str, list[tuple[float, int]]]:
    """Each client cycles through ``requests`` (from its own offset) until time."""
    results: dict[str, list[tuple[float, int]]] = defaultdict(list)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        i = offset
        while time.monotonic() < deadline:
            label, method, path, body = requests[i % len(requests)]
            outcome = call(port, method, path, body)
            with lock:
                results[label].append(outcome)
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def p(values: list[float], q: float) -> float:
    return percentile(values, q) * 1000


def history_p95_while(port: int, seconds: float, background) -> tuple[list, object]:
    """/history/ times, one request every 0.25 s, while ``background`` runs."""
    times: list[float] = []
    statuses: list[int] = []
    stop = threading.Event()
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(out=background(stop)))
    worker.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and worker.is_alive():
        elapsed, status = call(port, "GET", f"/history/?{YEAR}", None)
        times.append(elapsed)
        statuses.append(status)
        time.sleep(0.25)
    stop.set()
    worker.join()
    return list(zip(times, statuses, strict=True)), result.get("out")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--start", default="2021-12-01T00:00", help="forecast week")
    parser.add_argument(
        "--file",
        default=str(REPO.parent / "shared/data/spd/spd_crime_2012_2021.csv.gz"),
        help="SPD file for the import phase (--dry-run)",
    )
    args = parser.parse_args()
    database = os.environ.get(
        "BENCH_DATABASE_URL",
        "postgis://crimepredict:crimepredict@127.0.0.1:5432/crimepredict_full",
    )
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = localstack.site_env(
        database,
        redis_url,
        API_ANON_RATE="100000000/minute",
        API_EXPORT_RATE="100000000/minute",
        LOG_LEVEL="WARNING",
        UPLOAD_TEMP_DIR=str(tmp / "uploads"),
    )
    port = localstack.free_port()
    web = localstack.gunicorn(env, port, tmp / "web.log", workers=2)
    ok = True
    try:
        requests = mix(args.start)
        print(f"database {database.rsplit('/', 1)[-1]}, gunicorn -w 2 on :{port}")
        # Warm: every worker fills its process caches, Redis fills.
        for _ in range(3):
            for _label, method, path, body in requests:
                call(port, method, path, body)

        print("\n1. reference: one client")
        single = run_clients(port, requests, 1, min(20.0, args.seconds / 3))
        for label, outcomes in single.items():
            times = [t for t, _ in outcomes]
            print(
                f"   {label:15} p50 {p(times, 50):7.1f} ms  p95 {p(times, 95):7.1f} ms"
            )

        print(f"\n2. {args.clients} clients for {args.seconds:.0f} s")
        loaded = run_clients(port, requests, args.clients, args.seconds)
        total = sum(len(v) for v in loaded.values())
        errors = sum(1 for v in loaded.values() for _, s in v if not 200 <= s < 300)
        print(f"   {total} requests, {total / args.seconds:.1f}/s, errors: {errors}")
        for label, outcomes in loaded.items():
            times = [t for t, _ in outcomes]
            ref = p([t for t, _ in single[label]], 95)
            print(
                f"   {label:15} n {len(times):5}  p50 {p(times, 50):7.1f} ms"
                f"  p95 {p(times, 95):7.1f} ms  ({p(times, 95) / ref:.1f}x one client)"
            )
        ok &= errors == 0

        alone = [call(port, "GET", f"/history/?{YEAR}", None)[0] for _ in range(40)]
        reference = p(alone, 95)
        print(f"\n   /history/ alone: p95 {reference:.1f} ms (reference for 3 and 4)")

        def exports(stop: threading.Event) -> list[int]:
            pulls: list[int] = []
            months = [f"start=2021-{m:02d}-01&end=2021-12-31" for m in range(1, 13)]

            def puller(k: int) -> None:
                i = k
                while not stop.is_set():
                    ext = "geojson" if i % 2 else "csv"
                    path = f"/api/v1/export/incidents.{ext}?{months[i % 12]}"
                    pulls.append(call(port, "GET", path, None)[1])
                    i += 1

            threads = [threading.Thread(target=puller, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return pulls

        samples, pulls = history_p95_while(port, args.seconds, exports)
        times = [t for t, _ in samples]
        under = p(times, 95)
        print(
            f"\n3. /history/ while 4 clients pull exports: p95 {under:.1f} ms"
            f" ({under / reference:.1f}x alone), {len(times)} loads, statuses"
            f" {sorted({s for _, s in samples})}; {len(pulls)} exports pulled,"
            f" statuses {sorted(set(pulls))}"
        )
        ok &= under < 1000 and all(s == 200 for _, s in samples)

        if Path(args.file).exists():

            def import_run(stop: threading.Event) -> float:
                t0 = time.monotonic()
                subprocess.run(
                    [
                        localstack.PYTHON,
                        "manage.py",
                        "import_spd",
                        "--dry-run",
                        args.file,
                    ],
                    cwd=REPO,
                    env=env,
                    capture_output=True,
                    check=True,
                )
                return time.monotonic() - t0

            samples, took = history_p95_while(port, 600, import_run)
            times = [t for t, _ in samples]
            during = p(times, 95)
            print(
                f"\n4. /history/ while an import runs ({Path(args.file).name},"
                f" --dry-run, {took:.0f} s): p95 {during:.1f} ms"
                f" ({during / reference:.1f}x alone), {len(times)} loads"
            )
            ok &= during < 1000 and all(s == 200 for _, s in samples)
        else:
            print(f"\n4. skipped: {args.file} not found (--file)")
    finally:
        web.stop()
    print("\nall goals met" if ok else "\nGOALS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
