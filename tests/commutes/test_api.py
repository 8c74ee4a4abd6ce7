"""POST /api/v1/commutes/score/: answers and every 400."""

from __future__ import annotations

import json

import pytest

from tests.commutes.test_scoring_db import (
    BUSY,
    CAPITOL_HILL_TO_UW,
    DRAWN_CAPITOL_HILL_TO_UW,
)
from tests.redis_commands import record_redis_commands

pytestmark = pytest.mark.django_db
URL = "/api/v1/commutes/score/"


def post(client, body, raw=False):
    data = body if raw else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json")


def test_score_answers_the_commute(client, commute_data):
    body = CAPITOL_HILL_TO_UW | {
        "mode": "bike",
        "window": {"start": "07:00", "end": "10:00", "days": "weekdays"},
    }
    response = post(client, body)
    assert response.status_code == 200, response.content
    data = response.json()
    assert len(data["timeline"]) == 168
    assert data["route"]["properties"]["mode"] == "bike"
    assert data["route"]["properties"]["along"] == "streets"
    # Along the streets (Broadway, 10th Ave E, the University Bridge): longer than
    # the 5.1 km straight line.
    assert 5200 < data["route"]["properties"]["length_m"] < 6500
    assert len(data["departures"]["best"]) == 3
    assert data["segments"]["type"] == "FeatureCollection"
    assert data["segments"]["features"][0]["geometry"]["type"] == "LineString"
    assert data["riskiest_segment"]["recent_history"]["total"] > 0
    assert " between " in data["riskiest_segment"]["name"]
    assert "reported" in data["note"]
    assert data["depart"]["chosen"] == "best_in_window"
    assert data["depart"]["departure"] == data["departures"]["best"][0]["departure"]
    routes = data["routes"]
    assert 1 <= len(routes) <= 3
    assert routes[0]["kind"] == "shortest"
    assert all(r["kind"] == "alternative" for r in routes[1:])
    for r in routes:
        assert r["geometry"]["type"] == "LineString"
        assert len(r["timeline"]) == 168
        assert r["streets"] and r["length_m"] > 0 and r["duration_min"] > 0
        assert set(r["vs_shortest"]) == {"time", "expected"}
        assert r["departures"]["window"]["days"] == ["mon", "tue", "wed", "thu", "fri"]
    assert routes[0]["geometry"] == data["route"]["geometry"]
    assert routes[0]["timeline"] == data["timeline"]
    assert "Broadway" in routes[0]["streets"]
    assert routes[0]["vs_shortest"] == {"time": 1.0, "expected": 1.0}
    assert [s["field"] for s in data["snapped"]] == ["start", "end"]
    assert all(s["distance_m"] <= 300 for s in data["snapped"])


def test_a_drawn_route_is_scored_as_drawn(client, commute_data):
    """Clients that send their own polyline keep getting it scored, not routed."""
    body = DRAWN_CAPITOL_HILL_TO_UW | {"mode": "bike"}
    data = post(client, body).json()
    coords = body["route"]["coordinates"]
    assert data["route"]["geometry"]["coordinates"] == coords
    assert data["route"]["properties"]["along"] == "drawn"
    assert 4500 < data["route"]["properties"]["length_m"] < 5500
    assert [r["kind"] for r in data["routes"]] == ["as_drawn"]
    assert data["snapped"] is None
    # The same polyline as start, waypoints and end is routed instead.
    routed = post(
        client,
        {"start": coords[0], "waypoints": coords[1:-1], "end": coords[-1]}
        | {"mode": "bike"},
    ).json()
    assert routed["route"]["properties"]["along"] == "streets"
    assert routed["route"]["geometry"] != data["route"]["geometry"]


