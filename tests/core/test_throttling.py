"""The anonymous throttle on the real Redis: who a client is, one bucket for the whole
API, exact under concurrency, a sliding window, and open when Redis is gone."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from core import cache, redis_guard
from core.throttling import AnonWindowThrottle, ExportThrottle, client_address

pytestmark = pytest.mark.django_db
ROUTE = {"start": [-122.3331, 47.6097], "end": [-122.3035, 47.6553]}


@pytest.fixture
def rates(monkeypatch):
    def set_rates(anon: str, export: str = "1000/minute") -> None:
        monkeypatch.setattr(
            AnonWindowThrottle, "THROTTLE_RATES", {"anon": anon, "export": export}
        )

    return set_rates


def request_from(remote: str = "203.0.113.9", forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/api/v1/meta/", **meta)
    request.user = AnonymousUser()
    return request


def test_without_a_proxy_forwarded_for_is_ignored(client, rates):
    rates("5/minute")
    codes = [
        client.get("/api/v1/meta/", HTTP_X_FORWARDED_FOR=f"10.9.{i}.7").status_code
        for i in range(9)
    ]
    assert codes == [200] * 5 + [429] * 4


def test_behind_proxies_the_last_hops_address_is_the_client(settings):
    settings.PROXY_HOPS = 1
    spoofed = request_from("172.18.0.5", "6.6.6.6, 198.51.100.7")
    assert client_address(spoofed) == "198.51.100.7"
    assert client_address(request_from("172.18.0.5", "198.51.100.7")) == "198.51.100.7"
    settings.PROXY_HOPS = 2
    two = request_from("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1")
    assert client_address(two) == "198.51.100.7"
    # Fewer entries than proxies, or garbage: the connecting address.
    assert client_address(request_from("10.0.0.2", "198.51.100.7")) == "10.0.0.2"
    settings.PROXY_HOPS = 1
    assert client_address(request_from("10.0.0.2", "x, not-an-ip")) == "10.0.0.2"


def test_ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4():
    a = client_address(request_from("2001:db8:1:2:aaaa::1"))
    b = client_address(request_from("2001:db8:1:2:bbbb::2"))
    assert a == b == "2001:db8:1:2::/64"
    assert client_address(request_from("2001:db8:1:3::1")) != a
    assert client_address(request_from("::ffff:198.51.100.7")) == "198.51.100.7"


def test_every_endpoint_counts_in_one_bucket(client, rates):
    rates("6/minute")
    codes = [
        client.get("/api/v1/meta/").status_code,
        client.get("/api/v1/models/").status_code,
        client.get("/api/v1/places/", {"q": "pine"}).status_code,
        client.get("/api/v1/forecasts/grid/").status_code,
        client.get("/api/v1/history/groups/").status_code,
        client.post(
            "/api/v1/commutes/score/",
            data=json.dumps(ROUTE),
            content_type="application/json",
        ).status_code,
    ]
    assert 429 not in codes
    refused = client.get("/api/v1/models/")
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "throttled" and body["parameter"] is None
    assert 1 <= body["retry_after"] <= 60
    assert refused["Retry-After"] == str(body["retry_after"])


def test_exports_have_their_own_tighter_bucket(client, rates):
    rates("100/minute", export="2/minute")
    export = "/api/v1/export/incidents.csv"
    assert [client.get(export).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/api/v1/meta/").status_code == 200
    assert client.get(export).json()["code"] == "throttled"


def test_eight_threads_get_exactly_the_rate(rates):
    rates("50/minute")
    allowed = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def hammer():
        throttle = AnonWindowThrottle()
        start.wait()
        for _ in range(25):
            ok = throttle.allow_request(request_from("198.51.100.20"), None)
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 200 and sum(allowed) == 50


def test_no_window_of_the_rates_length_holds_more_than_the_rate(rates):
    """Hammer for 2.5 s at 10/second: a fixed window lets 20 through around each
    boundary; the sliding window never more than 10 in any second."""
    rates("10/second")
    throttle = AnonWindowThrottle()
    times = []
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        if throttle.allow_request(request_from("198.51.100.30"), None):
            times.append(time.monotonic())
        time.sleep(0.002)
    assert len(times) >= 20  # the window does move on
    # Client clocks read a little after the server's: allow 50 ms of slack.
    worst = max(sum(1 for u in times if t <= u < t + 0.95) for t in times)
    assert worst <= 10, worst


def test_a_refused_request_says_how_long_to_wait(rates):
    rates("2/minute")
    throttle = AnonWindowThrottle()
    for _ in range(2):
        assert throttle.allow_request(request_from("198.51.100.40"), None)
    assert not throttle.allow_request(request_from("198.51.100.40"), None)
    assert 55 <= throttle.wait() <= 60


def test_redis_down_lets_requests_through_and_logs_it(
    rates, settings, monkeypatch, caplog
):
    rates("1/minute")
    # Nothing listens on this port: the failure a stopped Redis gives.
    from tests.localstack import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setattr(cache, "_client", None)
    redis_guard.reset()
    try:
        throttle = ExportThrottle()
        assert all(
            throttle.allow_request(request_from("198.51.100.50"), None)
            for _ in range(3)
        )
        assert "Redis unavailable" in caplog.text and "not limited" in caplog.text
    finally:
        redis_guard.reset()
        cache._client = None
