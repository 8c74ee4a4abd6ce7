"""Hostile input, the cases a schema fuzzer does not make: every one is a clear 4xx.

Unicode digits that ``str.isdigit`` accepts and ``int`` refuses (or accepts: "٣"),
times whose zone arithmetic overflows, JSON nested 1,000 deep, integers of hundreds
of digits, NUL bytes, 100 KB strings, bodies that are too large or not JSON. Each
API answer is in the one error format (core.api_errors) and names the parameter at
fault; the history pages answer 400 with the page and the message.
"""

from __future__ import annotations

import json
from datetime import datetime

import jsonschema
import pytest

from core.local_time import SEATTLE
from tests.predictions.conftest import ensure_grid, store_synthetic_week

pytestmark = pytest.mark.django_db

HISTORY_API = [
    "/api/v1/incidents/",
    "/api/v1/history/grid/",
    "/api/v1/history/timeseries/",
    "/api/v1/history/profile/",
    "/api/v1/history/groups/",
    "/api/v1/areas/",
    "/api/v1/export/incidents.csv",
    "/api/v1/export/incidents.geojson",
]
HISTORY_PAGES = ["/history/", "/history/area/beat/K1/"]
POINT = "/api/v1/forecasts/point/"
AT = {"lat": "47.61", "lon": "-122.33"}
SCORE = "/api/v1/commutes/score/"
ROUTE = {"start": [-122.3331, 47.6097], "end": [-122.3035, 47.6553], "mode": "bike"}
UNICODE_DIGITS = ["²", "٣", "３", "⑦", "໓"]


@pytest.fixture
def forecast(db):
    ensure_grid()
    store_synthetic_week(datetime(2021, 12, 6, tzinfo=SEATTLE), hours=24)


def assert_error(response, status: int, parameter: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["code"], str) and isinstance(body["detail"], str)
    assert body["parameter"] == parameter, body
    return body


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
@pytest.mark.parametrize("path", HISTORY_API)
def test_unicode_digits_in_dow_are_a_400_on_every_history_endpoint(client, path, digit):
    assert_error(client.get(path, {"dow": digit}), 400, "dow")


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
@pytest.mark.parametrize("path", HISTORY_PAGES)
def test_unicode_digits_on_the_history_pages_show_the_error(client, path, digit):
    response = client.get(path, {"dow": digit})
    assert response.status_code == 400
    assert b"dow: days mon..sun" in response.content


@pytest.mark.parametrize(
    "name", ["hour_from", "hour_to", "cell", "cell_size", "page", "page_size"]
)
@pytest.mark.parametrize(
    "value", ["²", "٣", "1_0", "+٣", "9" * 400, "1e3", "0x10", "\x00", "7\x00"]
)
def test_integers_are_plain_ascii_digits(client, name, value):
    assert_error(client.get("/api/v1/incidents/", {name: value}), 400, name)


@pytest.mark.parametrize("value", ["²", "٣", "-1", "0", "9" * 20, "1.5", "1\x00"])
def test_model_must_be_an_id_on_forecasts(client, forecast, value):
    assert_error(client.get("/api/v1/forecasts/", {"model": value}), 400, "model")
    assert_error(client.get(POINT, {**AT, "model": value}), 400, "model")


def test_an_unknown_model_id_is_a_404_not_a_database_error(client, forecast):
    body = assert_error(client.get("/api/v1/forecasts/", {"model": "2147483647"}), 404)
    assert body["code"] == "no_forecast"


@pytest.mark.parametrize(
    "start",
    [
        "9999-12-31T23:00",
        "0001-01-01T00:00",
        "0001-01-01T00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "1999-12-31T23:00",
        "2100-01-01T00:00",
        "２０２１-12-06T00:00",
    ],
)
def test_times_that_overflow_are_a_400(client, forecast, start):
    assert_error(client.get("/api/v1/forecasts/", {"start": start}), 400, "start")
    assert_error(client.get(POINT, {**AT, "start": start}), 400, "start")


