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
   one dry-run ImportRun row): must stay under 1 s;
5. the routed commute at --clients (16) for --seconds, 10 km bike commutes with
   their alternatives and all 168 departures (issue 16: aim 50/s, p95 under 500 ms):
   a) new pairs: every request a start and an end not asked before (random within
   250 m of Capitol Hill and of Northgate), so nothing is cached;
   b) the same four commutes again and again (what a cache of answers serves);
6. the home page while one client routes flat out (8 threads of 15 km drive
   commutes, new pairs, as issue 16's probe), against the home page alone (p50 and
   p95): once with the throttle raised as above (only the server's layout protects
   the page), once at the production rate (API_ANON_RATE, 600/minute), where the
   router's requests cost what they are measured to cost (core.throttling.spend);
7. forecast variants: the week's first requests (every process reads and renders
   it), then 60 random new variants (start, hours, category, encoding, format),
   each asked once, gzip accepted; the same again; and the cache's Redis bytes.

    BENCH_DATABASE_URL=postgis://.../crimepredict_full REDIS_URL=redis://.../5 \\
        .venv/bin/python benchmarks/bench_load.py [--seconds 60] [--file PATH]
        [--phases cost,mix,exports,import,routing,home,variants] [--threads N]
        [--workers N] [--code CHECKOUT]

``--threads 0`` runs gunicorn's sync workers (the layout before issue 16); the
default is the deployed layout, crimepredict_site/gunicorn.conf.py.

The anonymous throttle is raised for the run: every client here is 127.0.0.1, one
address, and the point is the site's capacity, not the throttle's. The clients run
on the same 2 cores as the server (the numbers are a floor).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.common import percentile  # noqa: E402
from tests import localstack  # noqa: E402

YEAR = "start=2021-01-01&end=2021-12-31"
ROUTES = [
    {"start": [-122.3331, 47.6015], "end": [-122.3035, 47.6553], "mode": "bike"},
    {"start": [-122.3493, 47.6205], "end": [-122.3125, 47.6145], "mode": "walk"},
    {"start": [-122.3870, 47.6680], "end": [-122.3210, 47.6610], "mode": "drive"},
    {"start": [-122.2960, 47.5480], "end": [-122.3340, 47.6050], "mode": "drive"},
]
GRID_QUERIES = [
    f"/api/v1/history/grid/?{YEAR}&cell_size=600",
    f"/api/v1/history/grid/?{YEAR}&cell_size=150",
    "/api/v1/history/grid/?start=2012-01-01&end=2021-12-31&category=person"
    "&cell_size=300",
]
PHASES = ("cost", "mix", "exports", "import", "routing", "home", "variants")
# Issue 16's routed commute: 10 km by bike with 3 routes (the shortest and two
# alternatives), all 168 departures: Capitol Hill to Northgate, 10.0 km.
BIKE_10KM = ((-122.3210, 47.6230), (-122.3250, 47.7060))
# Issue 16's probe: 15 km drive commutes, Beacon Hill to Ballard.
DRIVE_15KM = ((-122.3110, 47.5680), (-122.3840, 47.6680))
JITTER_M = 250.0
CATEGORIES = ("all", "person", "property")
ROUTE_PATH = "/api/v1/commutes/score/"


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


def near(point: tuple[float, float], rng: random.Random) -> list[float]:
    """A point within JITTER_M of ``point`` (uniform over the disc)."""
    r = JITTER_M * rng.random() ** 0.5
    a = rng.uniform(0, 6.283185307179586)
    lon, lat = point
    dlat = r * math.sin(a) / 111_320
    dlon = r * math.cos(a) / (111_320 * 0.6743)  # cos(47.6 deg)
    return [round(lon + dlon, 6), round(lat + dlat, 6)]


def commutes(pair, mode: str, seed: int):
    """Endless new commutes (bodies) between the neighbourhoods of ``pair``."""
    rng = random.Random(seed)
    while True:
        body = {"start": near(pair[0], rng), "end": near(pair[1], rng), "mode": mode}
        yield json.dumps(body).encode()


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


def routed(port: int, clients: int, seconds: float, bodies) -> dict:
    """``clients`` threads POST commutes from ``bodies`` (a shared iterator) until
    time: the outcomes, and how many routes the answers held."""
    lock = threading.Lock()
    outcomes: list[tuple[float, int]] = []
    routes: list[int] = []
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                body = next(bodies)
            outcome, answer = call_json(port, "/api/v1/commutes/score/", body)
            with lock:
                outcomes.append(outcome)
                if answer is not None:
                    routes.append(len(answer.get("routes", [])))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"outcomes": outcomes, "routes": routes}


