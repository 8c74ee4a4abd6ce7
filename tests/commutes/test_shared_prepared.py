"""The city outline a web process's threads share (commutes.services.routes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Eight threads ask one prepared outline at once, with a new outline each round (its
# indexes are built by the first predicates): ``raw`` uses GEOS's prepared geometry
# directly, as the site did, ``locked`` the SharedPrepared the site now uses.
RACE = """
import random, sys, threading
import django
django.setup()
from django.contrib.gis.geos import LineString, Point
from commutes.services.routes import SharedPrepared

outline = Point(550000, 5272000, srid=32610).buffer(9000, quadsegs=256)

def ask(barrier, outline, seed):
    rng = random.Random(seed)
    barrier.wait()
    for _ in range(50):
        x, y = 550000 + rng.uniform(-5000, 5000), 5272000 + rng.uniform(-5000, 5000)
        outline.covers(LineString([(x, y), (x + 3000, y + 9000)], srid=32610))
        outline.covers(Point(x, y, srid=32610))

for _ in range(150):
    outline_ = outline.prepared if sys.argv[1] == "raw" else SharedPrepared(outline)
    barrier = threading.Barrier(8)
    threads = [
        threading.Thread(target=ask, args=(barrier, outline_, i)) for i in range(8)
    ]
    [t.start() for t in threads]
    [t.join() for t in threads]
print("no crash")
"""


def _race(kind: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crimepredict_site.settings"}
    return subprocess.run(
        [sys.executable, "-c", RACE, kind],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_threads_asking_the_outline_at_once_do_not_crash_the_process():
    done = _race("locked")
    assert done.returncode == 0 and "no crash" in done.stdout, done.stderr[-2000:]
