"""The API fast path (core.fast_path) on real PostGIS + Redis.

Every answer must be the one the normal stack gives: each request is made once through
the site's middleware and once through the same list without the fast path, and
status, headers and body are compared, for misses, hits, 304s, 400s, HEAD, gzip and
the throttle. Hits are told apart from misses by counting view dispatches.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.test import Client, override_settings
from rest_framework.throttling import AnonRateThrottle

from core import fast_path
from core.local_time import SEATTLE
from core.models import RunStatus
from crimes.models import Incident
from predictions.models import ForecastRun, ModelVersion
from predictions.services import forecast_store
from predictions.services.cells import grid_arrays
from tests.reference_data import ensure_reference_data

FAST = "core.fast_path.ApiFastPathMiddleware"
GRID = "/api/v1/history/grid/?start=2021-01-01&end=2021-12-31&cell_size=600"
WEEK = dt.datetime(2021, 12, 6, 0, tzinfo=SEATTLE)
FORECAST = "/api/v1/forecasts/?start=2021-12-06T00:00&hours=24"
Q8 = FORECAST + "&encoding=q8"


def make_incidents(n: int, first_id: int = 1, seed: int = 0) -> None:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        start = dt.datetime(2021, 1, 1, tzinfo=SEATTLE) + dt.timedelta(
            hours=rng.randrange(365 * 24)
        )
        rows.append(
            Incident(
                offense_id=first_id + i,
                report_number=f"2021-{first_id + i}",
                offense_start=start,
                reported_at=start + dt.timedelta(hours=2),
                crime_against=rng.choice(["PERSON", "PROPERTY", "SOCIETY"]),
                offense_parent_group="LARCENY-THEFT",
                offense="Theft",
                offense_code="23H",
                beat="K1",
                mcpp="DOWNTOWN COMMERCIAL",
                location=Point(
                    rng.uniform(-122.40, -122.26), rng.uniform(47.52, 47.70), srid=4326
                ),
            )
        )
    Incident.objects.bulk_create(rows)


def write_week(version: ModelVersion, scale: float, hours: int = 48) -> int:
    run = ForecastRun.objects.create(
        model_version=version, start=WEEK, hours=hours, status=RunStatus.SUCCEEDED
    )
    n = len(grid_arrays()["cell_ids"])
    base = np.random.default_rng(1).gamma(0.3, 0.01, (hours, n)).astype(np.float32)
    hour_starts = [
        WEEK.astimezone(dt.UTC) + dt.timedelta(hours=h) for h in range(hours)
    ]
    forecast_store.write_forecast(
        version.pk,
        run.pk,
        hour_starts,
        {"all": base * scale, "person": base * 0.4, "property": base * 0.6},
    )
    return run.pk


def new_version() -> ModelVersion:
    version = ModelVersion.objects.create(
        kind="synthetic", checkpoint="none.pt", data_until=WEEK
    )
    version.activate()
    return version


@pytest.fixture
def data(db):
    ensure_reference_data()
    Incident.objects.all().delete()
    make_incidents(200)
    version = new_version()
    run_id = write_week(version, 1.0)
    fast_path.clear_memo()  # bodies of earlier tests (process caches key on versions)
    return version, run_id


@pytest.fixture
def pair():
    """(fast, plain): clients through the site's middleware / without the fast path."""
    fast = Client()
    plain = Client()
    without = [m for m in settings.MIDDLEWARE if m != FAST]
    assert len(without) == len(settings.MIDDLEWARE) - 1

    def plain_get(path, method="get", **headers):
        with override_settings(MIDDLEWARE=without):
            return getattr(plain, method)(path, **headers)

    return fast, plain_get


def same(a, b) -> None:
    assert a.status_code == b.status_code
    assert dict(a.items()) == dict(b.items())
    assert a.content == b.content


def test_hits_misses_and_304_are_identical(data, pair, dispatches):
    fast, plain = pair
    for path, headers in (
        (GRID, {}),
        (Q8, {}),
        (FORECAST, {"HTTP_ACCEPT_ENCODING": "gzip, deflate"}),
        (FORECAST + "&format=geojson&hours=2", {}),
    ):
        miss = fast.get(path, **headers)
        assert miss.status_code == 200, miss.content[:200]
        assert len(dispatches) == 1
        hit = fast.get(path, **headers)
        assert len(dispatches) == 1, "the second request must be a fast-path hit"
        reference = plain(path, **headers)
        assert len(dispatches) == 2
        same(miss, reference)
        same(hit, reference)

        etag = hit["ETag"]
        cond = {**headers, "HTTP_IF_NONE_MATCH": etag}
        fast_304 = fast.get(path, **cond)
        assert fast_304.status_code == 304 and len(dispatches) == 2
        same(fast_304, plain(path, **cond))
        assert fast_304["ETag"] == etag and fast_304["Cache-Control"]
        # Browsers send both validators; If-None-Match decides (RFC 9110 13.2.2).
        both = {**cond, "HTTP_IF_MODIFIED_SINCE": "Sat, 01 Jan 2000 00:00:00 GMT"}
        same(fast.get(path, **both), plain(path, **both))
        other = {**headers, "HTTP_IF_NONE_MATCH": '"not-it"'}
        same(fast.get(path, **other), plain(path, **other))
        # Forms the fast path leaves to the view still get the view's answer.
        for odd in (f"W/{etag}", f'"x", {etag}', "*"):
            weak = {**headers, "HTTP_IF_NONE_MATCH": odd}
            same(fast.get(path, **weak), plain(path, **weak))
        same(fast.head(path, **headers), plain(path, "head", **headers))
        dispatches.clear()