def call_json(port: int, path: str, body: bytes) -> tuple[tuple[float, int], dict]:
    """POST ``body``: ((seconds, status), the JSON answer of a 200 or None)."""
    t0 = time.perf_counter()
    answer = None
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request(
            "POST", path, body=body, headers={"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        raw = response.read()
        status = response.status
        conn.close()
        if status == 200:
            answer = json.loads(raw)
    except OSError:
        status = 0
    return (time.perf_counter() - t0, status), answer


def summary(outcomes: list[tuple[float, int]], seconds: float) -> str:
    times = [t for t, s in outcomes if s == 200]
    codes: dict[int, int] = defaultdict(int)
    for _, s in outcomes:
        codes[s] += 1
    return (
        f"{len(times) / seconds:.1f}/s answered (200), p50 {p(times, 50):.0f} ms,"
        f" p95 {p(times, 95):.0f} ms; statuses {dict(sorted(codes.items()))}"
    )


def cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) of gunicorn's worker processes so far."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text()
    for pid in children.split():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def phase_cost(port: int, master_pid: int) -> None:
    """What a request costs the web processes, one client, kinds interleaved."""
    print("\n0. cost per request: one client, web workers' CPU and wall time")
    kinds = {
        "cached read (forecast q8)": (
            "GET",
            "/api/v1/forecasts/?start=2021-12-01T00:00&hours=168&encoding=q8",
            None,
        ),
        "cached read (history grid)": ("GET", GRID_QUERIES[0], None),
    }
    bike = commutes(BIKE_10KM, "bike", time.time_ns())  # not cached by a run before
    drawn = {
        "route": {"type": "LineString", "coordinates": [list(p) for p in BIKE_10KM]},
        "mode": "bike",
    }
    for method, path, body in kinds.values():
        call(port, method, path, body)  # now cached
    # Batches of 10 of one kind, kinds interleaved: /proc counts CPU in ticks of
    # 10 ms, a cached read takes a few.
    cpu: dict[str, float] = defaultdict(float)
    wall: dict[str, list[float]] = defaultdict(list)
    for i in range(11):
        jobs = [(k, *v) for k, v in kinds.items()]
        jobs.append(("routed commute (10 km bike)", "POST", ROUTE_PATH, None))
        jobs.append(("drawn commute (as a line)", "POST", ROUTE_PATH, None))
        for label, method, path, body in jobs:
            before = cpu_seconds(master_pid)
            times = []
            for _ in range(10):
                if label.startswith("routed"):
                    body = next(bike)
                elif label.startswith("drawn"):
                    drawn["route"]["coordinates"][0][0] += 1e-5  # a new line
                    body = json.dumps(drawn).encode()
                times.append(call(port, method, path, body)[0])
            if i:  # the first round warms
                cpu[label] += (cpu_seconds(master_pid) - before) / 100
                wall[label] += times
    base_cpu = cpu["cached read (forecast q8)"]
    base_wall = statistics.median(wall["cached read (forecast q8)"])
    for label in cpu:
        mean_cpu = cpu[label]
        p50 = statistics.median(wall[label])
        print(
            f"   {label:28} CPU {mean_cpu * 1000:6.1f} ms ({mean_cpu / base_cpu:5.1f}x)"
            f"  wall p50 {p50 * 1000:6.1f} ms ({p50 / base_wall:5.1f}x)"
        )


def get_timed(port: int, path: str) -> tuple[float, int, int]:
    """GET with Accept-Encoding gzip: (seconds, status, bytes on the wire)."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return time.perf_counter() - t0, response.status, len(body)


def redis_bytes(redis_url: str, prefix: str) -> tuple[int, int, int]:
    """(keys, bytes, largest) under the cache's key ``prefix`` (MEMORY USAGE)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    sizes = [client.memory_usage(k) or 0 for k in client.scan_iter(f"{prefix}:*")]
    return len(sizes), sum(sizes), max(sizes, default=0)


def phase_variants(port: int, start: str, redis_url: str, prefix: str) -> bool:
    """Issue 16: new variants of the forecast answer (hours, start, category,
    encoding, format), each asked once, after every web process has the week."""
    print("\n7. forecast variants, each new (gzip asked, as browsers do)")
    week = f"/api/v1/forecasts/?start={start}&hours=168"
    first = []
    for category in ("all", "person", "property"):
        for extra in ("", "&encoding=q8", "&format=geojson"):
            for _ in range(4):  # both processes render every hour of the week
                first.append(get_timed(port, f"{week}&category={category}{extra}")[0])
    print(
        f"   the week's first requests (each process reads and renders it once):"
        f" max {max(first) * 1000:.0f} ms, p50 {p(first, 50):.0f} ms"
    )
    keys0, bytes0, _ = redis_bytes(redis_url, prefix)
    rng = random.Random(16)
    variants = []
    base = datetime.fromisoformat(start)
    for _ in range(60):
        offset = rng.randrange(0, 120)
        hours = rng.randrange(1, 169 - offset)
        at = (base + timedelta(hours=offset)).isoformat(timespec="minutes")
        query = f"start={at}&hours={hours}&category={rng.choice(CATEGORIES)}"
        kind = rng.choice(("", "&encoding=q8", "&format=geojson"))
        variants.append(f"/api/v1/forecasts/?{query}{kind}")
    cold = [get_timed(port, v) for v in variants]
    again = [get_timed(port, v) for v in variants]
    keys1, bytes1, largest = redis_bytes(redis_url, prefix)
    ok = all(s == 200 for _, s, _ in cold + again)
    times = [t for t, _, _ in cold]
    warm = [t for t, _, _ in again]
    wire = [n for _, _, n in cold]
    print(
        f"   60 new variants: p50 {p(times, 50):.0f} ms, p95 {p(times, 95):.0f} ms,"
        f" max {max(times) * 1000:.0f} ms ({min(wire) / 1e3:.0f} KB"
        f" to {max(wire) / 1e6:.1f} MB sent); statuses"
        f" {sorted({s for _, s, _ in cold})}"
    )
    kinds = {"q8": "encoding=q8", "geojson": "format=geojson", "float": None}
    for label, marker in kinds.items():
        picked = [
            t
            for v, (t, _, _) in zip(variants, cold, strict=True)
            if (
                marker in v if marker else "encoding=q8" not in v and "geojson" not in v
            )
        ]
        print(
            f"     of which {label} ({len(picked)}): p50 {p(picked, 50):.0f} ms,"
            f" p95 {p(picked, 95):.0f} ms"
        )
    print(f"   the same 60 again: p50 {p(warm, 50):.0f} ms, p95 {p(warm, 95):.0f} ms")
    print(
        f"   Redis under '{prefix}': {keys0} keys, {bytes0 / 1e6:.1f} MB before;"
        f" {keys1} keys, {bytes1 / 1e6:.1f} MB after (largest {largest / 1e3:.0f} KB)"
    )
    return ok


def phase_routing(port: int, clients: int, seconds: float) -> bool:
    print(f"\n5. the routed commute (10 km bike), {clients} clients, {seconds:.0f} s")
    bodies = commutes(BIKE_10KM, "bike", time.time_ns())
    # Every process builds its street graph first (seconds): not part of the figure.
    routed(port, 4, 5, bodies)
    new = routed(port, clients, seconds, bodies)
    mean = sum(new["routes"]) / max(1, len(new["routes"]))
    print(
        f"   a) new pairs: {summary(new['outcomes'], seconds)};"
        f" {mean:.2f} routes per answer"
    )
    same = [
        json.dumps({"start": list(a), "end": list(b), "mode": "bike"}).encode()
        for a, b in [
            BIKE_10KM,
            *[
                (
                    near(BIKE_10KM[0], random.Random(k)),
                    near(BIKE_10KM[1], random.Random(k + 9)),
                )
                for k in range(3)
            ],
        ]
    ]
    cycle = (same[i % len(same)] for i in range(10**9))
    again = routed(port, clients, seconds, cycle)
    mean = sum(again["routes"]) / max(1, len(again["routes"]))
    print(
        f"   b) the same 4 commutes: {summary(again['outcomes'], seconds)};"
        f" {mean:.2f} routes per answer"
    )
    return all(s == 200 for _, s in new["outcomes"] + again["outcomes"])


def home_while_routing(
    port: int, seconds: float, seed: int
) -> tuple[list[float], dict]:
    """Home page times (one GET every 0.2 s) while 8 threads route 15 km drives."""
    stop = threading.Event()
    result: dict = {}
    bodies = commutes(DRIVE_15KM, "drive", seed)  # new pairs: none cached before
    lock = threading.Lock()
    outcomes: list[tuple[float, int]] = []

    def router() -> None:
        while not stop.is_set():
            with lock:
                body = next(bodies)
            outcome, _ = call_json(port, "/api/v1/commutes/score/", body)
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=router) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(2)  # the router is at full speed
    t0 = time.monotonic()
    times = []
    while time.monotonic() < t0 + seconds:
        elapsed, status = call(port, "GET", "/", None)
        if status == 200:
            times.append(elapsed)
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    result["router"] = summary(outcomes, time.monotonic() - t0)
    return times, result


