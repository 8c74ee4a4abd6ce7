"""Real SPD rows for the history tests and benchmark, loaded without the importer.

The rows are read from the portal CSV (data/spd/spd_2021.csv.gz or the shared full
file) with a deliberately plain reader, and written with one COPY. Tests compute their
expected counts from the same dicts in plain Python, independently of the SQL under
test.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import connection

SEATTLE = ZoneInfo("America/Los_Angeles")
REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "data" / "spd" / "spd_2021.csv.gz"
CATEGORIES = {"PERSON", "PROPERTY", "SOCIETY", "NOT_A_CRIME"}
COLUMNS = (
    "offense_id",
    "report_number",
    "offense_start",
    "offense_end",
    "reported_at",
    "group_a_b",
    "crime_against",
    "offense_parent_group",
    "offense",
    "offense_code",
    "precinct",
    "sector",
    "beat",
    "mcpp",
    "block_address",
    "shooting_type_group",
    "reporting_area",
    "location",
    "source",
    "imported_at",
    "updated_at",
)


def _time(value: str) -> dt.datetime | None:
    if not value.strip():
        return None
    naive = dt.datetime.strptime(value.strip(), "%m/%d/%Y %I:%M:%S %p")  # noqa: DTZ007
    return naive.replace(tzinfo=SEATTLE)


def read_rows(path: Path = BUNDLED, limit: int | None = None, every: int = 1):
    """Yield one dict per CSV row (every n-th row; at most limit rows)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        count = 0
        for index, row in enumerate(csv.DictReader(handle)):
            if index % every:
                continue
            start = _time(row["Offense Start DateTime"])
            reported = _time(row["Report DateTime"])
            if reported is None:
                continue
            lon, lat = float(row["Longitude"] or 0), float(row["Latitude"] or 0)
            category = row["Crime Against Category"].strip()
            yield {
                "offense_id": int(row["Offense ID"]),
                "report_number": row["Report Number"],
                "offense_start": start,
                "offense_end": _time(row["Offense End DateTime"]),
                "reported_at": reported,
                "group_a_b": row["Group A B"],
                "crime_against": category if category in CATEGORIES else "OTHER",
                "offense_parent_group": row["Offense Parent Group"],
                "offense": row["Offense"],
                "offense_code": row["Offense Code"],
                "precinct": row["Precinct"],
                "sector": row["Sector"],
                "beat": row["Beat"],
                "mcpp": row["MCPP"],
                "block_address": row["100 Block Address"],
                "lon": lon if lon and lat else None,
                "lat": lat if lon and lat else None,
            }
            count += 1
            if limit is not None and count >= limit:
                return


def _csv_line(row: dict, now: dt.datetime) -> list:
    location = (
        f"SRID=4326;POINT({row['lon']} {row['lat']})"
        if row["lon"] is not None
        else None
    )
    values = [
        *(row[name] for name in COLUMNS[:15]),
        "",
        "",
        location,
        "test",
        now,
        now,
    ]
    return [
        "\\N" if v is None else (v.isoformat() if hasattr(v, "isoformat") else v)
        for v in values
    ]


def copy_rows(rows: list[dict] | Iterator[dict], chunk: int = 20000) -> int:
    """COPY rows into crimes_incident (generated columns fill themselves)."""
    now = dt.datetime.now(tz=dt.UTC)
    n = 0
    with connection.cursor() as cursor:
        with cursor.copy(
            f"COPY crimes_incident ({', '.join(COLUMNS)}) FROM STDIN"
            " WITH (FORMAT csv, NULL '\\N')"
        ) as copy:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in rows:
                writer.writerow(_csv_line(row, now))
                n += 1
                if n % chunk == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
                    writer = csv.writer(buffer)
            copy.write(buffer.getvalue())
        cursor.execute("ANALYZE crimes_incident")
    return n
