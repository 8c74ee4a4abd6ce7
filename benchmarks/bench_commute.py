"""Benchmark: a commute along the streets (routes, alternatives, 168 departure
hours) and the typeahead.

    DATABASE_URL=postgis://crimepredict:crimepredict@127.0.0.1:5432/crimepredict_full \\
        .venv/bin/python benchmarks/bench_commute.py [--runs 60] [--queries 300]

Needs incidents loaded, the grid and the street network (migrations) and a forecast
week stored for the active model (precompute_forecasts). Targets: a 10 km bike commute
with its alternatives and all 168 departure hours, p95 under 300 ms end to end
(issue 11); typeahead p95 under 50 ms (issue 6). Prints each figure with its ratio to
the target and, measured in the same run as references, the same points scored as a
drawn straight line (no routing: the scorer of issue 6) and a breakdown (routing,
history query).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import percentile

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
os.environ.setdefault(
    "SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
)
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("API_ANON_RATE", "1000000/minute")

import django

django.setup()

from django.contrib.gis.geos import LineString  # noqa: E402
from django.test import Client  # noqa: E402

from commutes.services import commute, street_routes  # noqa: E402
from commutes.services.commute import commute_answer  # noqa: E402
from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M  # noqa: E402
from commutes.services.routes import parse_route, parse_window  # noqa: E402
from commutes.services.stretch_history import _recent_history  # noqa: E402
from crimes.models import Incident  # noqa: E402
from places.models import Place  # noqa: E402
from places.services.index import ensure_fresh  # noqa: E402
from places.services.search import search_places  # noqa: E402
from streets.services.street_graph import street_graph  # noqa: E402

SCORE_TARGET_MS = 300.0
TYPEAHEAD_TARGET_MS = 50.0
# Pioneer Square to Green Lake by bike: 10.1 km along the streets.
ROUTE = {
    "start": [-122.3331, 47.6015],
    "end": [-122.3405, 47.6800],
    "mode": "bike",
    "window": {"start": "07:00", "end": "10:00", "days": "weekdays"},
}
# The reference: issue 6's benchmark route, a 10.18 km polyline drawn over land
# between the same two places (a straight line would cross Lake Union), scored as
# drawn (no routing).
DRAWN = {
    "route": {
        "type": "LineString",
        "coordinates": [
            [-122.3331, 47.6015],
            [-122.3208, 47.6080],
            [-122.3208, 47.6400],
            [-122.3180, 47.6510],
            [-122.3130, 47.6620],
            [-122.3290, 47.6690],
            [-122.3405, 47.6800],
        ],
    },
    "mode": "bike",
    "window": ROUTE["window"],
}


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def route_summary(routes: list[dict]) -> str:
    return "; ".join(
        f"{r['kind']} {r['length_m'] / 1000:.2f} km {r['duration_min']:.0f} min"
        + (f" ({r['comparison']})" if r["comparison"] else "")
        for r in routes
    )


def line(name: str, ms: list[float], target: float | None = None) -> dict:
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    ratio = f"  p95/target {p95 / target:.2f}" if target else ""
    print(f"{name:<44} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {max(ms):7.1f}{ratio}")
    return {
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(max(ms), 1),
    }


class Computed:
    """Stands in for commute._ANSWERS: every answer computed, nothing kept."""

    def get(self, key, make):
        return make()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    incidents = Incident.objects.count()
    print(
        f"database {os.environ.get('DATABASE_URL', '(default)')}: {incidents} incidents"
    )
    route = parse_route(ROUTE)
    window = parse_window(ROUTE["window"])
    t = time.perf_counter()
    first = commute_answer(route, window)  # builds the graph, warms the caches
    cold_ms = (time.perf_counter() - t) * 1000
    routes = first["routes"]
    print(
        f"bike {route_summary(routes)}; {len(first['timeline'])} departure hours, "
        f"forecast from {first['forecast']['start']}; first call (builds the "
        f"in-process graph) {cold_ms:.0f} ms"
    )
    results: dict = {
        "incidents": incidents,
        "routes": [
            {
                "kind": r["kind"],
                "km": round(r["length_m"] / 1000, 2),
                "min": r["duration_min"],
                "vs_shortest": r["vs_shortest"],
            }
            for r in routes
        ],
        "first_call_ms": round(cold_ms),
    }
    # The figures below are of commutes computed: routed answers are cached per
    # snapped points (issue 16), so the answer cache is stepped around here, and
    # the cached answer is its own line.
    cached_answers = commute._ANSWERS
    commute._ANSWERS = Computed()
    results["score_service"] = line(
        "commute_answer (service, routes + 168 h)",
        timed(lambda: commute_answer(route, window), args.runs),
        SCORE_TARGET_MS,
    )
    client = Client(HTTP_HOST="localhost")

    def api_call(body: str):
        r = client.post(
            "/api/v1/commutes/score/", body, content_type="application/json"
        )
        assert r.status_code == 200, r.content[:300]

    body = json.dumps(ROUTE)
    results["score_api"] = line(
        "POST /api/v1/commutes/score/ (end to end)",
        timed(lambda: api_call(body), args.runs),
        SCORE_TARGET_MS,
    )
    commute._ANSWERS = cached_answers
    api_call(body)
    results["score_api_cached"] = line(
        "POST /api/v1/commutes/score/ (the answer cached)",
        timed(lambda: api_call(body), args.runs),
        SCORE_TARGET_MS,
    )
    commute._ANSWERS = Computed()
    drawn = json.dumps(DRAWN)
    results["score_api_drawn"] = line(
        "  reference: a drawn 10.18 km line (no routing)",
        timed(lambda: api_call(drawn), args.runs),
    )
    graph = street_graph()
    snaps = [graph.snap(*ROUTE[k], "bike") for k in ("start", "end")]
    results["route_shortest"] = line(
        "  of which: shortest route (scipy)",
        timed(lambda: street_routes.route_through(graph, "bike", snaps), args.runs),
    )
    stretch = first["segments"]["features"][first["riskiest_segment"]["index"]]
    coords = stretch["geometry"]["coordinates"]
    segment = LineString(coords, srid=4326).transform(32610, clone=True)
    results["history_query"] = line(
        "  of which: riskiest stretch history (each)",
        # The query itself: recent_history keeps its answers per stretch.
        timed(lambda: _recent_history(segment, CORRIDOR_HALF_WIDTH_M), args.runs),
    )

    ensure_fresh()
    rng = random.Random(args.seed)
    names = list(Place.objects.values_list("name", flat=True)[:20000])
    queries = []
    for _ in range(args.queries):
        words = rng.choice(names).replace(" BLOCK OF", "").split()
        k = rng.randint(1, len(words))
        text = " ".join(words[:k]).lower()
        queries.append(text[: rng.randint(2, len(text))] if len(text) > 2 else text)
    queries += ["e pine", "westlake / lenora", "3rd ave pike", "westlke ave"]
    it = iter(queries * 2)
    print(f"{len(names)} places")
    results["typeahead_service"] = line(
        "search_places (service)",
        timed(lambda: search_places(next(it), 8), len(queries)),
        TYPEAHEAD_TARGET_MS,
    )
    it2 = iter(queries * 2)
    results["typeahead_api"] = line(
        "GET /api/v1/places/?q= (end to end)",
        timed(
            lambda: client.get("/api/v1/places/", {"q": next(it2), "limit": 8}),
            len(queries),
        ),
        TYPEAHEAD_TARGET_MS,
    )
    ok = (
        results["score_api"]["p95_ms"] < SCORE_TARGET_MS
        and results["typeahead_api"]["p95_ms"] < TYPEAHEAD_TARGET_MS
    )
    print("RESULT " + json.dumps(results))
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