def phase_home(port: int, seconds: float, label: str) -> None:
    alone = []
    for _ in range(50):
        alone.append(call(port, "GET", "/", None)[0])
        time.sleep(0.05)
    # A seed of its own every run: answers are cached across runs (same versions).
    times, result = home_while_routing(port, seconds, seed=time.time_ns())
    print(
        f"   {label}: home alone p50 {p(alone, 50):.0f} ms, p95 {p(alone, 95):.0f} ms;"
        f" while one client routes (8 threads): p50 {p(times, 50):.0f} ms,"
        f" p95 {p(times, 95):.0f} ms ({p(times, 95) / p(alone, 95):.1f}x),"
        f" {len(times)} loads; the router: {result['router']}"
    )


def start_web(env: dict, tmp: Path, args, name: str):
    port = localstack.free_port()
    web = localstack.gunicorn(
        env,
        port,
        tmp / f"{name}.log",
        workers=args.workers,
        threads=args.threads,
        code=Path(args.code).resolve(),
    )
    return port, web


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
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument(
        "--code", default=str(REPO), help="checkout to serve (a 'before' figure)"
    )
    parser.add_argument("--workers", type=int, default=None, help="default: deployed")
    parser.add_argument(
        "--threads", type=int, default=None, help="0: sync workers; default: deployed"
    )
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    unknown = phases - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}; of {PHASES}")
    database = os.environ.get(
        "BENCH_DATABASE_URL",
        "postgis://crimepredict:crimepredict@127.0.0.1:5432/crimepredict_full",
    )
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    site = dict(
        LOG_LEVEL="WARNING",
        UPLOAD_TEMP_DIR=str(tmp / "uploads"),
    )
    env = localstack.site_env(
        database,
        redis_url,
        API_ANON_RATE="100000000/minute",
        API_EXPORT_RATE="100000000/minute",
        **site,
    )
    port, web = start_web(env, tmp, args, "web")
    ok = True
    try:
        print(
            f"database {database.rsplit('/', 1)[-1]}, gunicorn on :{port}:"
            f" {localstack.layout(args.workers, args.threads)}"
        )
        if "cost" in phases:
            phase_cost(port, web.pid)
        if phases & {"mix", "exports", "import"}:
            ok &= mixed_phases(port, args, env, phases)
        if "routing" in phases:
            ok &= phase_routing(port, args.clients, args.seconds)
        if "variants" in phases:
            ok &= phase_variants(
                port, args.start, redis_url, env.get("CACHE_KEY_PREFIX", "cp")
            )
        if "home" in phases:
            print(f"\n6. the home page while one client routes, {args.seconds:.0f} s")
            phase_home(port, args.seconds, "throttle raised")
    finally:
        web.stop()
    if "home" in phases:
        import redis

        # The phases above counted thousands of requests for this one address.
        client = redis.Redis.from_url(redis_url)
        prefix = env.get("CACHE_KEY_PREFIX", "cp")
        for key in client.scan_iter(f"{prefix}:throttle:*"):
            client.delete(key)
        production = localstack.site_env(database, redis_url, **site)
        port, web = start_web(production, tmp, args, "web-rate")
        try:
            call(port, "GET", "/", None)
            phase_home(port, args.seconds, "production rate")
        finally:
            web.stop()
    print("\nall goals met" if ok else "\nGOALS NOT MET")
    return 0 if ok else 1


