"""Load real SPD rows (the portal CSV) into crimes_incident for commute tests.

A small, test-only loader: the product's importer belongs to the crimes app and may
not exist yet when these tests run. COPY keeps 71k rows to about two seconds.
"""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import connection

SEATTLE = ZoneInfo("America/Los_Angeles")
SPD_2021 = Path(__file__).resolve().parents[2] / "data" / "spd" / "spd_2021.csv.gz"
_FMT = "%m/%d/%Y %I:%M:%S %p"
_COLUMNS = (
    "offense_id, report_number, offense_start, offense_end, reported_at, group_a_b,"
    " crime_against, offense_parent_group, offense, offense_code, precinct, sector,"
    " beat, mcpp, block_address, shooting_type_group, reporting_area, location,"
    " source, imported_at, updated_at"
)


def _when(text: str) -> str | None:
    if not text:
        return None
    local = datetime.strptime(text, _FMT).replace(tzinfo=SEATTLE)
    return local.astimezone(UTC).isoformat()


def load_spd_csv(path: Path = SPD_2021, limit: int | None = None) -> int:
    """COPY the file's rows into crimes_incident; returns the number loaded."""
    now = datetime.now(UTC).isoformat()
    with (
        gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh,
        connection.cursor() as cur,
        cur.cursor.copy(f"COPY crimes_incident ({_COLUMNS}) FROM STDIN") as copy,
    ):
        # Streamed row by row: the full 2012-2021 file does not fit comfortably
        # in memory as Python tuples.
        n = 0
        for i, row in enumerate(csv.DictReader(fh)):
            if limit is not None and i >= limit:
                break
            reported = _when(row["Report DateTime"])
            if reported is None:
                continue
            try:
                lon, lat = float(row["Longitude"]), float(row["Latitude"])
            except ValueError:
                lon = lat = 0.0
            location = (
                f"SRID=4326;POINT({lon} {lat})" if lon and lat and lat > 0 else None
            )
            n += 1
            copy.write_row(
                (
                    int(row["Offense ID"]),
                    row["Report Number"],
                    _when(row["Offense Start DateTime"]),
                    _when(row["Offense End DateTime"]),
                    reported,
                    row["Group A B"],
                    row["Crime Against Category"] or "OTHER",
                    row["Offense Parent Group"],
                    row["Offense"],
                    row["Offense Code"],
                    row["Precinct"],
                    row["Sector"],
                    row["Beat"],
                    row["MCPP"],
                    row["100 Block Address"],
                    "",
                    "",
                    location,
                    "test",
                    now,
                    now,
                )
            )
    return n


__all__ = ["SPD_2021", "load_spd_csv"]
