"""Probes of issue 16's crowd findings (items 2-4: cost-aware limits, routing
concurrency, memory of forecast variants and tiles) against a live deployment in the
deployed layout (gunicorn 2 x 12 threads, API_ANON_RATE 600/minute).

The deployment's database is a demo one (the 2021 extract, a model, a forecast week
from 2022-01-01); routed commutes are new pairs each time (nothing cached).
"""

from __future__ import annotations

import concurrent.futures as futures
import math
import random
import statistics
import threading
import time

import redis
import requests

from benchmarks.probes.deployment import Deployment
from benchmarks.probes.findings import RATE, Result, _flush

ROUTED_TOKENS = 40  # commutes/api/views.py, measured (docs/benchmarks.md)
TILE_RATE = 1200  # settings: TILE_RATE per minute
# Capitol Hill to the U District by bike, 5-6 km along the streets.
A, B = (-122.3208, 47.6154), (-122.3130, 47.6610)


def _near(point, rng: random.Random) -> list[float]:
    r = 200 * rng.random() ** 0.5
    a = rng.uniform(0, 2 * math.pi)
    return [
        round(point[0] + r * math.cos(a) / (111_320 * 0.6743), 6),
        round(point[1] + r * math.sin(a) / 111_320, 6),
    ]


def _commute(dep: Deployment, rng: random.Random) -> int:
    body = {"start": _near(A, rng), "end": _near(B, rng), "mode": "bike"}
    try:
        return requests.post(
            dep.base + "/api/v1/commutes/score/", json=body, timeout=60
        ).status_code
    except requests.RequestException:
        return -1


def costs(dep: Deployment) -> list[Result]:
    """A routed commute cost the same as a cached read: one client could route 600
    times a minute. Now it costs ROUTED_TOKENS of the rate."""
    _flush(dep)
    rng = random.Random(1)
    codes = [_commute(dep, rng) for _ in range(RATE // ROUTED_TOKENS + 5)]
    routed = sum(1 for c in codes if c == 200)
    meta = requests.get(dep.base + "/api/v1/meta/", timeout=30).status_code
    most = RATE // ROUTED_TOKENS
    return [
        Result(
            f"costs: {len(codes)} new routed commutes in a row (rate {RATE}/minute)",
            f"{routed} routed, {codes.count(429)} refused (429); then a cached"
            f" read: {meta}",
            routed <= most and codes.count(429) >= len(codes) - most - 1,
        )
    ]


def home_while_routing(dep: Deployment, seconds: float = 20) -> list[Result]:
    """One client routing flat out (8 threads, new pairs) took the home page from
    20 ms to a second (sync workers). Here the client is also inside the rate."""
    _flush(dep)
    alone = []
    for _ in range(20):
        t0 = time.perf_counter()
        dep.get("/")
        alone.append(time.perf_counter() - t0)
    stop = threading.Event()
    statuses: list[int] = []

    def router(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            statuses.append(_commute(dep, rng))

    with futures.ThreadPoolExecutor(8) as pool:
        for k in range(8):
            pool.submit(router, 100 + k)
        time.sleep(2)
        during = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            ok = dep.get("/").status_code == 200
            during.append(time.perf_counter() - t0 if ok else math.inf)
            time.sleep(0.2)
        stop.set()
    p95 = sorted(during)[int(0.95 * (len(during) - 1))]
    return [
        Result(
            "home page while one client routes flat out (8 threads)",
            f"home alone p50 {statistics.median(alone) * 1000:.0f} ms; during:"
            f" p50 {statistics.median(during) * 1000:.0f} ms, p95 {p95 * 1000:.0f}"
            f" ms ({len(during)} loads); the router: {statuses.count(200)} routed,"
            f" {statuses.count(429)} refused (429), {statuses.count(503)} busy (503)",
            p95 < 0.5,
        )
    ]


def tiles(dep: Deployment) -> list[Result]:
    """Tiles were not rate-limited and were kept 24 h in Redis at any address."""
    _flush(dep)
    paths = [
        f"/tiles/streets/14/{2623 + k % 8}/{5720 + k // 8 % 8}.pbf"
        for k in range(TILE_RATE + 100)
    ]
    with futures.ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(
                lambda p: requests.get(dep.base + p, timeout=30).status_code, paths
            )
        )
    far = [f"/tiles/streets/{z}/{x}/{y}.pbf" for z, x, y in ((16, 1, 1), (18, 9, 9))]
    _flush(dep)
    client = redis.Redis.from_url(dep.redis.url(0))
    far_codes = [dep.get(p).status_code for p in far]
    # After the flush the first request writes the streets version (core.cache) and
    # the tile throttle's counter; anything else would be a tile kept.
    kept = [
        k.decode()
        for k in client.scan_iter("*")
        if b":version:" not in k and b":throttle:" not in k
    ]
    return [
        Result(
            f"tiles: {len(paths)} tile requests from one address in a burst",
            f"{codes.count(200)} answered, {codes.count(429)} refused (429)",
            codes.count(200) <= TILE_RATE and codes.count(429) >= 100,
        ),
        Result(
            "tiles far from Seattle",
            f"{far_codes}; Redis keys besides versions and throttle counters: {kept}",
            far_codes == [200, 200] and not kept,
        ),
    ]


def variants(dep: Deployment) -> list[Result]:
    """Each new forecast variant cost 5-9 s and ~13 MB of Redis."""
    _flush(dep)
    # The stored week's first hour (Seattle time, without its offset).
    first = dep.get("/api/v1/forecasts/?hours=1&encoding=q8").json()["start"]
    day = first[:10]
    week = f"/api/v1/forecasts/?start={first[:16]}&hours=168"
    for category in ("all", "person", "property"):
        for extra in ("", "&encoding=q8", "&format=geojson"):
            for _ in range(4):  # both processes hold and render the week
                dep.get(
                    f"{week}&category={category}{extra}",
                    headers={"Accept-Encoding": "gzip"},
                    timeout=120,
                )
    rng = random.Random(16)
    times = []
    for _ in range(30):
        offset = rng.randrange(0, 100)
        hours = rng.randrange(1, 169 - offset)
        kind = rng.choice(("", "&encoding=q8", "&format=geojson"))
        category = rng.choice(("all", "person", "property"))
        path = (
            f"/api/v1/forecasts/?start={day}T{offset % 24:02d}:00"
            f"&hours={hours}&category={category}{kind}"
        )
        t0 = time.perf_counter()
        response = dep.get(path, headers={"Accept-Encoding": "gzip"})
        times.append(time.perf_counter() - t0 if response.ok else math.inf)
    client = redis.Redis.from_url(dep.redis.url(0))
    largest = max((client.memory_usage(k) or 0) for k in client.scan_iter("*"))
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    return [
        Result(
            "forecast: 30 new variants after the week is in memory",
            f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms;"
            f" largest Redis entry {largest / 1e3:.0f} KB",
            p95 < 1.0 and largest < 4 * 1024 * 1024,
        )
    ]
