"""One rule per fact: each fact is written in one module and everything else uses it.

Where SQL carries a fact (the placeholder-time rule, the grid's cell ids) the SQL is
generated from the Python rule, and these tests check the two agree on real SPD rows;
the ml/ file reader and the database give the same events because both go through
the one parser (ml.spd_files).
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.db import connection

from commutes.services import stretch_history
from core.grid_sql import cell_id_sql, col_row_sql, corner_sql
from core.local_time import TZ_NAME
from crimes.models import placeholder_sql
from crimes.services import history_queries
from crimes.services.filters import parse_filters
from crimes.services.summary import data_summary
from ml.events import MISSING, is_placeholder, load_spd_csv
from ml.grid import GRID_ORIGIN, cell_col_row, cell_id
from ml.spd_files import RowError, parse_local_time, utc_seconds
from predictions.services import payloads
from predictions.services.incident_events import load_events
from tests.data_files import SPD_2021
from tests.spd_rows import load_spd, read_portal_rows, write_portal_csv

REPO = Path(__file__).resolve().parent.parent
PLACEHOLDER_CLOCK = ("12:00:00 AM", "12:00:00 PM")


def _utc(text: str) -> int | None:
    try:
        return utc_seconds(parse_local_time(text))
    except RowError:
        return None  # the importer rejects the row: kept, it is counted too


def _selection() -> list[dict[str, str]]:
    """Real 2021 rows: every start at midnight or noon sharp whose end is blank, equal
    to or before the start (the cases the two rules used to disagree on), 500 with a
    later end, and every 40th other row."""
    rows, later, n = [], 0, 0
    for row in read_portal_rows(SPD_2021):
        start, end = row["Offense Start DateTime"], row["Offense End DateTime"]
        if start.endswith(PLACEHOLDER_CLOCK):
            s, e = _utc(start), _utc(end) if end else None
            if not end or s is None or e is None or e <= s:
                rows.append(row)
            elif later < 500:
                later += 1
                rows.append(row)
        else:
            n += 1
            if n % 40 == 0:
                rows.append(row)
    return rows


@pytest.fixture
def spd_file(tmp_path) -> Path:
    return write_portal_csv(tmp_path / "selection.csv", _selection())


@pytest.fixture
def imported(spd_file, db):
    return load_spd(spd_file)


def _column_arrays(sql: str) -> list[np.ndarray]:
    with connection.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    return [np.asarray(column) for column in zip(*rows, strict=True)]


def test_placeholder_sql_is_the_ml_rule_on_real_rows(imported):
    start, end, flagged = _column_arrays(
        "SELECT extract(epoch FROM offense_start)::bigint,"
        f" coalesce(extract(epoch FROM offense_end)::bigint, {MISSING}),"
        f" {placeholder_sql()} FROM crimes_incident WHERE offense_start IS NOT NULL"
    )
    expected = is_placeholder(start, end)
    assert np.array_equal(flagged.astype(bool), expected)
    assert expected.sum() > 1000 and (~expected).sum() > 1000
    # The rows the commute history once counted as precise:
    assert (expected & (end == start)).sum() > 100
    assert (expected & (end != MISSING) & (end < start)).sum() > 0
    # ... and the commute history uses the generated SQL.
    assert placeholder_sql() in stretch_history._SQL


@pytest.mark.parametrize("size", settings.HISTORY_CELL_SIZES)
def test_cell_id_sql_is_the_ml_formula_on_real_rows(imported, size):
    col, row = col_row_sql("x_utm", "y_utm", size)
    centre = corner_sql(col, row, size, offset=0.5)
    x, y, ids, cx, cy = _column_arrays(
        f"SELECT x_utm, y_utm, {cell_id_sql(size=size)}, {centre[0]}, {centre[1]}"
        " FROM crimes_incident WHERE x_utm IS NOT NULL"
    )
    ml_col, ml_row = cell_col_row(x, y, size)
    assert np.array_equal(ids.astype(np.int64), cell_id(ml_col, ml_row))
    assert np.allclose(cx.astype(float), GRID_ORIGIN[0] + (ml_col + 0.5) * size)
    assert np.allclose(cy.astype(float), GRID_ORIGIN[1] + (ml_row + 0.5) * size)


def test_history_grid_counts_the_ml_cells(imported):
    query = {"start": ["2021-01-01"], "end": ["2021-12-31"], "cell_size": ["300"]}
    filters = parse_filters(query, history_queries.history_state().vocabulary)
    answer = history_queries.grid(filters)
    x, y = _column_arrays(
        "SELECT x_utm, y_utm FROM crimes_incident WHERE x_utm IS NOT NULL"
        f" AND offense_start >= '{filters.start_dt.isoformat()}'"
        f" AND offense_start < '{filters.end_dt.isoformat()}'"
    )
    expected = Counter(cell_id(*cell_col_row(x, y, 300)).tolist())
    assert dict(zip(answer["cells"], answer["counts"], strict=True)) == expected
    assert answer["origin"] == list(GRID_ORIGIN)


def test_data_totals_are_one_query(imported):
    summary = data_summary()
    meta = history_queries.meta()
    assert summary.total == meta["total"] == imported.inserted
    assert summary.with_location == meta["with_location"]
    assert (summary.first_offense, summary.last_offense) == (
        meta["first_offense"],
        meta["last_offense"],
    )


def test_the_ml_reader_and_the_database_see_the_same_events(spd_file, imported):
    from_file, stats = load_spd_csv(spd_file)
    from_db = load_events(dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    assert stats["rejected"] == imported.rejected
    assert len(from_file) == len(from_db) > 3000

    def ordered(ev):
        order = np.lexsort(
            (np.round(ev.x, 2), ev.category, ev.report_time, ev.event_time)
        )
        return ev.select(order)

    a, b = ordered(from_file), ordered(from_db)
    for name in ("event_time", "report_time", "category", "imprecise"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.allclose(a.x, b.x, atol=1e-3) and np.allclose(a.y, b.y, atol=1e-3)


def test_the_forecast_page_is_served_the_q8_encoding(client, db):
    # The page's script reads it from its config (json_script "forecast-config").
    assert client.get("/forecast/").context["config"]["q8"] == payloads.Q8


def test_every_page_is_served_the_time_zone(client, db):
    page = client.get("/").content.decode()
    config = re.search(
        r'<script id="site-config" type="application/json">(.*?)</script>', page
    )
    assert json.loads(config.group(1))["timeZone"] == TZ_NAME


@pytest.mark.parametrize(
    ("literal", "home"),
    [
        ("America/Los_Angeles", "ml/timeutil.py"),  # Seattle's time zone
        ("540000", "ml/grid.py"),  # the grid's origin
        ("5255000", "ml/grid.py"),
    ],
)
def test_a_fact_is_written_in_one_module(literal, home):
    code = (
        "core",
        "crimes",
        "predictions",
        "commutes",
        "places",
        "ml",
        "crimepredict_site",
    )
    places = [
        path.relative_to(REPO).as_posix()
        for top in (*code, "static/js", "templates")
        for path in (REPO / top).rglob("*")
        if path.suffix in {".py", ".js", ".html"} and literal in path.read_text()
    ]
    assert places == [home]


def _files_matching(pattern: str, tops: tuple[str, ...]) -> list[str]:
    """Code files (py, js, html; migrations aside) under ``tops`` where ``pattern``
    (a regular expression) matches, each with its number of matches."""
    found = []
    for top in tops:
        for path in sorted((REPO / top).rglob("*")):
            if path.suffix not in {".py", ".js", ".html"} or "migrations" in path.parts:
                continue
            hits = len(re.findall(pattern, path.read_text(), flags=re.MULTILINE))
            if hits:
                found.append(f"{path.relative_to(REPO).as_posix()} x{hits}")
    return found


APPS = ("core", "crimes", "predictions", "streets", "places", "commutes", "alerts")
PAGES = ("static/js", "templates")


@pytest.mark.parametrize(
    ("pattern", "tops", "homes"),
    [
        # The corridor's half width: commutes.services.corridor.CORRIDOR_HALF_WIDTH_M.
        # Street routes took their cells from one constant and the stretch history
        # from another; the note, the API's description and the page wrote "100 m".
        (r"^\w*(RADIUS|HALF_WIDTH)\w*_M = ", ("streets", "commutes"), ["corridor.py"]),
        (r"\b100 ?m\b", (*APPS, *PAGES, "osm"), []),
        # The forecast categories: predictions.models.Category (the commute API and
        # its schema each had their own tuple).
        (r"""["']person["'],\s*["']property["']""", (*APPS, *PAGES), []),
        # How big a road is: osm.highways.class_rank (the junction names and the
        # stretch names once each ranked with their own CLASS_RANK.get(..., 9)).
        (r"CLASS_RANK\.get\(", (*APPS, "osm"), ["highways.py"]),
        # Which streets meet at a vertex, biggest first: osm.junctions.
        (r"names\[label\] = min\(", (*APPS, "osm"), ["junctions.py"]),
        # What a forecast answer varies on: predictions.api.views.FORECAST_VARY (its
        # fast path, its 200 and its 304 each wrote the list).
        (r"""["']Accept["'],\s*["']Accept-Encoding["']""", APPS, ["views.py"]),
    ],
)
def test_a_rule_is_written_in_one_module(pattern, tops, homes):
    found = _files_matching(pattern, tops)
    assert [f.rsplit("/", 1)[-1] for f in found] == [f"{h} x1" for h in homes], found


