"""The fast path (core.fast_path) answers exactly what the site answers with no cache.

Every view that opts in (``fast_path = Cacheable(...)``) is collected from the URLconf;
one without cases here fails, and so does a case list that leaves out a parameter the
view documents (its OpenAPI schema). Each request is made through the site's
middleware (warm: the same request twice, the second a fast-path hit) and through the
same stack without the fast path and with every cache of core.cache bypassed (the
reference), and status, headers and body are compared, with HEAD, Accept,
Accept-Encoding, If-None-Match (the current ETag: 304; the ETag from before a change:
200) and the hourly default (the clock is frozen, then moved an hour).

The comparison is repeated after each change the answers depend on: an import,
deleting incidents, deleting an area, an activation, a new forecast run, deleting the
active model version, an hour passing and a grid rebuild. A change whose bump is
missing leaves a warm answer from before it, and the comparison fails
(test_a_missing_bump_is_caught shows it).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.throttling import AnonRateThrottle

from core import cache, fast_path
from core.models import RunStatus
from crimes.models import Area, Incident
from predictions.models import ForecastRun, ModelVersion
from predictions.services import forecast_store
from predictions.services.cells import build_cells, grid_arrays
from tests.spd_rows import load_spd

SEATTLE = ZoneInfo("America/Los_Angeles")
FAST = "core.fast_path.ApiFastPathMiddleware"
WEEK = dt.datetime(2021, 12, 6, 0, tzinfo=SEATTLE)
HOURS = 12  # stored per forecast run: small bodies, the same code paths
# "Now" while the week is current, so a forecast without `start` starts at 02:00.
NOW = WEEK + dt.timedelta(hours=2, minutes=30)

Y = "start=2021-01-01&end=2021-12-31"
F = "start=2021-12-06T00:00"
GEO = {"HTTP_ACCEPT": "application/geo+json"}
# Per opted-in view (URL name): (query, request headers). Together they cover every
# parameter the view documents, its defaults, repeated and bad values.
CASES: dict[str, list[tuple[str, dict]]] = {
    "v1:history-grid": [
        ("", {}),  # the default window: the last 12 months of data
        (f"{Y}&cell_size=600", {}),
        (f"{Y}&cell_size=150&category=person&category=property", {}),
        (f"{Y}&group=LARCENY-THEFT&group=ASSAULT OFFENSES&offense_code=23H", {}),
        (f"{Y}&hour_from=22&hour_to=4&dow=sat&dow=sun", {}),
        (f"{Y}&beat=K1&mcpp=DOWNTOWN COMMERCIAL", {}),
        (f"{Y}&bbox=-122.36,47.59,-122.30,47.63&cell_size=300", {}),
        (f"{Y}&cell_size=600", {"HTTP_ACCEPT": "text/html"}),
        (f"{Y}&cell_size=601", {}),
        (f"{Y}&cell=5", {}),
        (f"{Y}&bogus=1", {}),
    ],
    "v1:incidents": [
        ("", {}),
        (f"{Y}&page=2&page_size=20", {}),
        (f"{Y}&category=property&beat=E2&group=LARCENY-THEFT&page_size=5", {}),
        (f"{Y}&cell_size=600&cell=4130060&offense_code=23H&page_size=5", {}),
        (f"{Y}&dow=mon&hour_from=8&hour_to=9&mcpp=CAPITOL HILL", {}),
        (f"{Y}&bbox=-122.36,47.59,-122.30,47.63", {}),
        (f"{Y}&page=0", {}),
    ],
    "v1:history-timeseries": [
        ("", {}),
        (f"{Y}&interval=week&category=person&group=ASSAULT OFFENSES", {}),
        (f"{Y}&interval=day&offense_code=13A&bbox=-122.4,47.5,-122.2,47.7", {}),
        (f"{Y}&dow=tue&hour_from=7&hour_to=10&beat=E2&mcpp=CAPITOL HILL", {}),
        (f"{Y}&cell_size=1200&cell=2065030", {}),
        (f"{Y}&interval=hour", {}),  # over the bucket limit: 400
        (f"{Y}&interval=year", {}),
    ],
    "v1:history-profile": [
        ("", {}),
        (f"{Y}&group=BURGLARY/BREAKING&ENTERING&cell_size=300&cell=2065030", {}),
        (f"{Y}&category=person&offense_code=13B&dow=sat&beat=K1&mcpp=SLU/CASCADE", {}),
        (f"{Y}&bbox=-122.36,47.59,-122.30,47.63&hour_from=20&hour_to=2", {}),
        ("start=2021-06-01&end=2021-06-30&hour_from=25", {}),
    ],
    "v1:history-groups": [
        ("", {}),
        (f"{Y}&category=society&dow=fri&hour_from=0&hour_to=5", {}),
        (f"{Y}&group=FRAUD OFFENSES&offense_code=26A&beat=M2&mcpp=SLU/CASCADE", {}),
        (f"{Y}&bbox=-122.36,47.59,-122.30,47.63&cell_size=600&cell=4130060", {}),
        (f"{Y}&start=2021-02-01", {}),  # repeated: the view reads the last
    ],
    "v1:areas": [
        ("", {}),
        (f"{Y}&kind=mcpp&geometry=false&category=person&dow=sun", {}),
        (f"{Y}&kind=beat&geometry=true&group=ROBBERY&offense_code=120", {}),
        (f"{Y}&hour_from=9&hour_to=17&beat=E2&mcpp=CAPITOL HILL", {}),
        (f"{Y}&bbox=-122.36,47.59,-122.30,47.63&cell_size=300&cell=2065030", {}),
        (f"{Y}&kind=precinct", {}),
    ],
    "v1:meta": [("", {}), ("x=1", {})],
    "v1:forecasts": [
        ("", {}),  # the hourly default: from the current hour
        ("hours=3&encoding=q8", {}),
        (f"{F}&hours=4", {}),
        (f"{F}&hours=2&category=person", {}),
        (f"{F}&hours=3&category=property&encoding=q8", {}),
        (f"{F}&hours=3&encoding=q8", {"HTTP_ACCEPT_ENCODING": "gzip, deflate"}),
        (f"{F}&hours=2&format=geojson", {}),
        (f"{F}&hours=2", GEO),
        (f"{F}&hours=2", {"HTTP_ACCEPT": "text/csv"}),
        (f"{F}&hours=2&hours=3&encoding=q8", {}),
        (f"{F}&hours=2&model={{other}}", {}),
        ("start=2021-12-09T00:00&hours=2", {}),  # nothing stored: 404
        ("hours=0", {}),
        (f"{F}&encoding=png", {}),
        (f"{F}&category=society", {}),
        ("start=yesterday", {}),
        (f"{F}&model=v2", {}),
        (f"{F}&format=geojson&hours=200", {}),
    ],
}


def opted_in_views() -> dict[str, type]:
    """URL name -> view class of every route whose view opts in to the fast path."""
    found: dict[str, type] = {}

    def walk(patterns, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, ns)
            elif isinstance(p, URLPattern):
                view = getattr(p.callback, "view_class", None)
                if isinstance(getattr(view, "fast_path", None), fast_path.Cacheable):
                    found[f"{namespace}{p.name}"] = view

    walk(get_resolver().url_patterns, "")
    return found


def test_every_opted_in_view_has_cases_that_cover_its_parameters():
    views = opted_in_views()
    assert set(views) == set(CASES), "an opted-in view without cases (or stale cases)"
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for name in views:
        documented = {
            p["name"]
            for p in schema["paths"][reverse(name)]["get"].get("parameters", [])
        }
        used = {
            pair.split("=")[0] for query, _ in CASES[name] for pair in query.split("&")
        }
        assert documented <= used, f"{name}: no case for {documented - used}"


# --- the data the answers are built from ----------------------------------------


def write_week(version: ModelVersion, scale: float) -> int:
    run = ForecastRun.objects.create(
        model_version=version, start=WEEK, hours=HOURS, status=RunStatus.SUCCEEDED
    )
    n = len(grid_arrays()["cell_ids"])
    base = np.random.default_rng(version.pk).gamma(0.3, 0.01, (HOURS, n))
    base = base.astype(np.float32) * scale
    hour_starts = [
        WEEK.astimezone(dt.UTC) + dt.timedelta(hours=h) for h in range(HOURS)
    ]
    forecast_store.write_forecast(
        version.pk,
        run.pk,
        hour_starts,
        {"all": base, "person": base * 0.4, "property": base * 0.6},
    )
    return run.pk


def new_version(kind: str) -> ModelVersion:
    return ModelVersion.objects.create(
        kind=kind, checkpoint=f"{kind}.pt", data_until=WEEK
    )


@pytest.fixture
def clock(monkeypatch):
    """The site's clock (django.utils.timezone.now), frozen; move it with .now."""

    class Clock:
        now = NOW.astimezone(dt.UTC)

    monkeypatch.setattr(timezone, "now", lambda: Clock.now)
    return Clock


