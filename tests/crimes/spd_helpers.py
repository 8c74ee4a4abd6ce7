"""Helpers for the import tests: slices of the real SPD files, small crafted files."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

PORTAL_HEADER = (
    "Report Number,Offense ID,Offense Start DateTime,Offense End DateTime,"
    "Report DateTime,Group A B,Crime Against Category,Offense Parent Group,Offense,"
    "Offense Code,Precinct,Sector,Beat,MCPP,100 Block Address,Longitude,Latitude"
)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "spd"


def slice_lines(source: Path, lines: int) -> list[bytes]:
    """The first `lines` physical lines (header included) of a real SPD file."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rb") as f:
        return list(itertools.islice(f, lines))


def write_lines(path: Path, lines: list[bytes], gz: bool = False) -> Path:
    data = b"".join(lines)
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def portal_row(**overrides: str) -> str:
    """A real portal CSV row (offense 12605567653 of the robbery export) with
    fields replaced by header name."""
    values = dict(
        zip(
            PORTAL_HEADER.split(","),
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