def test_transit_is_a_400_until_there_is_transit_data(client, commute_data):
    response = post(client, CAPITOL_HILL_TO_UW | {"mode": "transit"})
    assert response.status_code == 400
    error = response.json()
    assert error["parameter"] == "mode"
    assert "no transit data" in error["detail"]
    # Neither offered on the page nor in the schema's choices.
    assert 'value="transit"' not in client.get("/commute/").content.decode()
    schema = client.get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    mode = components["ScoreRequest"]["properties"]["mode"]
    assert mode["enum"] == ["walk", "bike", "drive"]
    assert "transit is not offered" in mode["description"]


def test_depart_sets_the_departure_of_every_route(client, commute_data):
    body = CAPITOL_HILL_TO_UW | {"mode": "walk", "depart": "2021-12-21T17:00"}
    data = post(client, body).json()
    assert data["depart"] == {
        "departure": "2021-12-21T17:00:00-08:00",
        "chosen": "given",
    }
    hour = next(
        r for r in data["timeline"] if r["departure"] == "2021-12-21T17:00:00-08:00"
    )
    for route in data["routes"]:
        row = next(
            r
            for r in route["timeline"]
            if r["departure"] == data["depart"]["departure"]
        )
        assert route["expected"] == row["expected"]
    assert data["routes"][0]["expected"] == hour["expected"]
    # An offset is honoured; minutes are allowed (the trip integral is exact).
    data = post(
        client, CAPITOL_HILL_TO_UW | {"depart": "2021-12-21T17:30:00-08:00"}
    ).json()
    assert data["depart"]["departure"] == "2021-12-21T17:30:00-08:00"


