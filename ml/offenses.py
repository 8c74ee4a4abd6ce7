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

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ml.events import Events, incident_events, load_spd_csv

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
    """``ml.events.load_spd_csv`` plus each kept row's offense parent group.

    A second pass with the same parser (ml.spd_files) reads the groups; rows are kept
    by the same rule (parsed, located, usable times by ``ml.events.incident_events``)
    and the match is checked (same count, same report times), so a change in that
    rule is an error here, not a silent misalignment.
    """
    from ml.spd_files import TARGET_FIELDS, SpdFile, utc_seconds

    events, stats = load_spd_csv(path)
    i_start, i_end, i_report, i_group = (
        TARGET_FIELDS.index(name)
        for name in (
            "offense_start",
            "offense_end",
            "reported_at",
            "offense_parent_group",
        )
    )
    start, end, report, group, located = [], [], [], [], []
    with SpdFile(Path(path)) as spd:
        for row in spd.rows():
            values = row.values
            if values is None:
                continue
            start.append(utc_seconds(values[i_start]))
            end.append(utc_seconds(values[i_end]))
            report.append(utc_seconds(values[i_report]))
            group.append(values[i_group] or "")
            located.append(values[-2] is not None)
    n = len(start)
    zeros = np.zeros(n)
    _, usable = incident_events(
        np.asarray(start, dtype=np.int64),
        np.asarray(end, dtype=np.int64),
        np.asarray(report, dtype=np.int64),
        zeros,
        zeros,
        np.zeros(n, dtype=np.int8),
    )
    keep = usable & np.asarray(located, dtype=bool)
    report_kept = np.asarray(report, dtype=np.int64)[keep]
    if len(report_kept) != len(events) or not np.array_equal(
        report_kept, events.report_time
    ):
        raise ValueError("offense groups do not line up with ml.events.load_spd_csv")
    fields_ = {f.name: getattr(events, f.name) for f in fields(Events)}
    codes = offense_codes(np.asarray(group, dtype=str)[keep])
    return OffenseEvents(**fields_, offense=codes), stats