@pytest.mark.parametrize(
    "hours", ["²", "٣", "9" * 400, "-1", "673", "1e2", "\x00", "１"]
)
def test_hours_are_bounded_plain_integers(client, forecast, hours):
    assert_error(client.get("/api/v1/forecasts/", {"hours": hours}), 400, "hours")


@pytest.mark.parametrize(
    "lat", ["1e400", "nan", "inf", "-inf", "4７.6", "47,6", "9" * 400, "\x00"]
)
def test_point_coordinates_are_finite_ascii_numbers(client, forecast, lat):
    response = client.get(POINT, {"lat": lat, "lon": "-122.33"})
    assert_error(response, 400, "lat")


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 100_000}, "q"),
        ({"q": "pine", "limit": "٣"}, "limit"),
    ],
)
def test_place_search_refuses_nul_and_huge_queries(client, params, name):
    assert_error(client.get("/api/v1/places/", params), 400, name)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"group": "\x00"}, "group"),
        ({"beat": "K1\x00"}, "beat"),
        ({"mcpp": "x" * 100_000}, "mcpp"),
        ({"bbox": "nan,47,-122,48"}, "bbox"),
        ({"bbox": "1e400,47,-122,48"}, "bbox"),
        ({"bbox": "-122.4,47.5,-122.3,٤٧"}, "bbox"),
        ({"start": "2021-13-01"}, "start"),
        ({"start": "0001-01-01"}, "start"),
        ({"x" * 100_000: "1"}, "x" * 100_000),
    ],
)
def test_history_refuses_nul_huge_and_odd_values(client, params, name):
    assert_error(client.get("/api/v1/history/grid/", params), 400, name)


def post_json(client, text: str | bytes, **extra):
    return client.post(SCORE, data=text, content_type="application/json", **extra)


def test_json_nested_a_thousand_deep_is_a_400(client):
    body = assert_error(post_json(client, "[" * 1000 + "]" * 1000), 400)
    assert body["code"] == "malformed_body" and "nested" in body["detail"]
    deep = json.dumps({**ROUTE, "window": json.loads("[" * 40 + "]" * 40)})
    assert_error(post_json(client, deep), 400)


@pytest.mark.parametrize("field", ["start", "end"])
def test_a_coordinate_of_400_digits_is_a_400(client, field):
    route = dict(ROUTE)
    route[field] = [int("9" * 400), 47.6]
    body = assert_error(post_json(client, json.dumps(route)), 400, field)
    assert "numbers" in body["detail"]


@pytest.mark.parametrize(
    ("route", "field"),
    [
        ({**ROUTE, "mode": "walk\x00"}, "mode"),
        ({**ROUTE, "category": "all\x00"}, "category"),
        ({**ROUTE, "mode": "w" * 40_000}, "mode"),
        ({**ROUTE, "window": {"start": "٠٧:٠٠"}}, "window"),
        ({**ROUTE, "window": {"days": [{}]}}, "window"),
        ({**ROUTE, "waypoints": [[None, None]]}, "waypoints"),
        ({**ROUTE, "mode": ["walk"]}, "mode"),
        ({**ROUTE, "category": {"a": 1}}, "category"),
    ],
)
def test_odd_body_fields_are_a_400_naming_them(client, route, field):
    assert_error(post_json(client, json.dumps(route)), 400, field)


@pytest.mark.parametrize(
    "text",
    [
        "{",
        '{"start": [NaN, 47.6], "end": [-122.30, 47.65]}',
        '{"start": [Infinity, 47.6], "end": [-122.30, 47.65]}',
        b"\xff\xfe\x00{",
        '{"start": [' + "9" * 5000 + ", 47.6]}",
        "null",
        '"a string"',
    ],
)
def test_bodies_that_are_not_a_json_object_are_a_400(client, text):
    assert_error(post_json(client, text), 400)


