from __future__ import annotations

import csv
import gzip
import itertools
from datetime import UTC, datetime

import numpy as np
import pytest

from ml.events import Events, event_times, is_placeholder, load_spd_csv
from ml.timeutil import (
    local_hour_of_day,
    local_hour_of_week,
    local_naive_to_utc,
    to_local_naive,
)
from tests.data_files import SPD_2021

from .conftest import local_s

H = 3600


def test_start_only_is_the_event_time():
    t = local_s(2021, 6, 1, 14, 37)
    ev, imp, ok = event_times(np.array([t]), np.array([-1]))
    assert ev[0] == t and not imp[0] and ok[0]


def test_span_up_to_72h_uses_midpoint_longer_is_unusable():
    t = local_s(2021, 6, 1, 10)
    ev, imp, ok = event_times(
        np.array([t, t, t]), np.array([t + 4 * H, t + 72 * H, t + 72 * H + 1])
    )
    assert ev[0] == t + 2 * H and ev[1] == t + 36 * H
    assert ok.tolist() == [True, True, False]
    assert not imp.any()


def test_end_before_start_is_ignored_not_fatal():
    t = local_s(2021, 6, 1, 10)
    ev, _, ok = event_times(np.array([t]), np.array([t - H]))
    assert ev[0] == t and ok[0]


@pytest.mark.parametrize(
    "when",
    [
        (2021, 1, 15, 0, 0),  # winter midnight = 08:00 UTC
        (2021, 7, 15, 0, 0),  # summer midnight = 07:00 UTC
        (2021, 7, 15, 12, 0),  # noon
        (2021, 3, 14, 0, 0),  # the DST-change day itself
    ],
)
def test_local_midnight_or_noon_without_end_is_imprecise(when):
    t = local_s(*when)
    _, imp, ok = event_times(np.array([t, t]), np.array([-1, t]))
    assert imp.tolist() == [True, True]  # no end, or an end equal to the start
    assert ok.all()


def test_placeholder_test_is_on_the_local_clock_not_utc():
    utc_midnight = local_s(2021, 7, 14, 17, 0)  # 00:00 UTC on 15 July
    not_placeholders = [
        utc_midnight,
        local_s(2021, 7, 15, 0, 1),  # a minute past midnight is a real time
        local_s(2021, 7, 15, 12, 0, 1),
    ]
    _, imp, _ = event_times(np.array(not_placeholders), np.full(3, -1))
    assert not imp.any()


def test_placeholder_with_a_real_end_is_precise_midpoint():
    t = local_s(2021, 7, 15, 0, 0)
    ev, imp, _ = event_times(np.array([t]), np.array([t + 6 * H]))
    assert not imp[0] and ev[0] == t + 3 * H


def test_placeholder_rule_needs_no_real_end():
    t = local_s(2021, 7, 15, 12, 0)
    ends = np.array([-1, t, t - H, t + 1])  # missing, equal, before, after
    assert is_placeholder(np.full(4, t), ends).tolist() == [True, True, True, False]


def test_load_spd_csv_reads_times_with_the_importers_dst_rule(tmp_path):
    # The one parser (ml.spd_files): a skipped or repeated local time is read as
    # Pacific Standard Time, as PostgreSQL reads it; blank and bad dates are handled
    # as the importer does (no end / a rejected row).
    body = (
        _row(
            "03/14/2021 02:30:00 AM",
            "",
            "03/14/2021 03:30:00 AM",
            "PERSON",
            -122.3,
            47.6,
        )
        + _row(
            "11/07/2021 01:30:00 AM",
            "",
            "11/07/2021 03:00:00 AM",
            "PERSON",
            -122.3,
            47.6,
        )
        + _row("07/04/2019 09:05:07 PM", "", "garbage", "PERSON", -122.3, 47.6)
    )
    p = tmp_path / "dst.csv"
    p.write_text(HEADER + body, encoding="utf-8")
    ev, stats = load_spd_csv(p)
    assert stats["rows"] == 3 and stats["rejected"] == 1 and stats["kept"] == 2
    pst = [
        datetime(2021, 3, 14, 10, 30, tzinfo=UTC),
        datetime(2021, 11, 7, 9, 30, tzinfo=UTC),
    ]
    assert ev.event_time.tolist() == [int(t.timestamp()) for t in pst]


def test_local_conversions_round_trip_over_dst_changes():
    start = local_s(2021, 3, 13, 0)
    t = np.arange(start, start + 240 * 24 * H, 1800, dtype=np.int64)
    local = to_local_naive(t)
    # Away from the repeated autumn hour, local -> utc inverts utc -> local exactly.
    back = local_naive_to_utc(local)
    _, first = np.unique(local, return_index=True)
    second_occurrence = np.ones(len(t), dtype=bool)
    second_occurrence[first] = False
    assert second_occurrence.sum() == 2  # 01:00 and 01:30 PST on 2021-11-07
    assert (back[~second_occurrence] == t[~second_occurrence]).all()
    assert (back[second_occurrence] == t[second_occurrence] - H).all()
    assert local_hour_of_day(np.array([local_s(2021, 7, 5, 17, 59)]))[0] == 17
    # 2021-07-05 was a Monday
    assert local_hour_of_week(np.array([local_s(2021, 7, 5, 0, 0)]))[0] == 0
    assert local_hour_of_week(np.array([local_s(2021, 7, 11, 23, 0)]))[0] == 167
    assert local_hour_of_week(np.array([local_s(2021, 12, 6, 1, 0)]))[0] == 1


