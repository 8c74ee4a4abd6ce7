"""Benchmark: the place search (typeahead) and the reverse lookup on the full index.

    DATABASE_URL=postgis://.../cp_full .venv/bin/python benchmarks/bench_places.py \\
        [--queries 400] [--seed 1] [--held-out-year 2021]

Needs the 2012-2021 incidents imported and the migrations run (the street network,
the areas, data/places). Goal (issue 17): warm p95 under 30 ms for 3-20 character
queries on the full index. Queries are drawn from the index itself, of every kind:
prefixes of 3-20 characters of place names, intersections typed "a & b" in either
order, house numbers, and one-letter typos. Each is run once to warm, then timed.

``search`` is timed uncached (every query computed in SQL again); the API's path
(``cached_search``: answers kept by normalised query under the index's state,
with the ``ensure_fresh`` check each request makes) and the API end to end are
timed warm, after each query was asked once.

References measured in the same run, on the same table and the same queries:
- ``old cut``: the typeahead before issue 17 (every word LIKE, the 300 places with
  the most incidents cut first, then ranked by word similarity), verbatim;
- ``floor``: one indexed row fetched through the same connection (the round trip).

``--held-out-year``: builds SPD's blocks from the incidents reported before that
year, types every block first seen in that year as an address at its middle, and
reports the share whose top answer is within 250 m of where SPD put it (rolled back
afterwards).
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

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from places.models import Place  # noqa: E402
from places.services.held_out import score  # noqa: E402
from places.services.index import build_spd, ensure_fresh  # noqa: E402
from places.services.reverse import reverse  # noqa: E402
from places.services.search import cached_search, search  # noqa: E402

GOAL_P95_MS = 30.0
FLOOR_ID = 0

# The search before issue 17 (commutes/services/places.py at 0d048fd), verbatim but
# for the table's name: the reference.
_OLD_RANKED = """
SELECT name, kind, ST_X(location), ST_Y(location), incidents,
    word_similarity(%(q)s, search_text) AS score, source
