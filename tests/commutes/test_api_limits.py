"""Issue 16: a commute costs the throttle what it costs the server, and routing runs
in a bounded number of threads per process (core.work_slots)."""

from __future__ import annotations

import json

import pytest

from commutes.api import views
from commutes.api.views import CACHED_ROUTE_TOKENS, DRAWN_TOKENS, ROUTED_TOKENS
from core.throttling import AnonWindowThrottle
from core.work_slots import Slots
from tests.commutes.test_scoring_db import CAPITOL_HILL_TO_UW, DRAWN_CAPITOL_HILL_TO_UW

pytestmark = pytest.mark.django_db
URL = "/api/v1/commutes/score/"


def post(client, body, **extra):
    return client.post(
        URL, data=json.dumps(body), content_type="application/json", **extra
    )


@pytest.fixture
def rate(monkeypatch):
    def set_rate(n: int) -> None:
        monkeypatch.setattr(
            AnonWindowThrottle,
            "THROTTLE_RATES",
            {"anon": f"{n}/minute", "export": "1000/minute"},
        )

    return set_rate


def test_a_routed_commute_costs_its_tokens(client, commute_data, rate):
    assert ROUTED_TOKENS > DRAWN_TOKENS > 1
    assert ROUTED_TOKENS > CACHED_ROUTE_TOKENS >= 1
    rate(ROUTED_TOKENS + CACHED_ROUTE_TOKENS + 2)
    routed = CAPITOL_HILL_TO_UW | {"mode": "bike"}
    assert post(client, routed).status_code == 200  # ROUTED_TOKENS spent
    assert post(client, routed).status_code == 200  # cached: CACHED_ROUTE_TOKENS
    other = {"start": CAPITOL_HILL_TO_UW["end"], "end": CAPITOL_HILL_TO_UW["start"]}
    refused = post(client, other | {"mode": "bike"})  # admitted for 1, not routed
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "throttled" and body["retry_after"] >= 1
    assert refused["Retry-After"] == str(body["retry_after"])
    # What is left is what a refused route did not take: one more cheap request.
    assert client.get("/api/v1/meta/").status_code == 200
    assert client.get("/api/v1/meta/").status_code == 429


def test_a_routed_answer_is_cached(client, commute_data, monkeypatch):
    routed = CAPITOL_HILL_TO_UW | {"mode": "bike"}
    first = post(client, routed).json()
    slots = Slots("routing", 1, 0, 0)
    monkeypatch.setattr(views, "ROUTING", slots)
    other_window = routed | {"window": {"start": "07:00", "end": "09:00"}}
    with slots.hold():  # no slot free: only a cached answer can be given
        again = post(client, routed)
        assert again.status_code == 200 and again.json() == first
        assert post(client, other_window).json()["code"] == "busy"  # not cached
    other = post(client, other_window)
    assert other.status_code == 200
    assert other.json()["departures"] != first["departures"]


def test_a_drawn_commute_and_a_bad_request_cost_less(client, commute_data, rate):
    rate(DRAWN_TOKENS + 2)
    drawn = DRAWN_CAPITOL_HILL_TO_UW | {"mode": "bike"}
    assert post(client, drawn).status_code == 200  # DRAWN_TOKENS
    # A request that is refused as invalid did no work: it costs 1.
    bad = post(client, CAPITOL_HILL_TO_UW | {"mode": "boat"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "mode"
    assert client.get("/api/v1/meta/").status_code == 200
    assert client.get("/api/v1/meta/").status_code == 429


def test_with_every_routing_slot_taken_routing_is_a_503_and_the_rest_is_served(
    client, commute_data, monkeypatch
):
    slots = Slots("routing", 1, 0, 0)
    monkeypatch.setattr(views, "ROUTING", slots)
    with slots.hold():  # another thread of this process is routing
        busy = post(client, CAPITOL_HILL_TO_UW | {"mode": "bike"})
        assert busy.status_code == 503
        body = busy.json()
        assert body["code"] == "busy" and body["parameter"] is None
        assert busy["Retry-After"] == str(body["retry_after"])
        # Scoring a drawn line and reads do not wait for routing.
        drawn = post(client, DRAWN_CAPITOL_HILL_TO_UW | {"mode": "bike"})
        assert drawn.status_code == 200
        assert client.get("/api/v1/meta/").status_code == 200
    assert post(client, CAPITOL_HILL_TO_UW | {"mode": "bike"}).status_code == 200