def test_a_body_over_the_limit_is_a_413_before_it_is_read(client, settings):
    big = json.dumps({**ROUTE, "mode": "w" * 100_000})
    body = assert_error(post_json(client, big), 413)
    assert str(settings.API_MAX_BODY_BYTES) in body["detail"]
    # The header alone decides: a claimed length over the limit is never read.
    claimed = post_json(client, json.dumps(ROUTE), CONTENT_LENGTH="50000000")
    assert_error(claimed, 413)


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/xml",
    ],
)
def test_api_bodies_are_json_only(client, content_type):
    response = client.post(SCORE, data=b"--x\r\n", content_type=content_type)
    body = assert_error(response, 415)
    assert body["code"] == "unsupported_media_type"


def test_errors_outside_views_share_the_format(client):
    body = assert_error(client.get("/api/v1/no-such-thing/"), 404)
    assert "/api/v1/no-such-thing/" in body["detail"]
    assert_error(client.delete("/api/v1/history/grid/"), 405)
    assert_error(client.put(SCORE, data="{}", content_type="application/json"), 405)


@pytest.mark.parametrize(
    "position",
    [
        ["-122.3331", "47.6097"],
        [-122.3331, "٤٧.٦"],
        ["-١٢٢.٣", 47.6097],
        [True, 47.6097],
        [-122.3331, None],
        [-122.3331, 47.6097, 0, 0],
    ],
)
@pytest.mark.parametrize("field", ["start", "end"])
def test_commute_positions_are_json_numbers_as_forecasts_read_them(
    client, field, position
):
    """One coordinate reader (core.params.coordinate): text in a JSON body is no
    number (float() took "47.6" and Arabic-Indic digits here, where forecasts/point
    refused them)."""
    response = post_json(client, json.dumps({**ROUTE, field: position}))
    body = assert_error(response, 400, field)
    assert "[longitude, latitude]" in body["detail"] or "not text" in body["detail"]


@pytest.mark.parametrize("lat", ["٤٧.٦", "47.6e", "true", "4 7.6"])
def test_point_and_bbox_read_coordinates_the_same_way(client, forecast, lat):
    assert_error(client.get(POINT, {"lat": lat, "lon": "-122.33"}), 400, "lat")
    bbox = f"-122.4,{lat},-122.3,47.7"
    assert_error(client.get("/api/v1/history/grid/", {"bbox": bbox}), 400, "bbox")
    places = {"q": "pine", "near": f"-122.33,{lat}"}
    assert_error(client.get("/api/v1/places/", places), 400, "near")


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("offset=null", "offset"),
        ("offset=-1", "offset"),
        ("limit=true", "limit"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=٣", "limit"),
    ],
)
def test_model_pages_are_bounded_plain_integers(client, query, parameter):
    # DRF's reader took anything it could not read as the default (issue 16 item 7).
    assert_error(client.get(f"/api/v1/models/?{query}"), 400, parameter)


def test_model_pages_read_an_empty_value_as_not_given(client):
    assert client.get("/api/v1/models/?limit=&offset=").status_code == 200


def test_the_schema_says_an_empty_filter_is_not_given(client, forecast):
    # The readers take "?start=" as "not given" (the history form sends empty
    # fields); the schema said such a request was invalid (issue 16 item 7).
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = ("/api/v1/forecasts/", "/api/v1/history/grid/", "/api/v1/models/")
    for path in (*paths, "/api/v1/incidents/", "/api/v1/areas/"):
        for parameter in schema["paths"][path]["get"]["parameters"]:
            assert parameter.get("allowEmptyValue") is True, (path, parameter)
            assert not any(key.startswith("x-") for key in parameter), parameter
    assert client.get("/api/v1/forecasts/?start=&hours=&model=").status_code == 200
    assert client.get("/api/v1/history/grid/?start=&end=&dow=&bbox=").status_code == 200
    assert client.get("/api/v1/incidents/?page=&page_size=").status_code == 200
    assert client.get("/api/v1/areas/?kind=&geometry=").status_code == 200


# --- the schema says what the readers take (issue 16 item 7) ------------------------


def _parameter_schema(client, path: str, name: str) -> dict:
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    (parameter,) = [
        p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name
    ]
    return parameter["schema"]


