"""Offense groups as separate signals (issue 12): events that carry their SPD
"Offense Parent Group", and the rate-map groups made from them.

``OffenseEvents`` is ``ml.events.Events`` plus an ``offense`` code per event (index in
``OFFENSE_GROUPS``, -1 for every other group). It keeps its codes through
``select``/``reported_before``/``concat`` and the npz cache, so a forecaster that asks
for offense rate maps (``NeuralConfig.extra_groups`` such as ``"offense:burglary"``)
gets them, and one given plain Events is told so. The backtest CLI reads it with
``--offenses``; the production loader (predictions/services/events.py) does not carry
offense groups, which is fine while no production configuration uses them.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ml.events import Events, load_spd_csv

# The parent groups with their own rate maps (the largest PERSON/PROPERTY/SOCIETY
# groups of 2012-2021, and the near-repeat ones of the literature).
OFFENSE_GROUPS = {
    "larceny": "LARCENY-THEFT",
    "assault": "ASSAULT OFFENSES",
    "burglary": "BURGLARY/BREAKING&ENTERING",
    "vandalism": "DESTRUCTION/DAMAGE/VANDALISM OF PROPERTY",
    "vehicle_theft": "MOTOR VEHICLE THEFT",
    "fraud": "FRAUD OFFENSES",
    "trespass": "TRESPASS OF REAL PROPERTY",
    "drugs": "DRUG/NARCOTIC OFFENSES",
    "robbery": "ROBBERY",
}
OFFENSE_CODES = {name: i for i, name in enumerate(OFFENSE_GROUPS)}


@dataclass
class OffenseEvents(Events):
    offense: np.ndarray | None = None  # int8 index in OFFENSE_GROUPS, -1 other

    def __post_init__(self) -> None:
        if self.offense is None:
            raise ValueError("OffenseEvents needs offense codes")
        self.offense = np.asarray(self.offense, dtype=np.int8)
        super().__post_init__()

    def select(self, mask: np.ndarray) -> OffenseEvents:
        return OffenseEvents(
            **{f.name: getattr(self, f.name)[mask] for f in fields(self)}
        )

    @classmethod
    def concat(cls, parts: list[Events]) -> Events:
        if all(isinstance(p, OffenseEvents) for p in parts):
            return cls(
                **{
                    f.name: np.concatenate([getattr(p, f.name) for p in parts])
                    for f in fields(cls)
                }
            )
        return Events.concat([Events.select(p, slice(None)) for p in parts])

    @classmethod
    def load_npz(cls, path: str | Path) -> OffenseEvents:
        with np.load(path) as z:
            return cls(**{f.name: z[f.name] for f in fields(cls)})


def offense_codes(names: np.ndarray) -> np.ndarray:
    out = np.full(len(names), -1, dtype=np.int8)
    for i, full in enumerate(OFFENSE_GROUPS.values()):
        out[np.asarray(names) == full] = i
    return out


def load_spd_csv_with_offenses(path: str | Path) -> tuple[OffenseEvents, dict]:
    """``ml.events.load_spd_csv`` plus each kept row's offense group.

    The parent groups are read in a second pass over the file and matched to the
    kept rows by re-reading the fields the row filter uses; the match is checked
    (same count, same report times), so a change in the parser's filter is an error
    here, not a silent misalignment.
    """
    events, stats = load_spd_csv(path)
    path = Path(path)
    opener = (
        (
            lambda: io.TextIOWrapper(
                gzip.open(path, "rb"), encoding="utf-8-sig", newline=""
            )
        )
        if path.suffix == ".gz"
        else (lambda: open(path, encoding="utf-8-sig", newline=""))
    )
    from ml.events import event_times, parse_portal_datetimes

    with opener() as fh:
        reader = csv.reader(fh)
        header = next(reader)
        cols = [
            header.index(c)
            for c in (
                "Offense Start DateTime",
                "Offense End DateTime",
                "Report DateTime",
                "Longitude",
                "Latitude",
                "Offense Parent Group",
            )
        ]
        rows = [[row[j] for j in cols] for row in reader]
    start, end, report, lon, lat, group = (
        np.asarray(c) for c in zip(*rows, strict=True)
    )
    del rows
    start = parse_portal_datetimes(start)
    end = parse_portal_datetimes(end)
    report = parse_portal_datetimes(report)
    _, _, usable = event_times(start, end)
    lon = np.asarray([float(v) if v else 0.0 for v in lon])
    lat = np.asarray([float(v) if v else 0.0 for v in lat])
    located = (lon != 0.0) & (lat != 0.0) & np.isfinite(lon) & np.isfinite(lat)
    keep = (start != -1) & (report != -1) & usable & located
    if int(keep.sum()) != len(events) or not np.array_equal(
        report[keep], events.report_time
    ):
        raise ValueError("offense groups do not line up with ml.events.load_spd_csv")
    fields_ = {f.name: getattr(events, f.name) for f in fields(Events)}
    return OffenseEvents(**fields_, offense=offense_codes(group[keep])), stats
