"""The import service and `import_spd` on real SPD files: the bundled 2021 extract and
the cuts of the full files under tests/fixtures/spd (see tests/data_files.py)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.cache import DATA, versions
from core.local_time import TZ_NAME
from crimes.models import ImportRun, Incident, RejectedRow
from crimes.services.importing import ImportFailed, analyze_incidents, import_file
from ml.spd_files import RowError, local_to_utc, parse_local_time
from tests.data_files import (
    NIBRS_SAMPLE,
    ROBBERY_EXPORT,
    SODA_WINDOW,
    SODA_WINDOW_CSV_ROWS,
    SPD_2021,
)
from tests.spd_rows import (
    PORTAL_HEADER,
    portal_row,
    slice_lines,
    write_lines,
)

pytestmark = pytest.mark.django_db
UTC = dt.UTC


@pytest.fixture
def robbery() -> Path:
    return ROBBERY_EXPORT


@pytest.fixture
def soda_window() -> Path:
    return SODA_WINDOW


@pytest.fixture
def full_gz() -> Path:
    """A gzip-compressed portal CSV cut unchanged from the 2012-2021 file."""
    return SPD_2021


def _counts(run: ImportRun) -> dict[str, int]:
    return {f: getattr(run, f) for f in ImportRun.COUNT_FIELDS}


def _csv_file(tmp_path: Path, rows: list[str], name: str = "crafted.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" + "\r\n".join([PORTAL_HEADER, *rows]) + "\r\n").encode())
    return path


def _snapshot() -> list[tuple]:
    return list(
        Incident.objects.order_by("offense_id").values_list(
            "offense_id", "report_number", "offense", "reported_at", "updated_at"
        )
    )


# --- Formats ------------------------------------------------------------------------
def test_portal_export_imports_every_row_with_exact_counts(robbery):
    run = import_file(robbery)
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert run.file_format == "portal_csv"
    with open(robbery, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    no_location = sum(1 for r in rows if r["Longitude"] == "0")
    assert no_location == 20
    assert _counts(run) == {
        "rows_read": 1200,
        "inserted": 1200,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "without_location": no_location,
    }
    assert Incident.objects.count() == 1200
    assert Incident.objects.filter(location__isnull=True).count() == no_location
    inc = Incident.objects.get(offense_id=12605567653)
    # 02/05/2020 09:39:33 AM Seattle (PST, UTC-8) -> 17:39:33 UTC.
    assert inc.reported_at == dt.datetime(2020, 2, 5, 17, 39, 33, tzinfo=UTC)
    assert inc.offense_start == dt.datetime(2020, 2, 3, 4, 30, tzinfo=UTC)
    assert inc.offense_end == dt.datetime(2020, 2, 3, 5, 30, tzinfo=UTC)
    assert (inc.report_number, inc.crime_against, inc.offense) == (
        "2020-044465",
        "PROPERTY",
        "Robbery",
    )
    assert (inc.precinct, inc.beat, inc.mcpp) == ("N", "U3", "ROOSEVELT/RAVENNA")
    assert inc.location.srid == 4326
    assert inc.location.coords == pytest.approx((-122.29955218, 47.66638407))
    assert inc.local_hour == 20  # generated column, Seattle clock
    assert inc.source == "command" and inc.import_run_id == run.pk
    # A blank end time is stored as NULL.
    blank_end = next(r for r in rows if not r["Offense End DateTime"])
    assert (
        Incident.objects.get(offense_id=int(blank_end["Offense ID"])).offense_end
        is None
    )


def test_reimport_changes_nothing(robbery):
    import_file(robbery)
    before = _snapshot()
    run = import_file(robbery)
    assert _counts(run) == {
        "rows_read": 1200,
        "inserted": 0,
        "updated": 0,
        "unchanged": 1200,
        "rejected": 0,
        "without_location": 20,
    }
    assert _snapshot() == before  # not even updated_at moved


def test_changed_row_is_updated(tmp_path, full_gz):
    lines = slice_lines(full_gz, 301)
    first = write_lines(tmp_path / "a.csv.gz", lines, gz=True)
    assert import_file(first).inserted == 300
    target = lines[10].decode().split(",")
    changed = lines[10].replace(target[8].encode(), b"Changed Offense Text")
    lines[10] = changed
    second = write_lines(tmp_path / "b.csv.gz", lines, gz=True)
    run = import_file(second)
    assert (run.inserted, run.updated, run.unchanged) == (0, 1, 299)
    inc = Incident.objects.get(offense_id=int(target[1]))
    assert inc.offense == "Changed Offense Text"
    assert inc.import_run_id == run.pk
    assert Incident.objects.exclude(import_run_id=run.pk).count() == 299


def test_full_gz_slice_and_plain_csv_agree(tmp_path, full_gz):
    lines = slice_lines(full_gz, 2001)
    run = import_file(write_lines(tmp_path / "s.csv.gz", lines, gz=True))
    assert (run.rows_read, run.inserted, run.rejected) == (2000, 2000, 0)
    again = import_file(write_lines(tmp_path / "s.csv", lines))
    assert again.unchanged == 2000 and again.inserted == again.updated == 0


def test_soda_json_window_in_full(soda_window):
    run = import_file(soda_window, source=ImportRun.Source.SODA)
    records = json.loads(soda_window.read_text())
    missing = sum(1 for r in records if r["longitude"] == "0.000000000")
    assert missing == 37
    assert run.status == "succeeded", run.error
    assert run.file_format == "soda_json"
    assert _counts(run) == {
        "rows_read": 475,
        "inserted": 475,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "without_location": missing,
    }
    first = records[0]  # no end time omitted here; a floating local timestamp
    inc = Incident.objects.get(offense_id=int(first["offense_id"]))
    assert inc.offense_start == dt.datetime(2019, 1, 1, 8, 0, tzinfo=UTC)
    assert inc.reported_at == dt.datetime(2019, 12, 2, 14, 42, 6, tzinfo=UTC)
    omitted = next(r for r in records if "offense_end_datetime" not in r)
    assert (
        Incident.objects.get(offense_id=int(omitted["offense_id"])).offense_end is None
    )
    assert import_file(soda_window).unchanged == 475


def test_soda_json_and_portal_csv_store_identical_rows(soda_window):
    """The same records from the two formats (different time spellings, "0" vs
    "0.000000000") come out identical: importing the CSV after the JSON changes
    nothing."""
    import_file(soda_window)
    records = json.loads(soda_window.read_text())
    with gzip.open(SODA_WINDOW_CSV_ROWS, "rt", encoding="utf-8-sig", newline="") as f:
        csv_ids = [row["Offense ID"] for row in csv.DictReader(f)]
    # Every record of the window that the 2012-2021 file holds (it ends with reports
    # of 2021), each once: real pairs, not a handful.
    in_csv = {r["offense_id"] for r in records if r["report_datetime"] < "2022"}
    assert len(csv_ids) == len(set(csv_ids)) == len(in_csv) == 471
    assert set(csv_ids) == in_csv
    run = import_file(SODA_WINDOW_CSV_ROWS)
    assert run.file_format == "portal_csv" and run.rows_read == 471
    assert (run.unchanged, run.inserted, run.updated, run.rejected) == (471, 0, 0, 0)


def test_nibrs_2025_csv(tmp_path):
    path = NIBRS_SAMPLE
    run = import_file(path)
    assert run.status == "succeeded", run.error
    assert run.file_format == "nibrs_csv"
    assert (run.rows_read, run.inserted, run.rejected, run.without_location) == (
        44,
        44,
        0,
        4,  # REDACTED and -1.0
    )
    inc = Incident.objects.get(offense_id=12605567653)
    # "2020 Feb 05 09:39:33 AM" Seattle -> 17:39:33 UTC
    assert inc.reported_at == dt.datetime(2020, 2, 5, 17, 39, 33, tzinfo=UTC)
    assert inc.precinct == "N"  # "North" mapped to the code the older data uses
    assert inc.mcpp == ""  # "-" placeholder
    assert inc.offense_end is None
    assert inc.location is not None
    # The same records in the portal export: identical except fields the 2025 schema
    # dropped or renamed, so re-importing the NIBRS file changes nothing.
    assert import_file(path).unchanged == 44


# --- Time ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("07/01/2021 08:30:00 AM", dt.datetime(2021, 7, 1, 15, 30, tzinfo=UTC)),
        ("01/15/2021 12:00:00 AM", dt.datetime(2021, 1, 15, 8, 0, tzinfo=UTC)),
        ("01/15/2021 12:00:00 PM", dt.datetime(2021, 1, 15, 20, 0, tzinfo=UTC)),
        ("2021-07-01T08:30:00.000", dt.datetime(2021, 7, 1, 15, 30, tzinfo=UTC)),
        ("2025 May 23 03:00:00 PM", dt.datetime(2025, 5, 23, 22, 0, tzinfo=UTC)),
        # Ambiguous (the repeated hour, 2021-11-07): read as PST, the later instant.
        ("11/07/2021 01:30:00 AM", dt.datetime(2021, 11, 7, 9, 30, tzinfo=UTC)),
        # Nonexistent (the skipped hour, 2021-03-14): read as PST too.
        ("03/14/2021 02:30:00 AM", dt.datetime(2021, 3, 14, 10, 30, tzinfo=UTC)),
        ("2021-03-14T03:30:00.000", dt.datetime(2021, 3, 14, 10, 30, tzinfo=UTC)),
    ],
)
def test_local_times_become_utc_deterministically(text, utc):
    assert dt.datetime.fromisoformat(parse_local_time(text)) == utc


def test_dst_rule_matches_postgresql():
    from django.db import connection

    for naive in ("2021-11-07 01:30:00", "2021-03-14 02:30:00"):
        with connection.cursor() as c:
            c.execute("SELECT (%s::timestamp AT TIME ZONE %s)", [naive, TZ_NAME])
            expected = c.fetchone()[0]
        assert local_to_utc(dt.datetime.fromisoformat(naive)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "02/30/2020 08:30:00 PM",
        "13/01/2020 08:30:00 PM",
        "02/02/2020 13:30:00 PM",
        "02/02/2020 08:61:00 PM",
        "2020-02-02",
        "yesterday",
        "05/28/2910 03:30:00 AM",
    ],
)
def test_bad_times_are_refused(text):
    with pytest.raises(RowError):
        parse_local_time(text)


# --- Rejections ---------------------------------------------------------------------
def test_every_bad_row_is_rejected_with_line_and_reason(tmp_path):
    good = portal_row()
    latin1 = portal_row(**{"Offense ID": "90000000011", "MCPP": "CAF\udce9"})
    rows = [
        good,  # line 2
        portal_row(
            **{"Offense ID": "90000000001", "Report DateTime": "02/30/2020 01:00:00 PM"}
        ),
        portal_row(**{"Offense ID": "90000000002", "Offense Start DateTime": "soon"}),
        portal_row(
            **{
                "Offense ID": "90000000003",
                "Offense End DateTime": "05/28/2910 03:30:00 AM",
            }
        ),
        portal_row(**{"Offense ID": ""}),
        portal_row(**{"Offense ID": "12x45"}),
        good + ",extra",
        portal_row(
            **{"Offense ID": "90000000004", "Longitude": "47.03", "Latitude": "89.99"}
        ),
        portal_row(**{"Offense ID": "90000000005", "Longitude": "east"}),
        latin1,  # line 11
        portal_row(**{"Offense ID": "90000000006", "Offense Code": "TOOLONGCODE"}),
        portal_row(**{"Offense ID": "90000000007", "Report DateTime": ""}),
        portal_row(**{"Offense ID": "90000000008", "Beat": "B\x001"}),
        portal_row(**{"Offense ID": "90000000009", "Longitude": "0", "Latitude": "0"}),
        portal_row(**{"Offense ID": "90000000010", "Report Number": ""}),
    ]
    path = tmp_path / "bad.csv"
    text = "\r\n".join([PORTAL_HEADER, *rows]) + "\r\n"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    run = import_file(path)
    assert run.status == "succeeded", run.error
    reasons = dict(run.rejects.values_list("line_number", "reason"))
    assert reasons == {
        3: "bad report time '02/30/2020 01:00:00 PM': no such date 2020-02-30",
        4: "bad offense start time 'soon': unreadable date",
        5: "bad offense end time '05/28/2910 03:30:00 AM': implausible year 2910",
        6: "missing offense id",
        7: "invalid offense id '12x45'",
        8: "wrong column count: expected 17, got 18",
        9: "coordinates far outside Seattle: 47.03, 89.99",
        10: "invalid coordinates 'east', '47.66638407'",
        11: "bad encoding: not UTF-8",
        12: "offense_code longer than 8 characters",
        13: "missing report time",
        14: "NUL character in row",
        16: "missing report number",
    }
    assert "\ufffd" in RejectedRow.objects.get(run=run, line_number=11).raw
    assert _counts(run) == {
        "rows_read": 15,
        "inserted": 2,  # the good row and the one without location
        "updated": 0,
        "unchanged": 0,
        "rejected": 13,
        "without_location": 1,
    }
    assert Incident.objects.get(offense_id=90000000009).location is None


def test_duplicate_offense_ids_last_line_wins(tmp_path):
    path = _csv_file(
        tmp_path,
        [
            portal_row(Offense="First"),
            portal_row(**{"Offense ID": "90000000001"}),
            portal_row(Offense="Second"),
            portal_row(Offense="Third"),
        ],
    )
    run = import_file(path)
    assert (run.rows_read, run.inserted, run.rejected) == (4, 2, 2)
    assert Incident.objects.get(offense_id=12605567653).offense == "Third"
    assert dict(run.rejects.values_list("line_number", "reason")) == {
        2: "duplicate offense id 12605567653: superseded by line 5",
        4: "duplicate offense id 12605567653: superseded by line 5",
    }


def test_json_records_rejected_individually(tmp_path, soda_window):
    records = json.loads(soda_window.read_text())[:3]
    bad = dict(records[1], report_datetime="2019-13-45T00:00:00.000")
    path = tmp_path / "soda.json"
    path.write_text(
        "[\n"
        + ",\n".join(json.dumps(r) for r in [records[0], bad, "x", records[2]])
        + "\n]"
    )
    run = import_file(path)
    assert (run.inserted, run.rejected) == (2, 2)
    reasons = dict(run.rejects.values_list("line_number", "reason"))
    assert reasons[3].startswith("bad report time '2019-13-45T00:00:00.000'")
    assert reasons[4] == "not a JSON object"


# --- Whole files that cannot be read ------------------------------------------------
def _broken_files(tmp_path: Path, robbery: Path, soda_window: Path) -> dict[str, Path]:
    good = robbery.read_bytes()[:200_000]
    soda = soda_window.read_bytes()
    files = {
        "named .gz, not gzip": (tmp_path / "plain.csv.gz", good),
        "truncated gzip": (tmp_path / "cut.csv.gz", gzip.compress(good)[:20_000]),
        "unknown header": (tmp_path / "other.csv", b"a,b,c\n1,2,3\n"),
        "binary junk": (tmp_path / "junk.csv", bytes(range(256)) * 40),
        "empty": (tmp_path / "empty.csv", b""),
        "not UTF-8 header": (tmp_path / "latin.csv", "Caf\xe9,x\n".encode("latin-1")),
        "JSON object": (tmp_path / "error.json", b'{"error": "throttled"}'),
        "JSON cut mid-array": (
            tmp_path / "cut.json",
            soda[: len(soda) // 2],
        ),
    }
    for path, data in files.values():
        path.write_bytes(data)
    return {name: path for name, (path, _) in files.items()}


def test_unreadable_files_leave_the_database_unchanged(tmp_path, robbery, soda_window):
    seed = write_lines(tmp_path / "seed.csv", slice_lines(robbery, 500))
    import_file(seed)
    before = _snapshot()
    rejects_before = RejectedRow.objects.count()
    version = versions(DATA)
    for name, path in _broken_files(tmp_path, robbery, soda_window).items():
        with pytest.raises(ImportFailed) as info:
            import_file(path)
        run = ImportRun.objects.order_by("-pk").first()
        assert run.status == "failed", name
        assert run.error == str(info.value) and run.error, name
        assert run.finished_at is not None
        assert _snapshot() == before, name
        assert RejectedRow.objects.count() == rejects_before, name
    assert versions(DATA) == version


def test_unknown_header_names_what_was_expected(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("when,where\n1,2\n")
    with pytest.raises(ImportFailed) as info:
        import_file(path)
    message = str(info.value)
    assert "unrecognised header 'when,where'" in message
    assert "Report Number,Offense ID,Offense Start DateTime" in message
    assert "Offense Date" in message and "SODA API JSON" in message


# --- Dry run, data version, progress, the command -----------------------------------
def test_dry_run_counts_but_writes_no_incident(robbery, tmp_path):
    seed = write_lines(tmp_path / "seed.csv", slice_lines(robbery, 101))
    import_file(seed)
    version = versions(DATA)
    before = _snapshot()
    run = import_file(robbery, dry_run=True)
    assert run.dry_run and run.status == "succeeded"
    assert (run.inserted, run.unchanged, run.updated) == (1100, 100, 0)
    assert _snapshot() == before
    assert versions(DATA) == version


def test_import_bumps_data_version_on_commit_and_reports_progress(
    robbery, django_capture_on_commit_callbacks
):
    (version,) = versions(DATA)
    seen: list[tuple[int, int]] = []
    with django_capture_on_commit_callbacks() as callbacks:
        run = import_file(
            robbery, progress=lambda done, total: seen.append((done, total))
        )
    # The data version that caches key on moves at once (this transaction reads its
    # own rows) ...
    (during,) = versions(DATA)
    assert during > version
    # ... and again after the commit, after fresh planner statistics.
    assert len(callbacks) == 2 and callbacks[0] == analyze_incidents
    callbacks[1]()
    assert versions(DATA) == (during + 1,)
    size = robbery.stat().st_size
    assert seen and seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert (run.bytes_done, run.bytes_total, run.progress) == (size, size, 1.0)


def test_import_spd_command_prints_summary(robbery, capsys):
    call_command("import_spd", str(robbery))
    out, err = capsys.readouterr()
    assert "inserted                       1200" in out
    assert "100.0%" in err  # the progress bar
    call_command("import_spd", str(robbery), "--dry-run")
    out, _ = capsys.readouterr()
    assert "unchanged                      1200" in out
    assert "yes (nothing written)" in out


def test_import_spd_command_fails_with_the_reason(tmp_path):
    path = tmp_path / "x.csv.gz"
    path.write_text("not gzip")
    with pytest.raises(CommandError, match="is named .gz but is not gzip-compressed"):
        call_command("import_spd", str(path))