@pytest.fixture
def site(db, clock, monkeypatch):
    """Real SPD rows through the importer, two model versions with a run each."""
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "100000/minute"})
    Incident.objects.all().delete()
    load_spd(every=100)  # ~700 real incidents of 2021
    build_cells(cell_size=600)  # ~700 forecast cells: small bodies, same code
    first, other = new_version("first"), new_version("other")
    write_week(first, 1.0)
    write_week(other, 2.0)
    first.activate()
    fast_path.clear_memo()
    return {"first": first, "other": other}


class Compare:
    """The same request through the site and through the site without any cache."""

    def __init__(self, dispatches: list[str]) -> None:
        self.fast = Client()
        self.plain = Client()
        self.without = [m for m in settings.MIDDLEWARE if m != FAST]
        assert len(self.without) == len(settings.MIDDLEWARE) - 1
        self.dispatches = dispatches
        self.etags: dict[tuple, str] = {}  # the last 200's ETag of each request

    def reference(self, method: str, path: str, headers: dict):
        with override_settings(MIDDLEWARE=self.without), cache.uncached():
            return getattr(self.plain, method)(path, **headers)

    def check(self, label: str, method: str, path: str, headers: dict, expected=None):
        answer = getattr(self.fast, method)(path, **headers)
        if expected is None:
            expected = self.reference(method, path, headers)
        where = f"{label}: {method.upper()} {path} {headers}"
        assert answer.status_code == expected.status_code, where
        assert dict(answer.items()) == dict(expected.items()), where
        assert answer.content == expected.content, where
        return answer

    def case(self, label: str, path: str, headers: dict) -> None:
        old = self.etags.get((path, str(headers)))
        expected = self.reference("get", path, headers)
        first = self.check(label, "get", path, headers, expected)
        before = len(self.dispatches)
        second = self.check(label, "get", path, headers, expected)
        if first.status_code == 200:
            hit = len(self.dispatches) == before
            assert hit, f"{label}: the repeated GET {path} was not a fast-path hit"
            etag = second["ETag"]
            self.etags[(path, str(headers))] = etag
            self.check(label, "get", path, {**headers, "HTTP_IF_NONE_MATCH": etag})
            if old and old != etag:  # a client revalidating from before a change
                self.check(label, "get", path, {**headers, "HTTP_IF_NONE_MATCH": old})
        self.check(label, "head", path, headers)

    def everything(self, label: str) -> None:
        other = ModelVersion.objects.filter(kind="other").first()
        for name, cases in CASES.items():
            url = reverse(name)
            for query, headers in cases:
                query = query.replace("{other}", str(other.pk if other else 999999))
                self.case(f"{label} / {name}", f"{url}?{query}", headers)


