"""The API's answers for a fixed set of commutes, to check that a speed change left
them as they were.

    DATABASE_URL=postgis://... REDIS_URL=redis://127.0.0.1:6379/N \\
        .venv/bin/python benchmarks/commute_answers.py dump OUT.json [--commutes 36]
    .venv/bin/python benchmarks/commute_answers.py compare BEFORE.json AFTER.json

``dump`` scores ``--commutes`` commutes drawn from a fixed seed (walk, bike and drive
in turn; pairs 2-12 km apart across the city, some with a waypoint, a departure
window or a given departure) with ``commutes.services.commute.commute_answer``, the
answer cache bypassed, and writes the JSON answers (or the 400's field and message).
Run it from two checkouts over the same database and forecast, then ``compare``:
strings, counts and structure must be equal, numbers equal to a relative 1e-9 (a
sum taken in another order differs in its last bits); every difference is printed
with its path in the answer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Places to go between (lon, lat): neighbourhood centres on land, near streets.
PLACES = [
    (-122.3210, 47.6205),  # Capitol Hill
    (-122.3250, 47.7050),  # Northgate
    (-122.3350, 47.6080),  # Downtown
    (-122.3870, 47.6680),  # Ballard
    (-122.3500, 47.6510),  # Fremont
    (-122.3130, 47.6610),  # University District
    (-122.2870, 47.5570),  # Columbia City
    (-122.3870, 47.5610),  # West Seattle Junction
    (-122.3550, 47.5300),  # Westwood
    (-122.3110, 47.5970),  # International District
    (-122.2930, 47.6880),  # Wedgwood
    (-122.3560, 47.6370),  # Queen Anne
]
MODES = ("walk", "bike", "drive")
WINDOWS = [
    None,
    {"start": "07:00", "end": "10:00", "days": "weekdays"},
    {"start": "16:00", "end": "19:00", "days": "all"},
]


def _bodies(count: int) -> list[dict]:
    rng = random.Random(16)
    bodies = []
    while len(bodies) < count:
        a, b = rng.sample(PLACES, 2)
        distance_km = math.hypot((a[0] - b[0]) * 75.0, (a[1] - b[1]) * 111.0)
        if not 2.0 <= distance_km <= 12.0:
            continue
        i = len(bodies)

        def jitter(point):
            return [
                point[0] + rng.uniform(-2e-3, 2e-3),
                point[1] + rng.uniform(-1e-3, 1e-3),
            ]

        body = {"start": jitter(a), "end": jitter(b), "mode": MODES[i % 3]}
        if i % 5 == 4:
            body["waypoints"] = [[(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]]
        if WINDOWS[i % len(WINDOWS)]:
            body["window"] = WINDOWS[i % len(WINDOWS)]
        if i % 7 == 3:
            body["depart"] = "2021-12-02T08:00"
        bodies.append(body)
    return bodies


def dump(path: str, count: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
    import django

    django.setup()
    from commutes.services import commute
    from commutes.services.routes import (
        RouteError,
        parse_depart,
        parse_route,
        parse_window,
    )
    from core.local_time import SEATTLE

    commute._ANSWERS.get = lambda key, make, **kw: make()  # every answer computed
    answers = []
    for body in _bodies(count):
        try:
            answer = commute.commute_answer(
                parse_route(body),
                parse_window(body.get("window")),
                "all",
                parse_depart(body.get("depart"), SEATTLE),
            )
        except RouteError as exc:
            answer = {"error": exc.field, "message": str(exc)}
        answers.append({"body": body, "answer": answer})
    Path(path).write_text(json.dumps(answers, default=str, indent=1))
    errors = sum("error" in a["answer"] for a in answers)
    print(f"{len(answers)} answers ({errors} refused) -> {path}")


def _differences(a, b, where: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(
                    f"{where}.{key}: only in {'after' if key in b else 'before'}"
                )
            else:
                _differences(a[key], b[key], f"{where}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} items before, {len(b)} after")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _differences(x, y, f"{where}[{i}]", out)
    elif (
        isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool)
    ):
        if not (math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (a != a and b != b)):
            out.append(f"{where}: {a!r} -> {b!r}")
    elif a != b:
        out.append(f"{where}: {a!r} -> {b!r}")


def compare(before: str, after: str) -> int:
    a = json.loads(Path(before).read_text())
    b = json.loads(Path(after).read_text())
    out: list[str] = []
    _differences(a, b, "", out)
    for line in out[:60]:
        print(line)
    print(f"{len(a)} answers compared: {len(out)} differences")
    return 1 if out else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out")
    d.add_argument("--commutes", type=int, default=36)
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.commutes)
    else:
        sys.exit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