LONG_ZIGZAG = [[-122.34, 47.60], [-122.30, 47.70]] * 5  # ~11.5 km each way, 10 legs
# The refusals the schema cannot state in its keywords (a 422; the rest are 400s).
IN_WORDS = (
    "outside Seattle",
    "at most 40 km",
    "contradicts",
    "before its start",
    "no departure on the hour",
    "300 m",
    "waypoint 1",
    "forecast week",
    "same point of the street network",
    "zero length",
    "lon first",
)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {
                "route": {
                    "type": "LineString",
                    "coordinates": [[-122.33, 47.61], [-122.20, 47.61]],
                }
            },
            "route",
            "outside Seattle",
        ),
        (
            {"route": {"type": "LineString", "coordinates": LONG_ZIGZAG}},
            "route",
            "at most 40 km",
        ),
        (
            {
                "route": {
                    "type": "LineString",
                    "coordinates": [[-122.33 + i * 1e-5, 47.61] for i in range(201)],
                }
            },
            "route",
            "at most 200",
        ),
        (
            {
                "start": [-122.33, 47.61],
                "end": [-122.32, 47.62],
                "waypoints": [[-122.33, 47.615]] * 199,
            },
            "waypoints",
            "at most 200",
        ),
        (
            {
                "route": {"type": "LineString", "coordinates": BUSY},
                "start": [-122.30, 47.65],
            },
            "start",
            "contradicts",
        ),
        (
            {
                "route": {"type": "LineString", "coordinates": BUSY},
                "end": [-122.30, 47.65],
            },
            "end",
            "contradicts",
        ),
        (
            {
                "route": {"type": "LineString", "coordinates": BUSY},
                "waypoints": [[-122.33, 47.61]],
            },
            "waypoints",
            "not with a LineString",
        ),
        (
            {"start": [-122.33, 47.61], "end": [-122.32, 47.62], "mode": "jetpack"},
            "mode",
            "unknown mode",
        ),
        (
            {
                "start": [-122.33, 47.61],
                "end": [-122.32, 47.62],
                "window": {"start": "10:00", "end": "07:00"},
            },
            "window",
            "before its start",
        ),
        (
            {
                "start": [-122.33, 47.61],
                "end": [-122.32, 47.62],
                "window": {"start": "7am"},
            },
            "window",
            "HH:MM",
        ),
        (
            {
                "start": [-122.33, 47.61],
                "end": [-122.32, 47.62],
                "window": {"days": ["funday"]},
            },
            "window",
            "mon, tue",
        ),
        (
            {
                "start": [-122.33, 47.61],
                "end": [-122.32, 47.62],
                "window": {"start": "07:10", "end": "07:50"},
            },
            "window",
            "no departure on the hour",
        ),
        ({"start": [-122.33, 47.61]}, "route", "both start and end"),
        (
            {"start": [-122.33, 47.61], "end": [-122.20, 47.61]},
            "end",
            "outside Seattle",
        ),
        # The middle of Lake Union: water is outside the city limits.
        (
            {"start": [-122.33, 47.61], "end": [-122.3360, 47.6370]},
            "end",
            "outside Seattle",
        ),
        # Inside Seward Park, 600 m from any street.
        ({"start": [-122.33, 47.61], "end": [-122.2530, 47.5580]}, "end", "300 m"),
        (
            {
                "start": [-122.33, 47.61],
                "waypoints": [[-122.2530, 47.5580]],
                "end": [-122.32, 47.62],
            },
            "waypoints",
            "waypoint 1",
        ),
        (
            {"start": [-122.33, 47.61], "end": [-122.32, 47.62], "depart": "soon"},
            "depart",
            "ISO date-time",
        ),
        (
            {
                "start": [-122.33, 47.61],
                "end": [-122.32, 47.62],
                "depart": "2022-03-01T08:00",
            },
            "depart",
            "forecast week",
        ),
        (
            {"start": [-122.33, 47.61], "end": [-122.32, 47.62], "depart": 8},
            "depart",
            "ISO date-time",
        ),
        (
            {
                "start": [-122.33, 47.61],
                "waypoints": [[-122.33 + i * 1e-4, 47.615] for i in range(26)],
                "end": [-122.32, 47.62],
            },
            "waypoints",
            "at most 25 along the streets",
        ),
        # Two points on either side of Broadway's centre line: the same street point.
        (
            {"start": [-122.32090, 47.6154], "end": [-122.32076, 47.6154]},
            "end",
            "same point of the street network",
        ),
        # Rainier Beach to Bitter Lake and back twice: over 40 km along the streets.
        (
            {
                "start": [-122.2650, 47.5130],
                "waypoints": [[-122.3480, 47.7230], [-122.2650, 47.5130]],
                "end": [-122.3480, 47.7230],
                "mode": "drive",
            },
            "route",
            "at most 40 km",
        ),
        ({"start": [-122.33, 47.61], "end": [-122.33, 47.61]}, "route", "zero length"),
        ({"start": [47.61, -122.33], "end": [47.62, -122.32]}, "start", "lon first"),
        ({"start": ["a", "b"], "end": [-122.32, 47.62]}, "start", "numbers"),
        (
            {"route": {"type": "Point", "coordinates": [-122.3, 47.6]}},
            "route",
            "LineString",
        ),
        (
            {"route": {"type": "LineString", "coordinates": [[-122.3, 47.6]]}},
            "route",
            "at least two",
        ),
        (
            {"route": {"type": "LineString", "coordinates": [[[1, 2]], [3]]}},
            "route",
            "[longitude, latitude]",
        ),
        (
            {"start": [-122.33, 47.61], "end": [-122.32, 47.62], "category": "cats"},
            "category",
            "category must be",
        ),
        (
            {"start": [-122.33, 47.61], "end": [-122.32, 47.62], "mode": ["bike"]},
            "mode",
            "unknown mode",
        ),
        (
            {
                "start": [-122.33, 47.61],
                "end": [-122.32, 47.62],
                "window": {"days": {"mon": 1}},
            },
            "window",
            "window.days",
        ),
        ({"route": "LINESTRING(0 0, 1 1)"}, "route", "GeoJSON LineString"),
        (
            {"start": [-122.33, 47.61], "end": [-122.32, 47.62], "waypoints": "x"},
            "waypoints",
            "list",
        ),
        # Read as "no waypoints" before (`or []`); the schema says a list or null.
        (
            {"start": [-122.33, 47.61], "end": [-122.32, 47.62], "waypoints": 0},
            "waypoints",
            "list",
        ),
        # An altitude is a number too (it was not read at all).
        (
            {"start": [-122.33, 47.61, "x"], "end": [-122.32, 47.62]},
            "start",
            "numbers",
        ),
        ({}, "route", "both start and end"),
    ],
)
def test_each_bad_request_names_the_problem(client, commute_data, body, field, words):
    """A 400 for what the request body's schema refuses (commutes.api.schema); a 422
    for values it allows that a rule in its words refuses (issue 16 item 7)."""
    response = post(client, body)
    status = 422 if words in IN_WORDS else 400
    assert response.status_code == status, response.content
    data = response.json()
    assert data["status"] == status and data["parameter"] == field, data
    assert words in data["detail"], data
    if status == 422:
        assert data["code"] in ("unprocessable", "outside_seattle"), data
        assert (data["code"] == "outside_seattle") == ("outside Seattle" in words)


