from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Write the forecast grid as CSV: cell_id,wkt (cell polygon, EPSG:4326 WKT)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="output CSV path")

    def handle(self, *args, **opts):
        out = Path(opts["out"])
        if not out.parent.is_dir():
            raise CommandError(f"--out: folder {out.parent} does not exist")
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id, ST_AsText(ST_Transform(geom, 4326), 7)"
                " FROM predictions_cell ORDER BY idx"
            )
            rows = cur.fetchall()
        if not rows:
            raise CommandError("the grid is empty: run `manage.py build_grid`")
        with out.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["cell_id", "wkt"])
            writer.writerows(rows)
        self.stdout.write(f"{len(rows)} cells -> {out}")
