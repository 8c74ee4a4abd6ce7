"""The anonymous throttle on the real Redis: who a client is, one bucket for the whole
API, exact under concurrency, never more than the rate in any window of one period
(a conservative sliding-window counter), O(1) state per client, and open when Redis
is gone."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from commutes.api.views import ROUTED_TOKENS
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
    # Five reads and a commute routed along the streets, which costs its tokens.
    rates(f"{5 + ROUTED_TOKENS}/minute")
    t0 = time.monotonic()
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
    # A whole period from the oldest counted sub-window (which began at most one
    # sub-window before the first request), less the time these requests took.
    took = time.monotonic() - t0
    assert 59 - took <= body["retry_after"] <= 66
    assert refused["Retry-After"] == str(body["retry_after"])


def test_exports_have_their_own_tighter_bucket(client, rates):
    rates("100/minute", export="2/minute")
    export = "/api/v1/export/incidents.csv"
    assert [client.get(export).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/api/v1/meta/").status_code == 200
    assert client.get(export).json()["code"] == "throttled"


def test_eight_threads_get_exactly_the_rate(rates):
    # Per hour: the first request's sub-window (6 min) leaves the count long after
    # the 200 requests, however loaded the machine, so exactly the rate gets through.
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


def queue_counter(pipe, throttle, key: str, cost: int = 1) -> None:
    """The throttle's script for ``key`` in a pipeline, by SHA (loaded before)."""
    call = throttle.script_call(key, cost)
    pipe.evalsha(call.sha, *call.args)


def test_no_window_of_one_period_holds_more_than_the_rate(rates):
    """The strict bound, on Redis's clock: rate 10 per 2 s, hammered for 5 s by one
    client that starts idle (a full bucket is where GCRA let 19 through in 2 s). Each
    request goes in a MULTI between two TIME calls, so its admission time lies within
    microseconds between them. A window [s, s + 2 s] certainly holds admissions i..j
    when the last one's upper bound minus the first one's lower bound is <= 2 s: no
    such run may be longer than 10. (GCRA fails this; so does a fixed window.)"""
    rates("10/second")
    throttle = AnonWindowThrottle()
    throttle.duration = 2  # a 2 s period: not expressible in DRF's rate strings
    client = cache.redis_client()
    warm = request_from("198.51.100.29")  # loads the script: no NOSCRIPT in a MULTI
    assert throttle.allow_request(warm, None)
    key = throttle.anonymous_key(request_from("198.51.100.30"))

    def redis_us(reply) -> int:
        return int(reply[0]) * 1_000_000 + int(reply[1])

    admitted = []  # (lower, upper) bounds of each admission, Redis microseconds
    refused = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pipe = client.pipeline(transaction=True)
        pipe.time()
        queue_counter(pipe, throttle, key)
        pipe.time()
        before, reply, after = pipe.execute()
        if int(reply[0]):
            admitted.append((redis_us(before), redis_us(after)))
        else:
            refused += 1
        time.sleep(0.003)
    assert len(admitted) >= 20 and refused > 0  # the window moves on; it refuses
    period_us = 2_000_000
    worst = 0
    for i, (lower, _upper) in enumerate(admitted):
        inside = [u for _lo, u in admitted[i:] if u - lower <= period_us]
        worst = max(worst, len(inside))
    assert worst <= 10, f"{worst} admissions within one period of 2 s"


def test_a_refused_request_says_how_long_to_wait(rates):
    rates("2/minute")
    throttle = AnonWindowThrottle()
    for _ in range(2):
        assert throttle.allow_request(request_from("198.51.100.40"), None)
    assert not throttle.allow_request(request_from("198.51.100.40"), None)
    first = throttle.wait()
    # Both requests' sub-window must leave the count: a period, and at most one
    # sub-window (6 s) more.
    assert 59 <= first <= 66
    for _ in range(5):  # refusals are not counted: the wait only shrinks
        assert not throttle.allow_request(request_from("198.51.100.40"), None)
        assert throttle.wait() <= first


def test_after_the_wait_the_next_request_gets_through(rates):
    rates("10/second")
    throttle = AnonWindowThrottle()
    request = request_from("198.51.100.41")
    key = throttle.anonymous_key(request)
    assert all(throttle.allow_request(request, None) for _ in range(10))
    allowed, counted, wait_us = throttle.count(key)
    assert (allowed, counted) == (0, 10) and 0 < wait_us <= 1_100_000
    for _ in range(3):  # refused again: the same moment, not a later one
        again = throttle.count(key)
        assert again[0] == 0 and 0 < again[2] <= wait_us
    time.sleep(wait_us / 1_000_000 + 0.003)
    assert throttle.count(key)[0] == 1


