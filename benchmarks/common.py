"""Helpers shared by the benchmark scripts (timing one HTTP GET, percentiles)."""

from __future__ import annotations

import http.client
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
