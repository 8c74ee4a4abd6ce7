"""Exports: the rows PostgreSQL writes, formula cells escaped, streamed, cached per
data version and selection (a warm pull runs no SQL), gzip for those who take it."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.local_time import SEATTLE
from crimes.models import Incident

pytestmark = pytest.mark.django_db
CSV = "/api/v1/export/incidents.csv"
GEOJSON = "/api/v1/export/incidents.geojson"
YEAR = {"start": "2021-01-01", "end": "2021-12-31"}
FORMULAS = {
    "report_number": "=1+1",
    "offense": "@SUM(1+1)*cmd|' /C calc'!A0",
    "block_address": '=HYPERLINK("http://example.invalid","x")',
    "mcpp": "+CAPITOL HILL",
    "beat": "-K1",
    "sector": "\tK",
}


def incident(offense_id: int, when: dt.datetime, **fields) -> Incident:
    values = {
        "report_number": f"2021-{offense_id}",
        "crime_against": "PROPERTY",
        "offense_parent_group": "LARCENY-THEFT",
        "offense": "Theft From Building",
        "offense_code": "23D",
        "precinct": "W",
        "sector": "K",
        "beat": "K1",
        "mcpp": "DOWNTOWN COMMERCIAL",
        "block_address": "1XX BLOCK OF PIKE ST",
        "location": Point(-122.3401234567, 47.6091, srid=4326),
        **fields,
    }
    return Incident(
        offense_id=offense_id,
        offense_start=when,
        offense_end=None,
        reported_at=when + dt.timedelta(hours=2),
        **values,
    )


@pytest.fixture
def data(db):
    Incident.objects.all().delete()
    Incident.objects.bulk_create(
        [
            incident(1, dt.datetime(2021, 12, 31, 23, 45, tzinfo=SEATTLE)),
            incident(2, dt.datetime(2021, 7, 4, 12, 0, tzinfo=SEATTLE), location=None),
            incident(3, dt.datetime(2021, 3, 1, 8, 30, tzinfo=SEATTLE), **FORMULAS),
        ]
    )


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def test_csv_rows_are_the_incidents_newest_first(client, data):
    response = client.get(CSV, YEAR)
    assert response.status_code == 200 and response.streaming
    rows = list(csv.reader(io.StringIO(body(response).decode())))
    assert rows[0][:3] == ["offense_id", "report_number", "offense_start"]
    assert rows[0][-2:] == ["longitude", "latitude"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["offense_start"] == "2021-12-31T23:45:00-08:00"
    assert first["reported_at"] == "2022-01-01T01:45:00-08:00"
    assert first["offense_end"] == ""
    assert first["longitude"] == "-122.340123" and first["latitude"] == "47.6091"
    summer = dict(zip(rows[0], rows[2], strict=True))
    assert summer["offense_start"] == "2021-07-04T12:00:00-07:00"
    assert summer["longitude"] == summer["latitude"] == ""
    assert response["X-Total-Count"] == "3" and response["X-Export-Capped"] == "false"


def test_formula_cells_are_escaped_in_the_csv_only(client, data):
    rows = list(csv.reader(io.StringIO(body(client.get(CSV, YEAR)).decode())))
    escaped = dict(zip(rows[0], rows[3], strict=True))
    for name, value in FORMULAS.items():
        assert escaped[name] == "'" + value, name
    cells = [c for row in rows[1:] for c in row]
    assert not [c for c in cells if c and (c[0] in "=+@\t\r" or c.startswith("-K"))]
    # GeoJSON is data, not a spreadsheet: the values as they are.
    features = json.loads(body(client.get(GEOJSON, YEAR)))["features"]
    props = {f["id"]: f["properties"] for f in features}
    assert {k: props[3][k] for k in FORMULAS} == FORMULAS


def test_geojson_features_match_the_csv(client, data):
    collection = json.loads(body(client.get(GEOJSON, YEAR)))
    assert collection["type"] == "FeatureCollection"
    assert collection["total"] == 3 and collection["capped"] is False
    assert collection["filters"]["start"] == ["2021-01-01"]
    first, summer, _ = collection["features"]
    assert first["id"] == 1 and first["geometry"] == {
        "type": "Point",
        "coordinates": [-122.340123, 47.6091],
    }
    assert first["properties"]["offense_start"] == "2021-12-31T23:45:00-08:00"
    assert first["properties"]["offense_end"] is None
    assert summer["geometry"] is None


def test_a_second_pull_comes_from_the_cache_without_sql(client, data):
    first = body(client.get(CSV, YEAR))
    with CaptureQueriesContext(connection) as queries:
        again = client.get(CSV, YEAR)
        assert body(again) == first
    assert not [q for q in queries.captured_queries if "crimes_incident" in q["sql"]]
    assert again["X-Total-Count"] == "3"
    # Compressed for a client that takes gzip: the same bytes once unpacked.
    packed = client.get(CSV, YEAR, HTTP_ACCEPT_ENCODING="gzip, br")
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == first
    assert "Accept-Encoding" in packed["Vary"]


def test_another_selection_or_new_data_is_not_served_from_the_cache(client, data):
    before = body(client.get(CSV, YEAR))
    march = body(client.get(CSV, {"start": "2021-03-01", "end": "2021-03-31"}))
    assert march.count(b"\n") == 2  # header and incident 3
    Incident.objects.filter(offense_id=2).delete()
    after = body(client.get(CSV, YEAR))
    assert before.count(b"\n") == 4 and after.count(b"\n") == 3


def test_the_cap_holds_in_both_formats(client, data, settings):
    settings.HISTORY_EXPORT_MAX_ROWS = 2
    response = client.get(GEOJSON, YEAR)
    collection = json.loads(body(response))
    assert collection["capped"] is True and len(collection["features"]) == 2
    assert (
        response["X-Export-Rows"] == "2"
        and "first-2" in response["Content-Disposition"]
    )
    assert body(client.get(CSV, YEAR)).count(b"\n") == 3


def test_the_rejected_rows_csv_escapes_formulas(admin_client, tmp_path):
    from django.urls import reverse

    from crimes.services.importing import import_file
    from tests.data_files import ROBBERY_EXPORT
    from tests.spd_rows import slice_lines

    path = tmp_path / "bad.csv"
    path.write_bytes(b"".join(slice_lines(ROBBERY_EXPORT, 1)) + b'=1+2,"-3",+4\n')
    run = import_file(path)
    assert run.rejected == 1
    text = b"".join(
        admin_client.get(
            reverse("admin:crimes_importrun_rejects", args=[run.pk])
        ).streaming_content
    ).decode()
    raw = list(csv.reader(io.StringIO(text)))[1][2]
    assert raw.startswith("'=1+2")