# Hundreds of requests, each made three ways, after each of eight changes: minutes on a
# quiet machine, more than the suite's 600 s default on a loaded one.
@pytest.mark.timeout(1800)
def test_every_opted_in_view_answers_as_with_no_cache(site, clock, dispatches):
    compare = Compare(dispatches)
    first, other = site["first"], site["other"]
    compare.everything("initially")

    load_spd(every=97, limit=40)  # an import (new offense ids, some already there)
    compare.everything("after an import")

    Incident.objects.filter(crime_against="PROPERTY", beat__startswith="K").delete()
    compare.everything("after deleting incidents")

    Area.objects.filter(kind="beat", code="E2").delete()
    compare.everything("after deleting an area")

    other.activate()
    compare.everything("after an activation")

    write_week(other, 3.0)
    compare.everything("after a new forecast run")

    other.delete()  # the active one: reads without `model` have nothing to show
    compare.everything("after deleting the active model version")

    first.activate()
    compare.everything("after activating again")

    clock.now += dt.timedelta(hours=1)
    compare.everything("an hour later")

    build_cells(cell_size=300)  # the stored rows no longer fit the grid
    compare.everything("after a grid rebuild")


def test_a_missing_bump_is_caught(site, dispatches, monkeypatch):
    """The comparison has teeth: with the counters frozen, a deletion leaves the warm
    answers of before it, and the comparison fails."""
    compare = Compare(dispatches)
    path = f"/api/v1/forecasts/?{F}&hours=2&encoding=q8"
    compare.case("warm", path, {})
    # Every bump is lost (and none recorded).
    monkeypatch.setattr(cache, "_incr", lambda scope, record=True: 0)
    site["first"].delete()
    with pytest.raises(AssertionError):
        compare.case("after a deletion nobody was told about", path, {})