def test_the_script_is_sent_when_redis_lacks_it(rates, monkeypatch):
    # As after a Redis restart: the SHA is unknown; both ways of calling it recover,
    # and the request is counted once.
    monkeypatch.setattr(throttling, "SLIDING_COUNTER_SHA", "0" * 40)
    rates("2/minute")
    throttle = AnonWindowThrottle()
    request = request_from("198.51.100.42")
    assert throttle.allow_request(request, None)
    call = throttle.script_call(throttle.anonymous_key(request))
    assert call.sha == "0" * 40
    assert list(cache.run(call)) == [1, 2, 0]
    assert not throttle.allow_request(request, None)


def test_redis_down_lets_requests_through_and_logs_it(
    rates, settings, monkeypatch, caplog
):
    rates("1/minute")
    # Nothing listens on this port: the failure a stopped Redis gives.
    from tests.localstack import free_port

    settings.CACHE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
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
    return f"{prefix}:throttle:sw:{throttle.anonymous_key(request)}"


def test_a_clients_state_is_a_few_counters_whatever_it_sent(rates):
    """Memory per client must not grow with its requests: many clients (an IPv6 spray
    over /64s is many clients) each cost at most S + 1 small counters with a TTL, not
    a log of up to `rate` request times for a whole period."""
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
    # One or two counters (600 requests may cross a 6 s sub-window boundary).
    assert sizes[1] <= sizes[0] + 32 and sizes[1] <= 256, sizes
    assert client.type(key) == b"hash"
    assert 0 < client.pttl(key) <= 66_000


def test_old_counters_are_dropped_as_the_window_moves(rates):
    # A 1 s period (sub-windows of 100 ms) hammered for 1.6 s: at most S + 1
    # counters at any time, none older than the S + 1 sub-windows that count.
    rates("100000/second")
    throttle = AnonWindowThrottle()
    request = request_from("198.51.100.62")
    key = state_key(throttle, request)
    client = cache.redis_client()
    client.delete(key)
    most = 0
    deadline = time.monotonic() + 1.6
    while time.monotonic() < deadline:
        assert throttle.allow_request(request, None)
        fields = [int(f) for f in client.hkeys(key)]
        most = max(most, len(fields))
        assert max(fields) - min(fields) <= throttling.SUBWINDOWS, fields
        time.sleep(0.005)
    assert most == throttling.SUBWINDOWS + 1  # the window did move on
    assert 0 < client.pttl(key) <= 1_100


def test_state_left_by_previous_releases_is_no_error(rates):
    # During a deploy, old processes still write under the old names: the
    # sliding-window log's sorted set and GCRA's string.
    rates("2/minute")
    throttle = AnonWindowThrottle()
    request = request_from("198.51.100.61")
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    ident = throttle.anonymous_key(request)
    cache.redis_client().zadd(f"{prefix}:throttle:{ident}", {"1.2:ab": 1})
    cache.redis_client().set(f"{prefix}:tat:{ident}", "1")
    assert [throttle.allow_request(request, None) for _ in range(3)] == [
        True,
        True,
        False,
    ]


def test_the_fast_paths_memoised_args_follow_the_rate_and_the_prefix(rates, settings):
    # core.fast_path builds the script's arguments without a throttle object, from
    # values memoised per (prefix, rate): a patched rate or another key prefix must
    # give new arguments, equal to the ones the view's throttle uses.
    request = request_from("198.51.100.70")

    def view_call():
        throttle = AnonWindowThrottle()
        return throttle.script_call(throttle.anonymous_key(request))

    rates("5/minute")
    assert AnonWindowThrottle.request_call(request) == view_call()
    assert AnonWindowThrottle.request_call(request).argv[:2] == (6_000_000, 5)
    rates("7/second")
    assert AnonWindowThrottle.request_call(request) == view_call()
    assert AnonWindowThrottle.request_call(request).argv[:2] == (100_000, 7)
    caches = {**settings.CACHES}
    caches["default"] = {**caches["default"], "KEY_PREFIX": "elsewhere"}
    settings.CACHES = caches
    call = AnonWindowThrottle.request_call(request)
    assert call == view_call()
    assert call.keys == ("elsewhere:throttle:sw:throttle_anon_198.51.100.70",)
    rates("7/second", export="1/minute")
    assert ExportThrottle.request_call(request).argv[:2] == (6_000_000, 1)
    AnonWindowThrottle.THROTTLE_RATES = {}  # restored by the rates fixture
    assert AnonWindowThrottle.request_call(request) is None