def mixed_phases(port: int, args, env: dict, phases: set[str]) -> bool:
    ok = True
    requests = mix(args.start)
    # Warm: every worker fills its process caches, Redis fills.
    for _ in range(3):
        for _label, method, path, body in requests:
            call(port, method, path, body)
    if "mix" in phases:
        ok &= phase_mix(port, args, requests)
    alone = [call(port, "GET", f"/history/?{YEAR}", None)[0] for _ in range(40)]
    reference = p(alone, 95)
    print(f"\n   /history/ alone: p95 {reference:.1f} ms (reference for 3 and 4)")
    if "exports" in phases:
        ok &= phase_exports(port, args, reference)
    if "import" in phases:
        ok &= phase_import(port, args, env, reference)
    return ok


def phase_mix(port: int, args, requests) -> bool:
    print("\n1. reference: one client")
    single = run_clients(port, requests, 1, min(20.0, args.seconds / 3))
    for label, outcomes in single.items():
        times = [t for t, _ in outcomes]
        print(f"   {label:15} p50 {p(times, 50):7.1f} ms  p95 {p(times, 95):7.1f} ms")

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
    return errors == 0


def phase_exports(port: int, args, reference: float) -> bool:
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
    return under < 1000 and all(s == 200 for _, s in samples)


def phase_import(port: int, args, env: dict, reference: float) -> bool:
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
        return during < 1000 and all(s == 200 for _, s in samples)
    print(f"\n4. skipped: {args.file} not found (--file)")
    return True


if __name__ == "__main__":
    sys.exit(main())