def _ecma(schema):
    """The schema with its patterns as ECMA-262 reads them: `$` is the end of the
    text (Python's also matches before a final newline)."""
    if isinstance(schema, dict):
        out = {key: _ecma(value) for key, value in schema.items()}
        if isinstance(out.get("pattern"), str) and out["pattern"].endswith("$"):
            out["pattern"] = out["pattern"][:-1] + r"\Z"
        return out
    if isinstance(schema, list):
        return [_ecma(value) for value in schema]
    return schema


def _valid(schema: dict, value) -> bool:
    """Whether the value is one the schema allows (its pattern is a search)."""
    return jsonschema.Draft4Validator(_ecma(schema)).is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        "pine & broadway",
        "café\u00a0crème",  # a no-break space: not printable to str.isprintable
        "👩\u200d🚒",  # an emoji sequence with a zero-width joiner
        "x" * 200,
        "a\x1fb",
        "a\x7fb",
        "a\x85b",  # C1 NEXT LINE
        "a\u2028b",  # LINE SEPARATOR
        "a\tb",
        "x" * 201,
    ],
)
def test_place_search_text_is_what_the_schema_says(client, value):
    """Text of at most 200 characters without control characters: the schema's
    pattern and maxLength are the reader's rule (core.params.is_text; it was
    str.isprintable(), which no pattern could state)."""
    valid = _valid(_parameter_schema(client, "/api/v1/places/", "q"), value)
    response = client.get("/api/v1/places/", {"q": value})
    assert valid == (response.status_code == 200), (value, response.content[:200])
    if not valid:
        assert_error(response, 400, "q")


@pytest.mark.parametrize(
    "value",
    [
        "-122.4,47.5,-122.3,47.7",
        "-122.3,47.7,-122.4,47.5",  # opposite corners, either order
        " -122.4 , 47.5 ,-122.3,47.7",
        "180,90,-180,-90",
        "+122.,-0,1,2",
        "-122.4,47.5,-122.3,47.7\n",
        "-122.4,\t47.5,-122.3,47.7",
        "-122.4,  47.5,-122.3,47.7",
        "-1.224e2,47.5,-122.3,47.7",
        "180.5,47.5,-122.3,47.7",
        "-122.4,90.01,-122.3,47.7",
        "-122.4,47.5,-122.3",
        "-122.4,٤٧,-122.3,47.7",
    ],
)
def test_bbox_is_what_the_schema_says(client, value):
    valid = _valid(_parameter_schema(client, "/api/v1/history/grid/", "bbox"), value)
    response = client.get("/api/v1/history/grid/", {"bbox": value})
    assert valid == (response.status_code == 200), (value, response.content[:200])
    if not valid:
        assert_error(response, 400, "bbox")


@pytest.mark.parametrize(
    "value",
    ["-122.33,47.61", " -122.33 , 47.61 ", "-122.33,\x0b47.61", "-122.33 ,47.61\r"],
)
def test_near_is_what_the_schema_says(client, value):
    valid = _valid(_parameter_schema(client, "/api/v1/places/", "near"), value)
    response = client.get("/api/v1/places/", {"q": "pine", "near": value})
    assert valid == (response.status_code == 200), (value, response.content[:200])


@pytest.mark.parametrize(
    "value",
    ["13A", "13a, 240", " 90J ,,23H", "", "null", "13AB", "ROBBERY", "13A\n", "1\x003"],
)
def test_offense_codes_are_what_the_schema_says(client, value):
    schema = _parameter_schema(client, "/api/v1/incidents/", "offense_code")
    valid = _valid(schema, [value])
    response = client.get("/api/v1/incidents/", {"offense_code": value})
    assert valid == (response.status_code == 200), (value, response.content[:200])


@pytest.mark.parametrize("name", ["group", "beat", "mcpp"])
def test_free_text_filters_refuse_control_characters_as_sent(client, name):
    # str.strip() took the separators \x1c-\x1f for whitespace and dropped them
    # before the printable test: the value as sent is what the schema describes.
    assert_error(client.get("/api/v1/history/grid/", {name: "\x1cK1"}), 400, name)
