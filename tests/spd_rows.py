"""Real SPD rows for tests, loaded through the product's own import service.

The one way tests put SPD records into crimes_incident: pick raw rows of a real portal
CSV export (data/spd/spd_2021.csv.gz by default, or another file named in
tests/data_files.py), write them to a temporary file in the portal format and import
that with `crimes.services.importing.import_file`, exactly what `manage.py import_spd`
does. There is no second parser: a test that needs parsed values (times, categories,
coordinates) reads them back from Incident with `incident_rows`, and the row filter
`reported_between` reads times with the importer's own `parse_local_time`.

Also the small tools the import tests build crafted files with (`portal_row`,
`slice_lines`, `write_lines`).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import itertools
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ml.spd_files import PORTAL_CSV, RowError, parse_local_time
from tests.data_files import SPD_2021

PORTAL_HEADER = PORTAL_CSV.header
PORTAL_COLUMNS = tuple(PORTAL_HEADER.split(","))

Row = dict[str, str]


# --- Selecting rows -----------------------------------------------------------------
def read_portal_rows(
    path: Path = SPD_2021,
    *,
    keep: Callable[[Row], bool] | None = None,
    every: int = 1,
    limit: int | None = None,
) -> Iterator[Row]:
    """The raw rows (header name -> text) of a portal CSV export: every n-th row of
    the file that `keep` accepts, at most `limit` of them."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        count = 0
        for index, row in enumerate(csv.DictReader(handle)):
            if index % every or (keep is not None and not keep(row)):
                continue
            yield row
            count += 1
            if limit is not None and count >= limit:
                return


def reported_at(row: Row) -> dt.datetime | None:
    """The row's report time as the importer reads it (None when unreadable)."""
    try:
        return dt.datetime.fromisoformat(parse_local_time(row["Report DateTime"]))
    except RowError:
        return None


def reported_between(start: dt.datetime, end: dt.datetime) -> Callable[[Row], bool]:
    """Row filter: Report DateTime in [start, end) (aware datetimes)."""

    def keep(row: Row) -> bool:
        moment = reported_at(row)
        return moment is not None and start <= moment < end

    return keep


# --- Writing and importing them -----------------------------------------------------
def write_portal_csv(path: Path, rows: Iterable[Row]) -> Path:
    """`rows` as a portal CSV export (BOM, the export's header, CRLF lines)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, PORTAL_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def import_rows(rows: Iterable[Row], name: str = "test_selection.csv"):
    """Import `rows` (portal CSV dicts) with the import service; the finished run."""
    with tempfile.TemporaryDirectory(prefix="spd-rows-") as tmp:
        return _import(write_portal_csv(Path(tmp) / name, rows))


def load_spd(
    path: Path = SPD_2021,
    *,
    keep: Callable[[Row], bool] | None = None,
    every: int = 1,
    limit: int | None = None,
):
    """Import a selection of a real portal CSV file (the whole file when nothing is
    selected); returns the finished ImportRun (`.inserted` = rows written)."""
    if keep is None and every == 1 and limit is None:
        return _import(path)
    return import_rows(
        read_portal_rows(path, keep=keep, every=every, limit=limit),
        name=f"{path.name.split('.')[0]}_selection.csv",
    )


def _import(path: Path):
    from crimes.models import ImportRun
    from crimes.services.importing import import_file

    run = import_file(path)
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    return run


def delete_imported() -> None:
    """Remove every incident and import run (committed test data of a module)."""
    from crimes.models import ImportRun, Incident

    Incident.objects.all().delete()
    ImportRun.objects.all().delete()


# --- Reading back what was imported -------------------------------------------------
def incident_rows(run=None) -> list[dict]:
    """The stored incidents (of one import run, or all) as plain dicts in offense id
    order, with `lon` / `lat` (None without a location): what tests compute their
    expected numbers from, in Python, independently of the SQL under test."""
    from crimes.models import Incident
    from crimes.services.history_queries import INCIDENT_FIELDS

    incidents = Incident.objects.order_by("offense_id")
    if run is not None:
        incidents = incidents.filter(import_run=run)
    out = []
    for values in incidents.values(*INCIDENT_FIELDS, "location"):
        point = values.pop("location")
        values["lon"], values["lat"] = (point.x, point.y) if point else (None, None)
        out.append(values)
    return out


# --- Crafted files for the import tests ---------------------------------------------
def slice_lines(source: Path, lines: int) -> list[bytes]:
    """The first `lines` physical lines (header included) of a real SPD file."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rb") as f:
        return list(itertools.islice(f, lines))


def write_lines(path: Path, lines: list[bytes], gz: bool = False) -> Path:
    data = b"".join(lines)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def portal_row(**overrides: str) -> str:
    """A real portal CSV row (offense 12605567653 of the robbery export) with
    fields replaced by header name."""
    values = dict(
        zip(
            PORTAL_COLUMNS,
            (
                "2020-044465,12605567653,02/02/2020 08:30:00 PM,02/02/2020 09:30:00 PM,"
                "02/05/2020 09:39:33 AM,A,PROPERTY,ROBBERY,Robbery,120,N,U,U3,"
                "ROOSEVELT/RAVENNA,26TH AVE NE / NE BLAKELEY ST,-122.29955218,"
                "47.66638407"
            ).split(","),
            strict=True,
        )
    )
    values.update(overrides)
    return ",".join(values.values())
