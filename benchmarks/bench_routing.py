"""Benchmark: the routing engine. pgRouting in PostgreSQL against scipy.sparse.csgraph
in the web process, on the same routes with the same per-hour exposure costs.

    DATABASE_URL=postgis://crimepredict:crimepredict@127.0.0.1:5432/crimepredict_full \\
        .venv/bin/python benchmarks/bench_routing.py [--routes 40] [--seed 3]

Needs the street network (migrations), a stored forecast week and the pgrouting
extension in the database (scripts/setup.sh and scripts/bench.sh create it).

Each route is a bike trip between two vertices of the network 5-12 km apart. Costs
are what an alternative needs: seconds x (1 + lambda x edge exposure), the exposure
being the forecast near each edge for one departure hour (a different hour per route,
so nothing is reused between routes). For each route and engine it times:

* static: the cheapest path by time alone (the shortest route);
* hourly: the cheapest path by the exposure-weighted cost, including getting that
  hour's costs to the engine: numpy arrays for scipy; for pgRouting a COPY of the
  edges' costs into a temporary table that the edges query joins (the forecast is
  stored as one float32 array per hour, which SQL cannot index per cell);
* hourly, bbox: pgRouting reading only the edges in the trip's bounding box + 2 km
  (a common way to speed it up; it can miss detours outside the box).

Both engines must agree on every optimal cost (checked). Prints p50/p95 per engine
and the ratio pgRouting / scipy, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import percentile  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghijklmnop")
os.environ.setdefault("HTTPS", "0")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.db import connection  # noqa: E402

from commutes.services import alternatives, scoring  # noqa: E402
from predictions.services.forecast_store import load_forecast  # noqa: E402
from streets.services.street_graph import Snap, street_graph  # noqa: E402

LAMBDA = 1.0
BBOX_MARGIN_DEG = 0.02  # ~2 km at Seattle's latitude

_EDGES = (
    "SELECT e.id, e.source, e.target,"
    " coalesce(e.bike_s * {factor}, -1) AS cost,"
    " coalesce(e.bike_back_s * {factor}, -1) AS reverse_cost"
    " FROM commutes_streetedge e {join} WHERE e.connected {where}"
)


def pgr_cost(cur, edges_sql: str, source: int, target: int) -> float:
    cur.execute(
        "SELECT coalesce(max(agg_cost), 'Infinity'::float8) FROM pgr_dijkstra("
        "%s, %s::bigint, %s::bigint, directed => true)",
        [edges_sql, source, target],
    )
    return float(cur.fetchone()[0])


def vertex_snap(graph, vertex: int, leaving: bool) -> Snap | None:
    """A snap exactly on a vertex, on an edge whose zero-cost stub reaches it.

    The router joins a snapped point to its edge's ends by the part of the edge in
    each allowed direction: a start at fraction 1 of an edge ending at ``vertex``
    reaches it for free when the edge may be ridden forwards (leaving=True); an
    end at fraction 0 of an edge starting there is reached for free likewise.
    """
    bike = graph.modes["bike"]
    if leaving:
        into = np.flatnonzero((graph.target == vertex) & np.isfinite(bike.fwd_seconds))
        fraction = 1.0
    else:
        into = np.flatnonzero((graph.source == vertex) & np.isfinite(bike.fwd_seconds))
        fraction = 0.0
    if not into.size:
        return None
    edge = int(into[0])
    lon, lat = graph.coords[edge][-1 if fraction else 0]
    return Snap(edge, fraction, 0.0, float(lon), float(lat))


def pick_routes(graph, n: int, rng) -> list[tuple[Snap, Snap, int, int]]:
    """Vertex pairs 5-12 km apart in the connected network, reachable by bike."""
    connected = np.flatnonzero(
        np.isin(np.arange(graph.edge_ids.size), graph.modes["bike"].tree_edges)
    )
    pool = np.unique(graph.source[connected])
    pool = rng.choice(pool, size=min(4000, pool.size), replace=False)
    xy = np.array(
        [
            graph.lines_utm[int(np.flatnonzero(graph.source == v)[0])].coords[0]
            for v in pool
        ]
    )
    pairs = []
    while len(pairs) < n:
        i, j = rng.integers(0, pool.size, size=2)
        if not 5000 <= np.hypot(*(xy[i] - xy[j])) <= 12000:
            continue
        a = vertex_snap(graph, int(pool[i]), leaving=True)
        b = vertex_snap(graph, int(pool[j]), leaving=False)
        if a is None or b is None:
            continue
        try:
            graph.shortest_path("bike", a, b)
        except LookupError:
            continue  # a one-way pocket: not a route either engine can make
        pairs.append((a, b, int(pool[i]), int(pool[j])))
    return pairs


def line(name: str, ms: list[float], ref: list[float] | None = None) -> dict:
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    ratio = f"  p95 / scipy {p95 / percentile(ref, 95):6.1f}x" if ref else ""
    print(f"{name:<46} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms{ratio}")
    return {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=40)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    with connection.cursor() as cur:
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'pgrouting'")
        row = cur.fetchone()
    if not row:
        print("the pgrouting extension is missing: CREATE EXTENSION pgrouting")
        return 1
    t = time.perf_counter()
    graph = street_graph()
    build_s = time.perf_counter() - t
    week = load_forecast("all", hours=176)
    city_mean = scoring.city_mean_per_hour(week.values)
    matrix = alternatives.edge_mean_matrix(graph, week.cell_ids)
    pairs = pick_routes(graph, args.routes, rng)
    osm = graph.vertex_osm
    print(
        f"pgRouting {row[0]}; network {graph.edge_ids.size} edges, "
        f"{graph.n_vertices} vertices (in-process graph built in {build_s:.2f} s); "
        f"{len(pairs)} bike routes 5-12 km"
    )

    times: dict[str, list[float]] = {
        k: []
        for k in (
            "scipy static",
            "scipy hourly",
            "pgr static",
            "pgr hourly",
            "pgr hourly bbox",
        )
    }
    mismatches = 0
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE bench_edge_factor (id bigint PRIMARY KEY, f float8)"
        )
        for k, (a, b, u, v) in enumerate(pairs):
            hour = k % 168

            t = time.perf_counter()
            _, s_static = graph.shortest_path("bike", a, b)
            times["scipy static"].append((time.perf_counter() - t) * 1000)

            t = time.perf_counter()
            exposure = (
                np.asarray(matrix @ week.values[hour].astype(np.float64))
                / city_mean[hour]
            )
            factor = 1.0 + LAMBDA * exposure
            _, s_hourly = graph.shortest_path("bike", a, b, factor)
            times["scipy hourly"].append((time.perf_counter() - t) * 1000)

            static_sql = _EDGES.format(factor="1", join="", where="")
            t = time.perf_counter()
            p_static = pgr_cost(cur, static_sql, int(osm[u]), int(osm[v]))
            times["pgr static"].append((time.perf_counter() - t) * 1000)

            hourly_sql = _EDGES.format(
                factor="x.f", join="JOIN bench_edge_factor x ON x.id = e.id", where=""
            )
            t = time.perf_counter()
            exposure = (
                np.asarray(matrix @ week.values[hour].astype(np.float64))
                / city_mean[hour]
            )
            factor = 1.0 + LAMBDA * exposure
            cur.execute("TRUNCATE bench_edge_factor")
            with cur.copy("COPY bench_edge_factor (id, f) FROM STDIN") as copy:
                for row_id, f in zip(
                    graph.edge_ids.tolist(), factor.tolist(), strict=True
                ):
                    copy.write_row((row_id, f))
            p_hourly = pgr_cost(cur, hourly_sql, int(osm[u]), int(osm[v]))
            times["pgr hourly"].append((time.perf_counter() - t) * 1000)

            m = BBOX_MARGIN_DEG
            box = (
                min(a.lon, b.lon) - m,
                min(a.lat, b.lat) - m,
                max(a.lon, b.lon) + m,
                max(a.lat, b.lat) + m,
            )
            bbox_sql = _EDGES.format(
                factor="x.f",
                join="JOIN bench_edge_factor x ON x.id = e.id",
                where="AND e.geom && ST_MakeEnvelope({}, {}, {}, {}, 4326)".format(
                    *box
                ),
            )
            t = time.perf_counter()
            pgr_cost(cur, bbox_sql, int(osm[u]), int(osm[v]))
            times["pgr hourly bbox"].append((time.perf_counter() - t) * 1000)

            for mine, theirs in ((s_static, p_static), (s_hourly, p_hourly)):
                if not np.isclose(mine, theirs, rtol=1e-6, atol=1e-3):
                    mismatches += 1
                    print(f"  cost differs on {u}->{v}: scipy {mine} pgr {theirs}")
    results = {
        "routes": len(pairs),
        "cost_mismatches": mismatches,
        "graph_build_s": round(build_s, 2),
    }
    for name, ref in (
        ("scipy static", None),
        ("scipy hourly", None),
        ("pgr static", "scipy static"),
        ("pgr hourly", "scipy hourly"),
        ("pgr hourly bbox", "scipy hourly"),
    ):
        results[name] = line(name, times[name], times[ref] if ref else None)
    print("RESULT " + json.dumps(results))
    print("both engines agree on every cost" if not mismatches else "ENGINES DISAGREE")
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