def test_the_address_memo_does_not_freeze_the_proxy_rule(settings):
    # Only the parsing of one address string is memoised; which address counts
    # (REMOTE_ADDR or X-Forwarded-For) is decided per request.
    request = request_from("172.18.0.5", "198.51.100.7")
    settings.PROXY_HOPS = 0
    assert client_address(request) == "172.18.0.5"
    settings.PROXY_HOPS = 1
    assert client_address(request) == "198.51.100.7"
    settings.PROXY_HOPS = 0
    assert client_address(request) == "172.18.0.5"
    for _ in range(2):  # a memo hit gives the same /64
        assert client_address(request_from(" 2001:db8:9::5")) == "2001:db8:9::/64"


def test_a_costly_request_counts_its_tokens(rates):
    # Issue 16: a route cost the same as a cached read. An admission of cost c
    # needs c free tokens and takes them; a refusal takes none.
    rates("10/minute")
    throttle = AnonWindowThrottle()
    key = throttle.anonymous_key(request_from("198.51.100.80"))
    assert list(throttle.count(key, 4)) == [1, 4, 0]
    assert list(throttle.count(key, 4)) == [1, 8, 0]
    allowed, counted, wait_us = throttle.count(key, 4)  # 8 + 4 > 10
    assert (allowed, counted) == (0, 8) and 0 < wait_us <= 66_000_000
    assert list(throttle.count(key, 2)) == [1, 10, 0]  # what is left still fits
    assert throttle.count(key, 1)[0] == 0
    # A cost above the rate is clamped to it: possible once per period.
    other = throttle.anonymous_key(request_from("198.51.100.81"))
    assert list(throttle.count(other, 500)) == [1, 10, 0]
    assert throttle.count(other, 1)[0] == 0


def test_no_window_holds_more_tokens_than_the_rate_whatever_the_costs(rates):
    """The bound of the proof in core.throttling, with costs: rate 20 per 2 s, one
    client sending requests of cost 1, 3 and 7 in random order for 5 s, each in a
    MULTI between two TIME calls (as in the test above): the tokens admitted in any
    run of admissions that certainly lies within one period never exceed 20."""
    import random

    rates("20/second")
    throttle = AnonWindowThrottle()
    throttle.duration = 2
    client = cache.redis_client()
    assert throttle.allow_request(request_from("198.51.100.82"), None)  # loads it
    key = throttle.anonymous_key(request_from("198.51.100.83"))
    rng = random.Random(16)

    def redis_us(reply) -> int:
        return int(reply[0]) * 1_000_000 + int(reply[1])

    admitted = []  # (lower, upper, cost)
    refused = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        cost = rng.choice((1, 3, 7))
        pipe = client.pipeline(transaction=True)
        pipe.time()
        queue_counter(pipe, throttle, key, cost)
        pipe.time()
        before, reply, after = pipe.execute()
        if int(reply[0]):
            admitted.append((redis_us(before), redis_us(after), cost))
        else:
            refused += 1
        time.sleep(0.003)
    assert len(admitted) >= 10 and refused > 0
    assert {c for *_, c in admitted} == {1, 3, 7}
    worst = 0
    for i, (lower, _upper, _cost) in enumerate(admitted):
        inside = [c for _lo, u, c in admitted[i:] if u - lower <= 2_000_000]
        worst = max(worst, sum(inside))
    assert worst <= 20, f"{worst} tokens admitted within one period of 2 s"


def test_spend_charges_the_client_or_refuses_with_a_429(rates):
    from rest_framework.exceptions import Throttled

    rates("10/minute")
    request = request_from("198.51.100.84")
    throttle = AnonWindowThrottle()
    assert throttle.allow_request(request, None)  # 1
    throttling.spend(request, 6)  # 7
    with pytest.raises(Throttled) as refused:
        throttling.spend(request, 6)
    assert 1 <= refused.value.wait <= 66
    # The refused spend took nothing: 3 ordinary requests still fit, not a 4th.
    assert [throttle.allow_request(request, None) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    throttling.spend(request, 0)  # nothing to charge: never refused
