"""Real SPD rows (data/spd/spd_2021.csv.gz) straight into crimes.Incident for tests.

The import engineer owns the real importer; predictions tests only need faithful rows,
so this small reader maps the portal columns one to one (naive times = Seattle local).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.contrib.gis.geos import Point

from crimes.models import Incident

SEATTLE = ZoneInfo("America/Los_Angeles")
EXTRACT = Path(__file__).resolve().parents[2] / "data" / "spd" / "spd_2021.csv.gz"
FORMAT = "%m/%d/%Y %I:%M:%S %p"


def _time(value: str) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, FORMAT).replace(tzinfo=SEATTLE)


def read_rows(path: Path = EXTRACT) -> Iterator[dict[str, str]]:
    with gzip.open(path, "rb") as raw:
        yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig"))


def to_incident(row: dict[str, str]) -> Incident:
    lon, lat = float(row["Longitude"] or 0), float(row["Latitude"] or 0)
    return Incident(
        offense_id=int(row["Offense ID"]),
        report_number=row["Report Number"],
        offense_start=_time(row["Offense Start DateTime"]),
        offense_end=_time(row["Offense End DateTime"]),
        reported_at=_time(row["Report DateTime"]),
        group_a_b=row["Group A B"],
        crime_against=row["Crime Against Category"] or "OTHER",
        offense_parent_group=row["Offense Parent Group"],
        offense=row["Offense"],
        offense_code=row["Offense Code"],
        precinct=row["Precinct"],
        sector=row["Sector"],
        beat=row["Beat"],
        mcpp=row["MCPP"],
        block_address=row["100 Block Address"],
        location=Point(lon, lat, srid=4326) if lon and lat else None,
        source="test",
    )


def load_incidents(
    keep: Callable[[dict[str, str]], bool] = lambda row: True,
    limit: int | None = None,
    path: Path = EXTRACT,
) -> int:
    """Insert the rows that ``keep`` accepts (at most ``limit``); returns the count."""
    batch: list[Incident] = []
    n = 0
    for row in read_rows(path):
        if not row["Report DateTime"] or not keep(row):
            continue
        batch.append(to_incident(row))
        n += 1
        if len(batch) >= 5000:
            Incident.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
        if limit is not None and n >= limit:
            break
    Incident.objects.bulk_create(batch, ignore_conflicts=True)
    return n