FROM (
    SELECT name, kind, location, incidents, search_text, source FROM places_place
    WHERE {where}
    ORDER BY incidents DESC
    LIMIT %(candidates)s
) c
ORDER BY score DESC, incidents DESC, name
LIMIT %(limit)s
"""


def old_search(q: str) -> list:
    from places.services.names import as_hundred_block, normalise

    q = as_hundred_block(normalise(q))
    tokens = [t for t in q.replace("/", " ").split() if len(t) >= 3] or [q]
    params: dict[str, object] = {"q": q, "limit": 16, "candidates": 300}
    likes = []
    for i, token in enumerate(tokens):
        params[f"t{i}"] = f"%{token}%"
        likes.append(f"search_text LIKE %(t{i})s")
    with connection.cursor() as cur:
        cur.execute(_OLD_RANKED.format(where=" AND ".join(likes)), params)
        return cur.fetchall()


def floor(_q: str) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT name FROM places_place WHERE id = %s", [FLOOR_ID])
        cur.fetchall()


def _typo(rng: random.Random, text: str) -> str:
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def queries(rng: random.Random, n: int) -> list[str]:
    """3-20 character queries of every kind, drawn from the index."""
    by_kind = {
        kind: list(
            Place.objects.filter(kind=kind).values_list("name", flat=True)[:20000]
        )
        for kind in Place.Kind.values
        if kind != "address"
    }
    out: list[str] = []
    kinds = [k for k, names in by_kind.items() if names]
    while len(out) < n:
        kind = rng.choice(kinds)
        name = rng.choice(by_kind[kind]).replace(" BLOCK OF", "").lower()
        roll = rng.random()
        if kind == "intersection" and roll < 0.5 and " / " in name:
            a, b = name.split(" / ")[:2]
            text = f"{b} & {a}" if rng.random() < 0.5 else f"{a} and {b}"
        elif kind == "block" and roll < 0.5 and name[:1].isdigit():
            hundred, _, street = name.partition("xx ")
            text = f"{hundred}{rng.randint(0, 99):02d} {street}"
        elif roll < 0.15 and len(name) > 5:
            text = _typo(rng, name)
        else:
            text = name[: rng.randint(3, 20)]
        text = text[:20].strip()
        if len(text) >= 3:
            out.append(text)
    return out


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def line(name: str, ms: list[float], reference: list[float] | None = None) -> dict:
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    extra = f"  p95/goal {p95 / GOAL_P95_MS:.2f}"
    if reference:
        extra += f"  p95/reference {p95 / percentile(reference, 95):.2f}"
    print(f"{name:<40} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {max(ms):7.1f}{extra}")
    return {
        "p50_ms": round(p50, 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(max(ms), 1),
    }


def held_out(year: int) -> dict:
    """Blocks first seen in ``year``, scored against an index built before it."""
    from datetime import datetime

    from core.local_time import SEATTLE

    start = datetime(year, 1, 1, tzinfo=SEATTLE)
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                "SELECT block_address, ST_X(ST_Transform(ST_SetSRID("
                "ST_MakePoint(avg(x_utm), avg(y_utm)), 32610), 4326)),"
                " ST_Y(ST_Transform(ST_SetSRID(ST_MakePoint(avg(x_utm), avg(y_utm)),"
                " 32610), 4326))"
                " FROM crimes_incident WHERE x_utm IS NOT NULL AND block_address"
                " LIKE '%%XX BLOCK OF %%' GROUP BY block_address"
                " HAVING min(reported_at) >= %s AND min(reported_at) < %s",
                [start, start.replace(year=year + 1)],
            )
            new_blocks = cur.fetchall()
            build_spd(cur, reported_before=start)
        result = score(new_blocks)
        transaction.set_rollback(True)
    print(
        f"held-out {year}: {result.blocks} blocks first reported in {year}; top "
        f"answer within 250 m for {result.hits} ({result.hit_rate:.1%}), "
        f"{result.no_answer} unanswered"
    )
    return {
        "year": year,
        "blocks": result.blocks,
        "hits": result.hits,
        "hit_rate": round(result.hit_rate, 4),
        "unanswered": result.no_answer,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--held-out-year", type=int, default=None)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    global FLOOR_ID
    state = ensure_fresh()
    print(f"{Place.objects.count()} places")
    FLOOR_ID = Place.objects.order_by("id").values_list("id", flat=True).first()
    rng = random.Random(args.seed)
    qs = queries(rng, args.queries)
    results: dict[str, object] = {}
    for q in qs:  # warm: each query once
        search(q, 8)
        old_search(q)
        cached_search(q, 8, None, state)
    ref = timed(floor, qs)
    results["floor"] = line("floor (one indexed row)", ref)
    old = timed(old_search, qs)
    results["old_cut"] = line("old cut (300 by incidents, then rank)", old)
    new = timed(lambda q: search(q, 8), qs)
    results["search"] = line("search (service, no cache)", new, old)
    slowest = sorted(zip(new, qs, strict=True), reverse=True)[:8]
    print("  slowest: " + "; ".join(f"{q!r} {ms:.0f} ms" for ms, q in slowest))
    kept = timed(lambda q: cached_search(q, 8, None, ensure_fresh()), qs)
    results["cached"] = line("cached_search (the API's path, warm)", kept, old)
    client = Client(HTTP_HOST="localhost")
    for q in qs[:20]:
        client.get("/api/v1/places/", {"q": q})
    api = timed(lambda q: client.get("/api/v1/places/", {"q": q, "limit": 8}), qs)
    results["api"] = line("GET /api/v1/places/?q= (end to end)", api, old)
    points = [
        (rng.uniform(-122.40, -122.26), rng.uniform(47.52, 47.72)) for _ in qs[:200]
    ]
    for p in points[:20]:
        reverse(*p)
    rev = timed(lambda p: reverse(*p), points)
    results["reverse"] = line("reverse (service)", rev)
    if args.held_out_year:
        results["held_out"] = held_out(args.held_out_year)
    print("RESULT " + json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
