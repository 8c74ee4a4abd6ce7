"""Helpers shared by the benchmark scripts (timing one HTTP GET, percentiles, the
routing benchmarks' trip)."""

from __future__ import annotations

import http.client
import random
import time


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank on the sorted values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def timed_get(port: int, path: str, headers: dict | None = None) -> tuple[float, bytes]:
    """GET http://127.0.0.1:port/path; (seconds, body). Anything but 200 raises."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t0 = time.perf_counter()
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - t0
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status} {body[:200]!r}")
    return elapsed, body


def new_commute(rng: random.Random, mode: str) -> dict:
    """The routing benchmarks' trip as a request body: ~10 km, Capitol Hill to
    Northgate, both ends jittered by a few hundred metres, so that no answer (cached
    per snapped points) is found cached."""
    return {
        "start": [
            -122.32 + rng.uniform(-3e-3, 3e-3),
            47.62 + rng.uniform(-2e-3, 2e-3),
        ],
        "end": [
            -122.325 + rng.uniform(-3e-3, 3e-3),
            47.705 + rng.uniform(-2e-3, 2e-3),
        ],
        "mode": mode,
    }
