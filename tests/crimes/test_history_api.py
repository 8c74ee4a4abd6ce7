"""History API against real SPD rows (a slice of data/spd/spd_2021.csv.gz).

Expected numbers are computed here in plain Python from the same rows (pyproj for the
grid), never with the SQL under test.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.test import override_settings
from pyproj import Transformer
from rest_framework.throttling import AnonRateThrottle

from core.grid_sql import GRID_ORIGIN
from core.local_time import SEATTLE
from tests.spd_rows import (
    delete_imported,
    import_rows,
    incident_rows,
    load_spd,
    read_portal_rows,
)

TO_UTM = Transformer.from_crs(4326, 32610, always_xy=True)
START, END = dt.date(2021, 1, 1), dt.date(2021, 12, 31)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BASE = "start=2021-01-01&end=2021-12-31"


@pytest.fixture(scope="module")
def rows(django_db_setup, django_db_blocker):
    """Every 20th row reported in 2021: ~3,500 real incidents, imported once
    (committed) through the import service; the stored values, read back."""
    with django_db_blocker.unblock():
        delete_imported()
        data = incident_rows(load_spd(every=20))
    yield data
    with django_db_blocker.unblock():
        delete_imported()


@pytest.fixture
def api(client, rows, db):
    def get(path: str, query: str = BASE, **headers):
        return client.get(f"/api/v1/{path}?{query}", **headers)

    return get


def select(rows, start=START, end=END, **f) -> list[dict]:
    out = []
    for r in rows:
        if r["offense_start"] is None:
            continue
        local = r["offense_start"].astimezone(SEATTLE)
        if not start <= local.date() <= end:
            continue
        if "category" in f and r["crime_against"] not in f["category"]:
            continue
        if "group" in f and r["offense_parent_group"] not in f["group"]:
            continue
        if "code" in f and r["offense_code"] not in f["code"]:
            continue
        if "hours" in f and local.hour not in f["hours"]:
            continue
        if "dow" in f and local.weekday() not in f["dow"]:
            continue
        if "beat" in f and r["beat"] not in f["beat"]:
            continue
        if "mcpp" in f and r["mcpp"] not in f["mcpp"]:
            continue
        if "bbox" in f:
            x0, y0, x1, y1 = f["bbox"]
            if r["lon"] is None or not (x0 <= r["lon"] <= x1 and y0 <= r["lat"] <= y1):
                continue
        out.append(r)
    return out


def cell_of(r, size: int) -> int:
    x, y = TO_UTM.transform(r["lon"], r["lat"])
    x0, y0 = GRID_ORIGIN
    return math.floor((y - y0) / size) * 10000 + math.floor((x - x0) / size)


FILTER_CASES = [
    ("", {}),
    ("&category=person", {"category": {"PERSON"}}),
    ("&category=person,society", {"category": {"PERSON", "SOCIETY"}}),
    (
        "&group=ROBBERY&group=FAMILY+OFFENSES%2C+NONVIOLENT",
        {"group": {"ROBBERY", "FAMILY OFFENSES, NONVIOLENT"}},
    ),
    ("&offense_code=13B", {"code": {"13B"}}),
    ("&hour_from=8&hour_to=17", {"hours": set(range(8, 18))}),
    ("&hour_from=22&hour_to=3", {"hours": {22, 23, 0, 1, 2, 3}}),
    ("&dow=sat&dow=sun", {"dow": {5, 6}}),
    ("&beat=K3&beat=m2", {"beat": {"K3", "M2"}}),
    ("&mcpp=CAPITOL+HILL", {"mcpp": {"CAPITOL HILL"}}),
    (
        "&bbox=-122.36,47.59,-122.30,47.63",
        {"bbox": (-122.36, 47.59, -122.30, 47.63)},
    ),
    (
        "&category=property&dow=fri&hour_from=18&hour_to=23",
        {"category": {"PROPERTY"}, "dow": {4}, "hours": set(range(18, 24))},
    ),
]


@pytest.mark.parametrize("query,expect", FILTER_CASES)
def test_every_endpoint_agrees_with_python_counts(api, rows, query, expect):
    wanted = select(rows, **expect)
    assert wanted or query == "", "the slice must contain matching rows"
    q = BASE + query
    assert api("history/groups/", q).json()["total"] == len(wanted)
    assert api("incidents/", q + "&page_size=1").json()["count"] == len(wanted)
    assert api("history/timeseries/", q).json()["total"] == len(wanted)
    assert api("history/profile/", q).json()["total"] == len(wanted)
    grid = api("history/grid/", q + "&cell_size=1200").json()
    assert grid["total"] == len(wanted)
    assert grid["located"] == sum(1 for r in wanted if r["lon"] is not None)
    groups = Counter(r["offense_parent_group"] for r in wanted)
    got = {g["group"]: g["count"] for g in api("history/groups/", q).json()["groups"]}
    assert got == dict(groups)


@pytest.mark.parametrize("size", [150, 600])
def test_grid_cells_match_pyproj(api, rows, size):
    wanted = [r for r in select(rows, category={"PROPERTY"}) if r["lon"] is not None]
    expected = Counter(cell_of(r, size) for r in wanted)
    body = api("history/grid/", f"{BASE}&category=property&cell_size={size}").json()
    got = dict(zip(body["cells"], body["counts"], strict=True))
    # A point within centimetres of a cell edge may round either way between PROJ
    # in PostGIS and pyproj; allow a handful out of thousands.
    differing = sum(abs(got.get(c, 0) - expected.get(c, 0)) for c in expected | got)
    assert differing <= 4
    assert sum(got.values()) == len(wanted)
    assert body["max"] == max(got.values())
    assert len(body["lon"]) == len(body["cells"])
    assert all(-122.5 < lon < -122.2 for lon in body["lon"])


def test_a_point_west_of_the_grid_origin_counts_outside_the_grid(api, rows):
    from django.contrib.gis.geos import Point

    from crimes.models import Incident

    query = f"{BASE}&category=person&cell_size=600"
    before = api("history/grid/", query).json()
    when = dt.datetime(2021, 6, 1, 12, tzinfo=SEATTLE)
    Incident.objects.create(  # a typo'd longitude: west of the origin, no cell id
        offense_id=99_000_000_002,
        report_number="X-2",
        offense_start=when,
        reported_at=when,
        crime_against="PERSON",
        location=Point(-123.6, 47.6, srid=4326),
    )
    after = api("history/grid/", query).json()
    assert after["outside_grid"] == before["outside_grid"] + 1
    assert after["total"] == before["total"] + 1
    assert (after["cells"], after["counts"]) == (before["cells"], before["counts"])


def test_cell_filter_returns_the_cell_of_the_grid(api, rows):
    grid = api("history/grid/", BASE + "&cell_size=300").json()
    top = max(range(len(grid["cells"])), key=lambda i: grid["counts"][i])
    cell, count = grid["cells"][top], grid["counts"][top]
    q = f"{BASE}&cell={cell}&cell_size=300"
    assert api("incidents/", q).json()["count"] == count
    assert api("history/groups/", q).json()["total"] == count
    page = api("incidents/", q + "&page_size=5&page=2").json()
    assert page["page"] == 2 and len(page["features"]) == min(5, max(0, count - 5))


def test_timeseries_and_profile_buckets(api, rows):
    wanted = select(rows, category={"PERSON"})
    months = Counter(
        r["offense_start"].astimezone(SEATTLE).strftime("%Y-%m") for r in wanted
    )
    body = api("history/timeseries/", BASE + "&category=person&interval=month").json()
    assert len(body["buckets"]) == 12
    assert {b[:7]: c for b, c in zip(body["buckets"], body["counts"], strict=True)} == {
        f"2021-{m:02d}": months.get(f"2021-{m:02d}", 0) for m in range(1, 13)
    }
    days = api("history/timeseries/", BASE + "&interval=day").json()
    assert len(days["buckets"]) == 365
    matrix = [[0] * 24 for _ in range(7)]
    for r in wanted:
        local = r["offense_start"].astimezone(SEATTLE)
        matrix[local.weekday()][local.hour] += 1
    assert api("history/profile/", BASE + "&category=person").json()["matrix"] == matrix


def test_areas_count_by_record_beat(api, rows):
    wanted = select(rows)
    by_beat = Counter(r["beat"] for r in wanted)
    body = api("areas/", BASE + "&kind=beat").json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 55
    k3 = next(f for f in body["features"] if f["id"] == "K3")
    assert k3["properties"]["count"] == by_beat["K3"]
    assert k3["geometry"]["type"] == "MultiPolygon"
    assert body["total"] == len(wanted)
    lean = api("areas/", BASE + "&kind=mcpp&geometry=false").json()
    assert all(f["geometry"] is None for f in lean["features"])


def test_incidents_are_geojson_newest_first(api, rows):
    body = api("incidents/", BASE + "&page_size=500").json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 500
    starts = [f["properties"]["offense_start"] for f in body["features"]]
    assert starts == sorted(starts, reverse=True)
    feature = next(f for f in body["features"] if f["geometry"])
    assert feature["geometry"]["type"] == "Point"
    assert body["next"].startswith("http://") and "page=2" in body["next"]


def test_default_window_is_last_twelve_months(api, rows):
    body = api("history/timeseries/", "").json()
    assert body["end"] == "2021-12-31" and body["start"] == "2021-01-01"
    meta = api("meta/", "").json()
    assert meta["default_end"] == "2021-12-31"
    assert "reported incidents, not all crime" in meta["source"]["note"]
    # The known gap's days as every date is written: weekday and year.
    gap = meta["source"]["known_gaps"][0]
    assert gap.startswith("Wed 6 May 2020 to Tue 26 May 2020"), gap
    assert {c["value"] for c in meta["categories"]} >= {"person", "property"}


BAD = [
    ("history/grid/", "start=2021-02-30", "start"),
    ("history/grid/", "end=yesterday", "end"),
    ("history/grid/", "start=1800-01-01", "start"),
    ("history/grid/", "category=animals", "category"),
    ("history/grid/", "group=NOT+A+GROUP", "group"),
    ("history/grid/", "hour_from=24", "hour_from"),
    ("history/grid/", "hour_to=-1", "hour_to"),
    ("history/grid/", "hour_from=abc", "hour_from"),
    ("history/grid/", "dow=funday", "dow"),
    ("history/grid/", "dow=monday", "dow"),
    ("history/grid/", "dow=%2B3", "dow"),
    ("history/grid/", "beat=ZZ9", "beat"),
    ("history/grid/", "mcpp=ATLANTIS", "mcpp"),
    ("history/grid/", "bbox=1,2,3", "bbox"),
    ("history/grid/", "bbox=-1.224e2,47.6,-122.3,47.7", "bbox"),
    ("history/grid/", "bbox=-122.4,91,-122.3,47.7", "bbox"),
    ("history/grid/", "offense_code=null", "offense_code"),
    ("history/grid/", "bbox=nan,nan,nan,nan", "bbox"),
    ("history/grid/", "cell_size=500", "cell_size"),
    ("history/grid/", "cell=5", "cell"),
    ("history/grid/", "colour=red", "colour"),
    ("history/grid/", "format=xml", "format"),
    ("history/grid/", "start=2021-01-01&start=2021-02-01", "start"),
    ("incidents/", "cell=-4", "cell"),
    ("incidents/", "page=0", "page"),
    ("incidents/", "page=100000", "page"),
    ("incidents/", "page_size=501", "page_size"),
    ("history/timeseries/", "interval=fortnight", "interval"),
    ("areas/", "kind=precinct", "kind"),
    ("areas/", "geometry=maybe", "geometry"),
    ("areas/", "geometry=1", "geometry"),
    ("meta/", "x=1", "x"),
    ("export/incidents.csv", "dow=8", "dow"),
    ("history/profile/", "offense_code=" + "X" * 200, "offense_code"),
    ("history/groups/", "group=%00", "group"),
]


@pytest.mark.parametrize("path,query,param", BAD)
def test_bad_parameter_is_a_400_naming_it(api, path, query, param):
    response = api(path, query)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["parameter"] == param
    assert body["detail"].startswith(f"{param}:")


# Values the schema allows that a rule in its words refuses: a 422 naming the
# parameter (core.api_errors.UNPROCESSABLE; issue 16 item 7).
UNPROCESSABLE = [
    ("history/grid/", "start=2021-05-01&end=2021-04-01", "end"),
    (
        "history/timeseries/",
        "interval=hour&start=2012-01-01&end=2021-12-31",
        "interval",
    ),
    ("incidents/", "page=201", "page"),
    ("incidents/", "page=21&page_size=500", "page"),
]


@pytest.mark.parametrize("path,query,param", UNPROCESSABLE)
def test_a_rule_the_schema_states_in_words_is_a_422_naming_it(api, path, query, param):
    response = api(path, query)
    assert response.status_code == 422, response.content
    body = response.json()
    assert (body["status"], body["code"], body["parameter"]) == (
        422,
        "unprocessable",
        param,
    )
    assert body["detail"].startswith(f"{param}:")


def test_the_schema_lists_the_data_vocabulary(api, client):
    """group, beat and mcpp take the values the data holds (anything else is a 400
    "unknown value"): the schema served lists them, as meta/ does."""
    meta = api("meta/", "").json()
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    listed = schema["paths"]["/api/v1/history/grid/"]["get"]["parameters"]
    assert not any(key.startswith("x-") for p in listed for key in p)
    parameters = {p["name"]: p["schema"] for p in listed}
    groups = {g["value"] for g in meta["groups"]}
    assert set(parameters["group"]["items"]["enum"]) == groups
    assert set(parameters["beat"]["items"]["enum"]) == set(meta["beats"])
    assert set(parameters["mcpp"]["items"]["enum"]) == set(meta["mcpps"])
    assert "K1" in meta["beats"] and "ROBBERY" in groups


def test_bbox_corners_come_in_either_order(api):
    ordered = api("history/grid/", BASE + "&bbox=-122.4,47.6,-122.3,47.7")
    swapped = api("history/grid/", BASE + "&bbox=-122.3,47.7,-122.4,47.6")
    assert ordered.status_code == swapped.status_code == 200
    assert ordered.json()["total"] == swapped.json()["total"] > 0


def test_no_input_makes_a_500(api):
    rng = random.Random(3)
    junk = ["", "0", "-1", "1e309", "2021-01-01", "x" * 300, "%FF", "'; drop", "Ω", ","]
    names = ["start", "end", "category", "group", "hour_from", "dow", "bbox", "cell"]
    names += ["cell_size", "page", "page_size", "interval", "kind", "beat", "mcpp"]
    for _ in range(150):
        path = rng.choice(["history/grid/", "incidents/", "history/timeseries/"])
        query = "&".join(f"{rng.choice(names)}={rng.choice(junk)}" for _ in range(2))
        assert api(path, query).status_code in (200, 400, 422), (path, query)


def test_etag_and_last_modified_answer_304(api):
    first = api("history/grid/", BASE + "&cell_size=600")
    assert first.status_code == 200
    assert first["ETag"] and first["Last-Modified"]
    again = api(
        "history/grid/", BASE + "&cell_size=600", HTTP_IF_NONE_MATCH=first["ETag"]
    )
    assert again.status_code == 304
    since = api(
        "history/grid/",
        BASE + "&cell_size=600",
        HTTP_IF_MODIFIED_SINCE=first["Last-Modified"],
    )
    assert since.status_code == 304
    for path in ("incidents/", "history/profile/", "areas/", "export/incidents.csv"):
        assert api(path)["ETag"]
    assert api("meta/", "")["Last-Modified"]


def test_an_import_is_visible_at_once(api, rows):
    q = BASE + "&category=person&cell_size=1200"
    before = api("history/grid/", q)
    new = next(read_portal_rows(limit=1))
    new.update(
        {
            "Offense ID": "99000000001",
            "Crime Against Category": "PERSON",
            "Offense Start DateTime": "06/01/2021 12:00:00 PM",
            "Longitude": "-122.3331",
            "Latitude": "47.6097",
        }
    )
    # Without a change the cached answer stands (that is the point of the cache) ...
    assert api("history/grid/", q)["ETag"] == before["ETag"]
    import_rows([new])  # ... and an import bumps the data version at once.
    after = api("history/grid/", q, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after.json()["total"] == before.json()["total"] + 1
    assert after["ETag"] != before["ETag"]


def test_anonymous_requests_are_throttled(api, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    codes = [api("meta/", "").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def test_exports_have_the_right_rows_and_say_when_capped(api, rows):
    wanted = select(rows, group={"ROBBERY"})
    csv_response = api("export/incidents.csv", BASE + "&group=ROBBERY")
    lines = body_of(csv_response).decode().strip().splitlines()
    assert len(lines) == len(wanted) + 1
    assert csv_response["X-Export-Capped"] == "false"
    ids = {int(line.split(",")[0]) for line in lines[1:]}
    assert ids == {r["offense_id"] for r in wanted}
    with override_settings(HISTORY_EXPORT_MAX_ROWS=5):
        capped = api("export/incidents.geojson", BASE + "&group=ROBBERY")
        body = json.loads(body_of(capped))
        assert capped["X-Export-Capped"] == "true"
        assert body["capped"] is True and len(body["features"]) == 5
        assert body["total"] == len(wanted)
        assert "first-5" in capped["Content-Disposition"]


def test_schema_validates_and_lists_every_endpoint(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--file", str(out))
    text = out.read_text()
    for path in (
        "/api/v1/incidents/",
        "/api/v1/history/grid/",
        "/api/v1/history/timeseries/",
        "/api/v1/history/profile/",
        "/api/v1/areas/",
        "/api/v1/meta/",
        "/api/v1/export/incidents.csv",
    ):
        assert f"  {path}:" in text


def test_docs_ui_is_served_locally(client, db):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"cdn" not in response.content.lower()


def test_history_page_renders_filters_from_the_url(client, rows, db):
    response = client.get("/history/?start=2021-03-01&end=2021-03-31&category=person")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="2021-03-01"' in html and 'value="person" checked' in html
    assert "reported incidents, not all crime" in html
    bad = client.get("/history/?hour_from=99")
    assert bad.status_code == 400 and "hour_from" in bad.content.decode()
    assert client.get("/history/area/beat/K3/").status_code == 200
    assert client.get("/history/area/beat/NOPE/").status_code == 404
    assert client.get("/history/area/precinct/N/").status_code == 404