def test_a_304_without_a_cache_entry_is_the_views(data, pair, dispatches):
    fast, plain = pair
    for path in (GRID, Q8):
        etag = plain(path)["ETag"]
        cond = {"HTTP_IF_NONE_MATCH": etag}
        same(fast.get(path, **cond), plain(path, **cond))  # a miss: nothing recorded
        assert fast.get(path, **cond).status_code == 304


@pytest.mark.parametrize(
    "bad, good",
    [
        (GRID.replace("600", "601"), GRID),
        (GRID + "&cell=1", GRID),
        (GRID + "&bogus=1", GRID),
        ("/api/v1/meta/?x=1", "/api/v1/meta/"),
        (Q8.replace("hours=24", "hours=0"), Q8),
        (Q8 + "&encoding=png", Q8),
        (Q8 + "&category=society", Q8),
    ],
)
def test_bad_parameters_keep_their_400(data, pair, dispatches, bad, good):
    fast, plain = pair
    fast.get(good)
    assert fast.get(good).status_code == 200
    dispatches.clear()
    for _ in range(2):
        answer = fast.get(bad)
        assert answer.status_code == 400
        same(answer, plain(bad))
    assert len(dispatches) == 4, "a 400 is never answered from the cache"


def test_query_order_and_repeated_values(data, pair):
    fast, plain = pair
    # Parameter order does not matter; the order of a repeated parameter's values
    # does for a view that reads the last one (hours here).
    a = FORECAST.replace("hours=24", "hours=2&hours=3") + "&encoding=q8"
    b = FORECAST.replace("hours=24", "hours=3&hours=2") + "&encoding=q8"
    for path in (a, b, a, b):
        same(fast.get(path), plain(path))
    assert len(fast.get(a).json()["values"]) == 3
    assert len(fast.get(b).json()["values"]) == 2
    shuffled = "/api/v1/history/grid/?cell_size=600&end=2021-12-31&start=2021-01-01"
    same(fast.get(shuffled), plain(shuffled))
    same(fast.get(GRID), plain(GRID))


def test_an_import_is_visible_at_once(data, pair, dispatches):
    fast, _plain = pair
    before = fast.get(GRID).json()
    assert fast.get(GRID).json() == before and len(dispatches) == 1
    make_incidents(5, first_id=10_000, seed=7)  # bulk_create: the queryset bumps
    after = fast.get(GRID)
    assert len(dispatches) == 2
    assert after.json()["total"] == before["total"] + 5


def test_a_new_forecast_run_or_version_is_visible_at_once(data, pair, dispatches):
    fast, plain = pair
    version, run_id = data
    first = fast.get(Q8)
    assert first.json()["forecast_run"] == run_id
    assert fast.get(Q8).content == first.content and len(dispatches) == 1
    rerun = write_week(version, 3.0)
    second = fast.get(Q8)
    assert second.json()["forecast_run"] == rerun
    assert second.json()["values"] != first.json()["values"]
    same(second, plain(Q8))

    other = new_version()
    write_week(other, 2.0)
    version.activate()  # switching back is visible too
    assert fast.get(Q8).json()["model_version"] == version.pk
    other.activate()
    assert fast.get(Q8).json()["model_version"] == other.pk


def test_throttle_counts_each_request_once(data, pair, monkeypatch):
    fast, plain = pair
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    codes = [fast.get(GRID).status_code for _ in range(5)]  # miss, hit, hit, 429, 429
    assert codes == [200, 200, 200, 429, 429]
    limited = fast.get(Q8)
    assert limited.status_code == 429 and "Retry-After" in limited
    assert limited.json()["code"] == "throttled"
    assert limited.json()["retry_after"] == int(limited["Retry-After"])


def test_the_one_script_is_sent_when_redis_lacks_it(data, pair, monkeypatch):
    # As after a Redis restart: the lookup-and-count script is unknown by its SHA;
    # it is sent, runs once, and each request is still counted once.
    fast, _plain = pair
    monkeypatch.setattr(fast_path, "_LOOKUP_AND_COUNT_SHA", "0" * 40)
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    codes = [fast.get(GRID).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_not_anonymous_or_not_registered_goes_through(data, pair, dispatches):
    fast, _plain = pair
    fast.get(GRID)
    fast.get(GRID, HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==")
    assert len(dispatches) == 2  # credentials: always the full stack (401 here)
    user = get_user_model().objects.create_user("reader", password="x" * 12)
    fast.force_login(user)
    assert fast.get(GRID).status_code == 200
    assert len(dispatches) == 3
    fast.logout()
    for path in ("/api/v1/forecasts/grid/", "/api/v1/models/"):
        fast.get(path)
        fast.get(path)
    assert len(dispatches) == 7
    csv = "/api/v1/export/incidents.csv?start=2021-01-01&end=2021-12-31"
    fast.get(csv)
    fast.get(csv)
    assert len(dispatches) == 9  # exports are not cached


def test_a_disallowed_host_is_refused_as_before(data, pair):
    fast, plain = pair
    fast.get(GRID)
    answer = fast.get(GRID, HTTP_HOST="evil.example")
    assert answer.status_code == 400
    assert plain(GRID, HTTP_HOST="evil.example").status_code == 400