def test_the_commute_api_takes_the_forecast_categories(client, db):
    from predictions.models import Category

    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]

    def enum(node: dict) -> list | None:  # through $ref and allOf
        if "$ref" in node:
            return enum(components[node["$ref"].rsplit("/", 1)[1]])
        if "enum" in node:
            return node["enum"]
        return next(filter(None, map(enum, node.get("allOf", []))), None)

    assert enum(components["ScoreRequest"]["properties"]["category"]) == Category.values
    refused = client.post(
        "/api/v1/commutes/score/",
        {"start": [-122.3208, 47.6154], "end": [-122.313, 47.6612], "category": "x"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["detail"].endswith(", ".join(Category.values))


def _speeds_written(tree: ast.AST) -> list[str]:
    """Walking or cycling speeds written as numbers: a dict entry "walk"/"bike": n,
    or a name about walking or cycling speed or pace bound to a number."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value in ("walk", "bike")
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, int | float)
                ):
                    found.append(f"{key.value}: {value.value}")
        elif isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(
            node.value, ast.Constant
        ):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                name = getattr(target, "id", "").upper()
                if re.search(r"WALK|BIKE|CYCL|FOOT", name) and re.search(
                    r"KMH|SPEED|PACE|MPS", name
                ):
                    found.append(f"{name} = {node.value.value}")
    return found


def test_walking_and_cycling_speeds_are_written_once():
    # They were written in commutes/services/routes.py as well as osm/ (issue 21).
    code = (*APPS, "osm", "ml", "crimepredict_site")
    places = {
        path.relative_to(REPO).as_posix(): found
        for top in code
        for path in (REPO / top).rglob("*.py")
        if (found := _speeds_written(ast.parse(path.read_text())))
    }
    assert places == {"osm/highways.py": ["WALK_KMH = 5.0", "BIKE_KMH = 15.0"]}
