"""The repository stands alone: what `make test`, `make demo` and set-up run reads no
path outside it (a fresh clone has no shared data folder beside it and no /work), and
every committed fixture is listed in its README with its current checksum and size.

benchmarks/ and scripts/bench.sh, which time the full SPD files, may name them by path.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from pathlib import Path

import pytest

from tests.data_files import REPO, SPD_FIXTURES

# What runs for `make test` / `make demo` / `make setup` and the CI entry point.
SCANNED = ("tests", "scripts", ".ci", "Makefile", "pyproject.toml")
EXEMPT = {
    "scripts/bench.sh",  # the benchmark runner: takes the full 2012-2021 file by path
    "tests/test_stand_alone.py",  # this file: its samples below must match
}
# Prose may say where data came from; data files are data.
SKIPPED_SUFFIXES = {".md", ".csv", ".json", ".gz", ".geojson", ".png", ".npz", ".pyc"}
SKIPPED_DIRS = {"__pycache__", "artifacts"}

OUTSIDE = [
    (re.compile(r"\.\./+shared\b"), "../shared"),
    (re.compile(r"\bshared/data\b"), "the shared data folder"),
    (re.compile(r"""["']shared["']"""), '"shared" as a path part'),
    (re.compile(r"\bSHARED_DATA\b"), "the SHARED_DATA folder"),
    (re.compile(r"\bshared_data\b"), "a fixture handing out the shared folder"),
    (re.compile(r"\bREPO\.parent\b"), "the folder above the repository"),
    (
        re.compile(r"(?<![\w.])/(?:work|home|root|mnt|srv|data|media)(?:/|\b)"),
        "an absolute path outside the repository",
    ),
]


def outside_paths(text: str) -> list[str]:
    """'line N: what (the line)' for each line of text that reaches outside."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for pattern, what in OUTSIDE:
            if pattern.search(line):
                found.append(f"line {number}: {what}: {line.strip()}")
    return found


def scanned_files() -> list[Path]:
    files = []
    for name in SCANNED:
        top = REPO / name
        candidates = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in candidates:
            relative = path.relative_to(REPO)
            if (
                path.is_file()
                and relative.as_posix() not in EXEMPT
                and not SKIPPED_DIRS & set(relative.parts)
                and not any(path.name.endswith(s) for s in SKIPPED_SUFFIXES)
            ):
                files.append(path)
    return files


def test_nothing_the_suite_demo_or_setup_runs_reads_outside_the_repository():
    files = scanned_files()
    names = {p.relative_to(REPO).as_posix() for p in files}
    # The scan really covers the suite and the scripts (a wrong root finds nothing).
    assert {
        "tests/conftest.py",
        "tests/data_files.py",
        "tests/fixtures/spd/cut_shared_files.py",
        "scripts/setup.sh",
        "scripts/demo.sh",
        "scripts/test.sh",
        ".ci/run",
        "Makefile",
    } <= names
    offenders = {
        name: found
        for path in files
        if (found := outside_paths(path.read_text(encoding="utf-8")))
        for name in [path.relative_to(REPO).as_posix()]
    }
    assert offenders == {}, "paths outside the repository (commit a fixture instead)"


@pytest.mark.parametrize(
    "line",
    [
        # What the suite read before its fixtures were committed.
        'SHARED_DATA = Path(os.environ.get("SHARED_DATA", REPO.parent / "shared"))',
        'REPO.parent / "shared" / "data"',
        'DATA = ROOT / "shared" / "data"',
        'REAL_CSV = "/work/shared/data/spd/spd_crime_2012_2021.csv.gz"',
        'SOURCE = HERE.parents[3] / "shared/data/spd/portal_export.csv"',
        'FULL_FILE="${SPD_FULL_FILE:-$REPO/../shared/data/spd/spd.csv.gz}"',
        "gzip -dc ../shared/spd.csv.gz",
        'CITY_LIMITS = "/work/shared/data/boundaries/city_limits.geojson"',
        'open("/home/someone/spd.csv")',
        "cp /data/spd.csv.gz data/spd/",
        "def robbery(shared_data) -> Path:",
    ],
)
def test_the_scan_catches_paths_outside(line):
    assert outside_paths(line)


@pytest.mark.parametrize(
    "line",
    [
        'SPD_2021 = REPO / "data" / "spd" / "spd_2021.csv.gz"',
        'executable_path="/usr/bin/chromium"',
        'client.get("/api/v1/history/grid?bbox=1,2,3,4")',
        "manage import_spd data/spd/spd_2021.csv.gz",
        "shared = page.url  # a shared link reopens the same selection",
        "@shared_task(bind=True)",
        'out.write("/tmp/x.csv")',
    ],
)
def test_the_scan_leaves_paths_inside_alone(line):
    assert outside_paths(line) == []


# --- The fixtures' README is their provenance: it must describe the files there ----
def _records(path: Path) -> int:
    if path.suffix == ".json":
        return len(json.loads(path.read_bytes()))
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))) - 1


def test_every_fixture_is_listed_with_its_rows_size_and_sha256():
    readme = (SPD_FIXTURES / "README.md").read_text(encoding="utf-8")
    table = {
        cells[0].strip("`"): cells[1:]
        for line in readme.splitlines()
        if line.startswith("| `")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    data_files = sorted(
        p for p in SPD_FIXTURES.iterdir() if p.suffix not in {".py", ".md"}
    )
    assert [p.name for p in data_files] == sorted(table)
    for path in data_files:
        rows, size, sha = table[path.name]
        assert int(rows.replace(",", "")) == _records(path), path.name
        assert int(size.replace(",", "")) == path.stat().st_size, path.name
        assert sha.strip("`") == hashlib.sha256(path.read_bytes()).hexdigest()
