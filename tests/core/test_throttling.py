"""The anonymous throttle on the real Redis: who a client is, one bucket for the whole
API, exact under concurrency, no boundary to exploit (GCRA: a burst of the rate, then
one request per period / rate), O(1) state per client, and open when Redis is gone."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from core import cache, redis_guard, throttling
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
    # Per hour: the bucket gets one request back every 72 s, so however long the 200
    # requests take on a loaded machine, exactly the bucket (the rate) gets through.
    rates("50/hour")
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


def test_no_stretch_of_time_holds_more_than_the_bucket_and_its_refill(rates):
    """Hammer for 2.5 s at 10/second (T = 0.1 s per request). A fixed window lets 20
    through within milliseconds around each boundary. GCRA's exact guarantee: any
    stretch of W seconds holds at most 10 + floor(W / T), a full bucket then one per
    T; so a second holds at most 19 (never double), and once the bucket is empty no
    second holds more than 10. Each request reaches Redis between its send and its
    answer, so these bounds are checked on the client's clock without slack."""
    rates("10/second")
    throttle = AnonWindowThrottle()
    attempts = []  # (sent, answered, admitted)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        before = time.monotonic()
        ok = throttle.allow_request(request_from("198.51.100.30"), None)
        attempts.append((before, time.monotonic(), ok))
        time.sleep(0.002)
    admitted = [a for a in attempts if a[2]]
    n = len(admitted)
    assert n >= 30  # the bucket refills: 10 at once, then about 10 a second
    for i in range(n):
        for j in range(i + 1, n):
            longest = admitted[j][1] - admitted[i][0]  # admissions i..j, Redis time
            assert j - i + 1 <= 10 + int(longest / 0.1), (i, j, longest)
    # Bucket empty: an admission right after a refusal (at `refused`, bucket
    # still short of one request) is followed by fewer than (t - refused) / T more by
    # time t, so no second after it holds more than 10.
    checked = 0
    for k in range(1, len(attempts)):
        if not (attempts[k][2] and not attempts[k - 1][2]):
            continue
        refused = attempts[k - 1][0]
        later = [a for a in attempts[k + 1 :] if a[2]]
        for count, (_sent, answered, _ok) in enumerate(later, start=1):
            assert count < (answered - refused) / 0.1, (k, count, answered - refused)
        checked += 1
    assert checked >= 10


def test_a_refused_request_says_how_long_to_wait(rates):
    rates("2/minute")
    throttle = AnonWindowThrottle()
    for _ in range(2):
        assert throttle.allow_request(request_from("198.51.100.40"), None)
    assert not throttle.allow_request(request_from("198.51.100.40"), None)
    first = throttle.wait()
    assert 29 <= first <= 30  # one request's share of the minute comes back
    for _ in range(5):  # refusals change nothing: the wait only shrinks
        assert not throttle.allow_request(request_from("198.51.100.40"), None)
        assert throttle.wait() <= first


def test_after_the_wait_the_next_request_gets_through(rates):
    rates("10/second")
    throttle = AnonWindowThrottle()
    request = request_from("198.51.100.41")
    key = throttle.anonymous_key(request)
    assert all(throttle.allow_request(request, None) for _ in range(10))
    allowed, left, wait_us = throttle.count(key)
    assert (allowed, left) == (0, 0) and 0 < wait_us <= 100_000
    time.sleep(wait_us / 1_000_000 + 0.003)
    assert list(throttle.count(key))[:2] == [1, 0]
    assert throttle.count(key)[0] == 0


def test_the_script_is_sent_when_redis_lacks_it(rates, monkeypatch):
    # As after a Redis restart: the SHA is unknown; both ways of calling it recover,
    # and the request is counted once.
    monkeypatch.setattr(throttling, "GCRA_SHA", "0" * 40)
    rates("2/minute")
    throttle = AnonWindowThrottle()
    request = request_from("198.51.100.42")
    assert throttle.allow_request(request, None)
    pipe = cache.redis_client().pipeline(transaction=False)
    throttle.queue(pipe, throttle.anonymous_key(request))
    assert list(cache.execute(pipe)[0]) == [1, 0, 0]
    assert not throttle.allow_request(request, None)


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


def state_key(throttle, request) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:tat:{throttle.anonymous_key(request)}"


def test_a_clients_state_is_one_small_value_whatever_it_sent(rates):
    """Memory per client must not grow with its requests: many clients (an IPv6 spray
    over /64s is many clients) each cost one short string with a TTL, not a log of
    up to `rate` request times for a whole period."""
    rates("100000/minute")
    throttle = AnonWindowThrottle()
    request = request_from("198.51.100.60")
    key = state_key(throttle, request)
    client = cache.redis_client()
    client.delete(key)
    sizes = []
    sent = 0
    for total in (10, 600):
        while sent < total:
            assert throttle.allow_request(request, None)
            sent += 1
        sizes.append(client.memory_usage(key))
    assert sizes[1] == sizes[0] and sizes[1] <= 128, sizes
    assert client.type(key) == b"string"
    assert 0 < client.pttl(key) <= 60_000


def test_a_log_left_by_the_previous_release_is_no_error(rates):
    # During a deploy, old processes still write their sorted set under the old name.
    rates("2/minute")
    throttle = AnonWindowThrottle()
    request = request_from("198.51.100.61")
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    old = f"{prefix}:throttle:{throttle.anonymous_key(request)}"
    cache.redis_client().zadd(old, {"1.2:ab": 1})
    assert [throttle.allow_request(request, None) for _ in range(3)] == [
        True,
        True,
        False,
    ]
