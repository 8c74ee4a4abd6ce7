"""Check: the words "about 1 reported incident within [the corridor's half width] of
your way in every N trips" against what was really reported near routes in held-out
weeks (DESIGN.md, "Streets": every such sentence is checked).

    DATABASE_URL=... .venv/bin/python benchmarks/check_near_way.py [--routes 300]

A seasonal forecaster (cell x hour of week, ml.forecasters) is fitted on the reports
made before the first held-out week and forecasts each held-out week from what was
reported before it. Random routes (the trip sample's method, another seed) then get,
per week, the count the sentence is built from (each nearby cell's forecast times the
share of the cell within the half width of the route: corridor.area_shares) and the
whole cells' forecast, against the incidents (persons and property, located) whose
time falls in the week within the half width of the route. Prints the ratios observed
/ forecast over all routes and weeks, and their spread per route.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-0123456789-abcdefghijklmnop")


def main() -> None:
    import django

    django.setup()
    import numpy as np
    import shapely

    from commutes.services import trip_reference
    from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M, area_shares
    from commutes.services.trip_sample import sample_trips
    from core.local_time import SEATTLE
    from ml import forecasters
    from predictions.services.cells import grid_arrays, grid_spec
    from predictions.services.incident_events import load_events
    from streets.services.street_graph import street_graph

    parser = argparse.ArgumentParser()
    parser.add_argument("--routes", type=int, default=300, help="per mode")
    parser.add_argument("--first-week", default="2021-11-29", help="a Monday")
    parser.add_argument("--weeks", type=int, default=4)
    args = parser.parse_args()

    first = datetime.fromisoformat(args.first_week).replace(tzinfo=SEATTLE)
    origins = [first + timedelta(days=7 * k) for k in range(args.weeks)]
    end = origins[-1] + timedelta(days=7)
    events = load_events(end + timedelta(days=60))  # reported by then: the truth
    grid = grid_spec()
    model = forecasters.get("seasonal").fit(events, grid, int(first.timestamp()))
    ids = grid_arrays()["cell_ids"]
    weeks = []
    for origin in origins:
        o = int(origin.timestamp())
        pred = np.asarray(model.predict(events, o, 168), dtype=np.float64).sum(axis=2)
        in_week = (
            (events.event_time >= o)
            & (events.event_time < o + 168 * 3600)
            & (events.category <= 1)
            & np.isfinite(events.x)
        )
        weeks.append((pred.sum(axis=0), events.x[in_week], events.y[in_week]))
    graph = street_graph()
    edge_cells = trip_reference.edge_cell_matrix(graph, ids)
    width = CORRIDOR_HALF_WIDTH_M
    print(
        f"held-out weeks from {first:%Y-%m-%d} ({args.weeks}), seasonal forecaster "
        f"fitted on reports before them; within {width:.0f} m of {args.routes} random "
        "routes per mode:"
    )
    print("| mode | observed | forecast near the way | ratio | whole cells | ratio |")
    print("|---|---|---|---|---|---|")
    for mode in ("walk", "bike", "drive"):
        sample = sample_trips(graph, mode, n=args.routes, seed=4242)
        cells = trip_reference.trip_cells(sample, edge_cells)
        obs = near = whole = 0.0
        for t in range(sample.n):
            line = shapely.union_all(graph.lines_utm[sample.edges[t].indices])
            cols = cells[t].indices
            shares = area_shares(line, ids[cols])
            for per_cell, x, y in weeks:
                near += float(per_cell[cols] @ shares)
                whole += float(per_cell[cols].sum())
                pts = shapely.points(x, y)
                obs += int(shapely.dwithin(pts, line, width).sum())
        print(
            f"| {mode} | {obs:.0f} | {near:.0f} | {obs / near:.2f} | {whole:.0f} "
            f"| {obs / whole:.2f} |"
        )


if __name__ == "__main__":
    main()