def test_malformed_json_and_non_objects_are_400(client, commute_data):
    assert post(client, "{not json", raw=True).status_code == 400
    no_body = client.post(URL, content_type="application/json")
    assert no_body.status_code == 400 and no_body.json()["parameter"] == "route"
    response = post(client, [1, 2])
    assert response.status_code == 400
    assert "JSON object" in response.json()["detail"]
    assert response.json()["code"] == "malformed_body"


def test_no_forecast_is_503_not_500(client, commute_data):
    from predictions.models import ModelVersion

    ModelVersion.objects.update(is_active=False)
    response = post(client, {"start": [-122.33, 47.61], "end": [-122.32, 47.62]})
    assert response.status_code == 503 and "Retry-After" in response
    assert "no forecast" in response.json()["detail"]
    assert response.json()["code"] == "no_forecast"


def test_openapi_schema_documents_both_endpoints(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/commutes/score/" in text
    assert "/api/v1/places/" in text
    doc = json.loads(text)
    parts = doc["components"]["schemas"]
    assert "depart" in parts["ScoreRequest"]["properties"]
    # start and end, or route: the schema says so, and that a body is required
    # (a body `{}` or none matched it; issue 16 item 7).
    body = doc["paths"]["/api/v1/commutes/score/"]["post"]["requestBody"]
    assert body["required"] is True
    choices = parts["ScoreRequest"]["oneOf"]
    assert [c["required"] for c in choices] == [["route"], ["start", "end"]]
    assert {"routes", "depart", "snapped"} <= set(parts["ScoreResponse"]["properties"])
    route = parts["Route"]["properties"]
    assert {
        "kind",
        "geometry",
        "length_m",
        "duration_min",
        "expected",
        "vs_shortest",
        "streets",
        "timeline",
    } <= set(route)
    assert set(parts["VsShortest"]["properties"]) == {"time", "expected"}


def test_a_new_routed_commute_reads_the_cache_versions_once(
    client, commute_data, monkeypatch
):
    # Every cache a commute reads (the city limits, the forecast, its city mean,
    # the model's error, the answer, the stretch's history) keys on one reading of
    # the versions (core.cache.pinned): under load each round trip to Redis waits
    # for Redis to be scheduled. It took 11 a new commute before.
    body = CAPITOL_HILL_TO_UW | {"mode": "walk"}
    post(client, body)  # anything the process loads once
    sent = record_redis_commands(monkeypatch)
    lon, lat = body["start"]
    new = body | {"start": [lon + 0.0012, lat - 0.0008]}  # snaps elsewhere: not cached
    response = post(client, new)
    assert response.status_code == 200, response.content
    # The throttle's admission and charge and the versions (scripts); the answer's
    # lookup and store, and each route's stretch history's (plain GET and SET).
    routes = len(response.json()["routes"])
    assert sent.count("EVALSHA") == 3, sent
    assert 1 <= sent.count("GET") <= 1 + routes, sent
    assert 1 <= sent.count("SET") <= 1 + routes, sent  # the new answer, stored
    assert len(sent) == sent.count("EVALSHA") + sent.count("GET") + sent.count("SET")
