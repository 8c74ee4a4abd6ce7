"""Benchmark: the commute notes of 10,000 subscriptions computed, claimed and queued
(issue 20: under 5 minutes on this machine).

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/cp_h20_bench \\
        .venv/bin/python benchmarks/bench_notes.py [--subscriptions 10000] \\
        [--distinct 1000] [--sample 40]

Needs incidents, the grid and the street network (migrations + import_spd). Stores a
forecast week from the current hour when none covers it (long-run rates x the weekly
shape, as the tests do: the scoring costs the same whatever the model). Makes
``--subscriptions`` active subscriptions over ``--distinct`` commutes (pairs of real
street points 1-6 km apart, walk/bike/drive, two windows), every one due at the same
minute (the worst case: everybody leaves at 08:00; ``--neighbours``: that many
start 40-120 m from a drawn commute's start, another rounded commute on the same
route), runs the beat planner once and
times it end to end: scoring, the emails' words, the claims (SentNote rows) and one
queued send task per note on the real broker (purged afterwards).

Reference, measured in the same run: the planner's per-subscription cost without
sharing, i.e. one ``score_day`` per subscription, timed on ``--sample`` subscriptions
of distinct commutes and multiplied out to all of them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
os.environ.setdefault(
    "SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
)
os.environ.setdefault("HTTPS", "0")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from alerts.models import SentNote, Subscription  # noqa: E402
from alerts.services import planning  # noqa: E402
from alerts.services.commute_scores import score_day  # noqa: E402
from alerts.services.rounding import round_points  # noqa: E402
from core.local_time import SEATTLE, floor_hour  # noqa: E402
from crimepredict_site.celery import app  # noqa: E402

GOAL_S = 300.0
WINDOWS = (("08:00", "09:00"), ("08:00", "10:00"))
MODES = ("walk", "bike", "drive")


def ensure_forecast() -> None:
    from predictions.services.forecast_store import NoForecast, load_forecast
    from tests.commutes.known_forecast import store_known_forecast

    try:
        week = load_forecast("all", hours=48)
        if week.hour_starts[0] <= timezone.now() < week.hour_starts[-1]:
            return
    except NoForecast:
        pass
    store_known_forecast(floor_hour(timezone.now()) - timedelta(hours=2), hours=176)


def street_points(n: int, rng: random.Random) -> list[tuple[float, float]]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(ST_StartPoint(geom)), ST_Y(ST_StartPoint(geom))"
            " FROM commutes_streetedge WHERE walk_s IS NOT NULL AND bike_s IS NOT NULL"
            " AND drive_s IS NOT NULL ORDER BY md5(id::text || %s) LIMIT %s",
            [str(rng.random()), n],
        )
        return [(float(x), float(y)) for x, y in cur.fetchall()]


def commutes(distinct: int, rng: random.Random) -> list[dict]:
    from ml.events import lonlat_to_utm

    pool = street_points(distinct * 6, rng)
    import numpy as np

    x, y = lonlat_to_utm(*np.array(pool).T)
    found = []
    while len(found) < distinct:
        a, b = rng.randrange(len(pool)), rng.randrange(len(pool))
        d = float(np.hypot(x[a] - x[b], y[a] - y[b]))
        if 1000 <= d <= 6000:
            start, end = WINDOWS[len(found) % len(WINDOWS)]
            found.append(
                {
                    "points": round_points([pool[a], pool[b]]),
                    "mode": MODES[len(found) % len(MODES)],
                    "window_start": start,
                    "window_end": end,
                }
            )
    return found


def neighbour(shape: dict, rng: random.Random) -> dict:
    """The same commute from next door: its start moved 40-120 m, rounded again."""
    import math

    lon, lat = shape["points"][0]
    metres, angle = rng.uniform(40, 120), rng.uniform(0, 2 * math.pi)
    moved = (
        lon + metres * math.cos(angle) / (111_320 * math.cos(math.radians(lat))),
        lat + metres * math.sin(angle) / 110_540,
    )
    return {**shape, "points": round_points([moved, *shape["points"][1:]])}


def make_subscriptions(
    n: int, distinct: int, rng: random.Random, neighbours: int = 0
) -> int:
    """``n`` subscriptions over ``distinct`` commutes, ``neighbours`` of them from
    next door to one; returns the number of distinct rounded commutes."""
    SentNote.objects.all().delete()
    Subscription.objects.all().delete()
    now = timezone.now()
    shapes = commutes(distinct, rng)
    rows = []
    for i in range(n):
        # Every commute at least once, the rest drawn at random.
        shape = shapes[i] if i < distinct else rng.choice(shapes)
        if distinct <= i < distinct + neighbours:
            shape = neighbour(shape, rng)
        rows.append(
            Subscription(
                email=f"bench{i}@example.org",
                status=Subscription.Status.ACTIVE,
                days=list(range(7)),
                lead_minutes=30,
                confirmed_at=now,
                renewed_at=now,
                **shape,
            )
        )
    Subscription.objects.bulk_create(rows, batch_size=2000)
    return len({(str(r.points), r.mode, r.window_start, r.window_end) for r in rows})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--distinct", type=int, default=1_000)
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument(
        "--neighbours",
        type=int,
        default=0,
        help="subscriptions whose start is 40-120 m from a drawn commute's",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    load = os.getloadavg()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(f"commit {commit}, {datetime.now(SEATTLE):%Y-%m-%d %H:%M %Z}")
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    ensure_forecast()
    rounded = make_subscriptions(
        args.subscriptions, args.distinct, rng, args.neighbours
    )
    print(
        f"{rounded} distinct rounded commutes ({args.neighbours} subscriptions from "
        "next door to a drawn commute)"
    )
    day = (timezone.now().astimezone(SEATTLE) + timedelta(days=1)).date()
    first = Subscription.objects.order_by("pk").first()
    plan_at = planning.send_time(first, day) - timedelta(minutes=1)

    # Warm the process (street graph, forecast week) outside both timings.
    score_day(planning.key_of(first), day)

    # Reference: one score per subscription (no sharing), on a sample of distinct
    # commutes, multiplied out.
    sample = list(Subscription.objects.order_by("pk")[: args.sample])
    costs = []
    for sub in sample:
        t0 = time.perf_counter()
        try:
            score_day(planning.key_of(sub), day)
        except Exception as exc:  # a commute the network cannot route: counted
            print(f"  sample {sub.pk}: {type(exc).__name__}: {exc}")
        costs.append(time.perf_counter() - t0)
    per_sub = statistics.mean(costs)
    reference = per_sub * args.subscriptions
    print(
        f"reference (no sharing): {per_sub * 1000:.1f} ms per subscription "
        f"(mean of {len(costs)}, p50 {statistics.median(costs) * 1000:.1f} ms) "
        f"x {args.subscriptions} = {reference:.0f} s"
    )

    app.control.purge()
    t0 = time.perf_counter()
    counts = planning.plan(plan_at)
    elapsed = time.perf_counter() - t0
    app.control.purge()
    notes = SentNote.objects.filter(day=day).count()
    load = os.getloadavg()
    print(f"planner: {counts}")
    print(
        f"{args.subscriptions} subscriptions over {args.distinct} commutes: "
        f"{notes} notes computed, claimed and queued in {elapsed:.1f} s "
        f"({elapsed / GOAL_S:.2f} of the 5-minute goal; "
        f"{reference / elapsed:.1f}x faster than the reference)"
    )
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