HEADER = (
    "\ufeffReport Number,Offense ID,Offense Start DateTime,Offense End DateTime,"
    "Report DateTime,Group A B,Crime Against Category,Offense Parent Group,Offense,"
    "Offense Code,Precinct,Sector,Beat,MCPP,100 Block Address,Longitude,Latitude\n"
)


def _row(start, end, report, cat, lon, lat, addr="1XX BLOCK OF PINE ST"):
    return (
        f"2021-1,1,{start},{end},{report},A,{cat},X,X,1,E,E,E2,CAP HILL,"
        f'"{addr}",{lon},{lat}\n'
    )


def test_load_spd_csv_drops_unlocated_and_long_spans(tmp_path):
    body = (
        _row(
            "06/01/2021 10:00:00 AM",
            "",
            "06/01/2021 11:00:00 AM",
            "PERSON",
            -122.33,
            47.61,
            "A, B",
        )
        + _row(
            "06/01/2021 12:00:00 AM",
            "",
            "06/02/2021 09:00:00 AM",
            "PROPERTY",
            -122.30,
            47.62,
        )
        + _row("06/01/2021 10:00:00 AM", "", "06/01/2021 11:00:00 AM", "PERSON", 0, 0)
        + _row(
            "05/01/2021 10:00:00 AM",
            "05/20/2021 10:00:00 AM",
            "06/01/2021 11:00:00 AM",
            "SOCIETY",
            -122.3,
            47.6,
        )
        + _row(
            "06/01/2021 10:00:00 AM",
            "06/01/2021 02:00:00 PM",
            "06/01/2021 03:00:00 PM",
            "NOT_A_CRIME",
            -122.3,
            47.6,
        )
    )
    p = tmp_path / "x.csv.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write(HEADER + body)
    ev, stats = load_spd_csv(p)
    assert stats == {
        "rows": 5,
        "rejected": 0,
        "bad_time": 0,
        "span_over_72h": 1,
        "no_location": 1,
        "kept": 3,
        "kept_imprecise": 1,
    }
    assert ev.category.tolist() == [0, 1, 3]
    assert ev.imprecise.tolist() == [False, True, False]
    assert ev.event_time[2] == local_s(2021, 6, 1, 12, 0)
    assert 545000 < ev.x[0] < 555000 and 5270000 < ev.y[0] < 5280000


def test_events_select_reported_before_and_npz_round_trip(tmp_path):
    ev = Events(
        event_time=[10, 20, 30],
        report_time=[15, 25, 35],
        x=[1.0, 2.0, 3.0],
        y=[4.0, 5.0, 6.0],
        category=[0, 1, 2],
        imprecise=[False, True, False],
    )
    assert len(ev.reported_before(25)) == 1
    assert ev.in_categories((0, 1)).category.tolist() == [0, 1]
    ev.save_npz(tmp_path / "e.npz")
    back = Events.load_npz(tmp_path / "e.npz")
    assert (back.x == ev.x).all() and back.imprecise.dtype == bool
    with pytest.raises(ValueError):
        Events([1], [1, 2], [1.0], [1.0], [0], [False])


def test_real_file_slice_parses(tmp_path):
    # First 3000 rows of the bundled real export (a cut of the 2012-2021 file), kept
    # gzip-compressed like the original.
    p = tmp_path / "slice.csv.gz"
    with gzip.open(SPD_2021, "rt", encoding="utf-8") as src, gzip.open(p, "wt") as dst:
        dst.writelines(itertools.islice(src, 3001))
    ev, stats = load_spd_csv(p)
    assert stats == {
        "rows": 3000,
        "rejected": 0,
        "bad_time": 0,
        "span_over_72h": 237,
        "no_location": 175,
        "kept": 2588,
        "kept_imprecise": 117,
    }
    # Counted independently: 182 rows have no location (`0`,`0`); 7 of them also span
    # more than 72 h and count there, since the time test comes first.
    with gzip.open(p, "rt", encoding="utf-8-sig", newline="") as f:
        unlocated = sum(1 for r in csv.DictReader(f) if r["Longitude"] == "0")
    assert unlocated == 182
    assert stats["kept"] + stats["no_location"] + stats["span_over_72h"] == 3000
    assert (ev.report_time >= ev.event_time - 72 * H).mean() > 0.99
    assert set(np.unique(ev.category)) <= {0, 1, 2, 3}
