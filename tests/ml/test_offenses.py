"""Offense groups as rate-map signals: OffenseEvents keeps its codes through the
Events operations, the CSV reader lines them up with ml.events.load_spd_csv (on rows
of the bundled 2021 extract), and the feature builder counts them."""

from __future__ import annotations

import gzip
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from ml.events import Events, load_spd_csv
from ml.features import N_GROUPS, FeatureBuilder, FeatureConfig
from ml.offenses import OFFENSE_CODES, OffenseEvents, load_spd_csv_with_offenses
from ml.timeutil import HOUR

from .conftest import square_grid

SPD_2021 = Path(__file__).resolve().parents[2] / "data/spd/spd_2021.csv.gz"
GRID = square_grid(6)


def _offense_events() -> OffenseEvents:
    x, y = GRID.centers()
    t0 = 1_600_000_000 - 1_600_000_000 % HOUR
    return OffenseEvents(
        event_time=[t0, t0 + 10, t0 + 20],
        report_time=[t0 + 60, t0 + 70, t0 + 5 * HOUR],
        x=[x[4], x[4], x[9]],
        y=[y[4], y[4], y[9]],
        category=[1, 0, 1],
        imprecise=[False, False, False],
        offense=[OFFENSE_CODES["burglary"], OFFENSE_CODES["assault"], -1],
    )


def test_offense_codes_survive_select_concat_and_the_npz_cache(tmp_path):
    ev = _offense_events()
    known = ev.reported_before(int(ev.event_time[0]) + HOUR)
    assert isinstance(known, OffenseEvents) and known.offense.tolist() == [2, 1]
    both = OffenseEvents.concat([ev, known])
    assert both.offense.tolist() == [2, 1, -1, 2, 1]
    ev.save_npz(tmp_path / "e.npz")
    back = OffenseEvents.load_npz(tmp_path / "e.npz")
    for f in fields(back):
        np.testing.assert_array_equal(getattr(back, f.name), getattr(ev, f.name))
    with pytest.raises(ValueError, match="offense codes"):
        OffenseEvents(**{f.name: getattr(ev, f.name) for f in fields(Events)})


def test_reader_lines_offense_groups_up_with_the_event_parser(tmp_path):
    lines = gzip.open(SPD_2021, "rt", encoding="utf-8-sig").readlines()[:3001]
    path = tmp_path / "cut.csv"
    path.write_text("".join(lines), encoding="utf-8")
    plain, stats = load_spd_csv(path)
    ev, stats2 = load_spd_csv_with_offenses(path)
    assert stats == stats2 and len(ev) == len(plain) > 2000
    for f in fields(Events):
        np.testing.assert_array_equal(getattr(ev, f.name), getattr(plain, f.name))
    # Property crime is mostly larceny; the named groups cover most rows.
    assert (ev.offense == OFFENSE_CODES["larceny"]).sum() > 0.25 * len(ev)
    assert (ev.offense >= 0).mean() > 0.8
    assert (ev.offense[ev.category == 0] == OFFENSE_CODES["larceny"]).sum() == 0


def test_offense_rate_maps_and_the_error_without_codes():
    ev = _offense_events()
    cfg = FeatureConfig(windows_h=(24,), extra_groups=("offense:burglary",))
    fb = FeatureBuilder(ev, GRID, cfg)
    assert fb.n_groups == N_GROUPS + 1
    m = fb.rate_maps(int(ev.event_time[0]) + HOUR).reshape(N_GROUPS + 1, -1)
    assert m[N_GROUPS, 4] > 0 and m[N_GROUPS].sum() == m[N_GROUPS, 4]
    plain = Events(**{f.name: getattr(ev, f.name) for f in fields(Events)})
    with pytest.raises(ValueError, match="needs events with offense groups"):
        FeatureBuilder(plain, GRID, cfg)
    with pytest.raises(ValueError, match="unknown offense group"):
        FeatureBuilder(ev, GRID, FeatureConfig(extra_groups=("offense:nope",)))
