"""Calibration of driving times (osm.drive_times): the median speed of random 3-8 km
drives across the city under each step of the model, on the loaded street network.

    DATABASE_URL=postgis://... .venv/bin/python benchmarks/calibrate_drive_times.py \\
        [--drives 400] [--seed 19]

Each drive runs between the middles of two random edges a car may use (in the main
connected piece); drives whose fastest route is 3-8 km along the streets are kept.
The rows: at the speed limit with no junctions (before issue 19), at the cruising
speeds only, with junction delays, and as routed (junctions and turns). The figure
to compare with the reference in docs/routing.md is the last row's median, and
``osm.drive_times.CITY_DRIVE_KMH`` should sit within a few percent of it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MIN_M, MAX_M = 3000.0, 8000.0


def random_drives(graph, n: int, seed: int) -> list:
    """``n`` (start Snap, end Snap) pairs whose fastest drive is 3-8 km."""
    from commutes.services import street_routes
    from streets.services.street_graph import Snap

    rng = np.random.default_rng(seed)
    edges = graph.modes["drive"].tree_edges
    pairs = []
    while len(pairs) < n:
        a, b = (Snap(int(e), 0.5, 0.0, 0.0, 0.0) for e in rng.choice(edges, 2))
        try:
            route = street_routes.route_through(graph, "drive", [a, b])
        except street_routes.LegNotFound:
            continue
        if MIN_M <= route.length_m <= MAX_M:
            pairs.append((a, b))
    return pairs


def drive_speeds(graph, pairs, turns: bool = True) -> np.ndarray:
    """km/h of the fastest drive for each pair (length / time)."""
    from commutes.services import street_routes

    speeds = []
    for a, b in pairs:
        route = street_routes.route_through(graph, "drive", [a, b])
        seconds = route.seconds
        if not turns:
            seconds -= graph.turn_seconds("drive", route.steps)
        speeds.append(route.length_m / seconds * 3.6)
    return np.array(speeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drives", type=int, default=400)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
    import django

    django.setup()
    from osm.drive_times import CITY_DRIVE_KMH, cruise_kmh
    from streets.models import StreetEdge
    from streets.services.street_graph import _mode_graph, street_graph

    graph = street_graph()
    routed = graph.modes["drive"]
    pairs = random_drives(graph, args.drives, args.seed)
    limit = np.array(
        StreetEdge.objects.order_by("id").values_list("speed_kmh", flat=True),
        dtype=float,
    )
    fwd_ok = np.isfinite(routed.fwd_seconds)
    back_ok = np.isfinite(routed.back_seconds)
    connected = np.zeros(graph.edge_ids.size, dtype=bool)
    connected[routed.tree_edges] = True
    cruise = np.array(
        [cruise_kmh(h, v) for h, v in zip(graph.highway, limit, strict=True)]
    )

    def with_times(kmh: np.ndarray):
        seconds = graph.length_m / kmh * 3.6
        return _mode_graph(
            graph,
            np.where(fwd_ok, seconds, np.nan),
            np.where(back_ok, seconds, np.nan),
            connected,
        )

    rows = []
    for name, mode_graph, turns in (
        ("at the speed limit, no junctions (before)", with_times(limit), False),
        ("cruising speeds, no junctions", with_times(cruise), False),
        ("cruising speeds + junction delays", routed, False),
        ("+ turn delays (as routed)", routed, True),
    ):
        graph.modes["drive"] = mode_graph
        speeds = drive_speeds(graph, pairs, turns=turns)
        p10, p50, p90 = np.percentile(speeds, [10, 50, 90])
        rows.append((name, p10, p50, p90))
    graph.modes["drive"] = routed
    print(f"{len(pairs)} random drives of 3-8 km (seed {args.seed})")
    print("| model | p10 km/h | median km/h | p90 km/h |")
    print("|---|---|---|---|")
    for name, p10, p50, p90 in rows:
        print(f"| {name} | {p10:.1f} | {p50:.1f} | {p90:.1f} |")
    print(
        f"CITY_DRIVE_KMH = {CITY_DRIVE_KMH}:"
        f" median / it = {rows[-1][2] / CITY_DRIVE_KMH:.2f}"
    )


if __name__ == "__main__":
    main()
