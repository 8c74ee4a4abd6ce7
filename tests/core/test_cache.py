"""core.cache on the real Redis and PostGIS: version counters, what bumps them, and
the caches keyed on them.

What each endpoint answers after a change is checked in tests/test_fast_path_equality.py
(against the site with no cache at all) and, across processes, in
tests/test_cache_invalidation.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.cache import cache as django_cache
from django.db import transaction
from django.test import RequestFactory

from core import cache
from crimes.models import Area, ImportRun, Incident
from predictions.models import Cell, ForecastRun, ForecastValues, ModelVersion
from tests.redis_commands import record_redis_commands

WEEK = dt.datetime(2021, 12, 6, 8, tzinfo=dt.UTC)


def raw(scope: str) -> int | None:
    value = cache.redis_client().get(cache.version_key(scope))
    return None if value is None else int(value)


def test_a_lost_counter_restarts_from_the_clock_never_repeating_a_value():
    before = cache.versions(cache.DATA)[0]
    for _ in range(50):  # far more bumps than microseconds would pass
        cache.bump(cache.DATA)
    bumped = cache.versions(cache.DATA)[0]
    assert bumped == before + 50
    django_cache.clear()  # Redis lost everything
    assert raw(cache.DATA) is None
    restarted = cache.versions(cache.DATA)[0]
    assert restarted > bumped
    assert restarted >= (dt.datetime.now(dt.UTC).timestamp() - 60) * 1e6
    django_cache.clear()
    cache.bump(cache.FORECASTS)  # a bump of a lost counter restarts it too
    assert raw(cache.FORECASTS) > restarted


def test_versions_are_read_together_and_unknown_scopes_refused():
    data, grid = cache.versions(cache.DATA, cache.GRID)
    cache.bump(cache.GRID)
    assert cache.versions(cache.DATA, cache.GRID) == (data, grid + 1)
    with pytest.raises(ValueError):
        cache.bump("everything")
    with pytest.raises(ValueError):
        cache.VersionedCache("x", ("data", "nope"))


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_bump_counts_once():
    (before,) = cache.versions(cache.AREAS)
    cache.bump(cache.AREAS)
    assert cache.versions(cache.AREAS) == (before + 1,)


def test_in_a_transaction_a_bump_counts_now_and_after_the_commit(
    db, django_capture_on_commit_callbacks
):
    (before,) = cache.versions(cache.FORECASTS)
    with django_capture_on_commit_callbacks() as callbacks:
        cache.bump(cache.FORECASTS)
        assert cache.versions(cache.FORECASTS) == (before + 1,)
        cache.bump(cache.FORECASTS)  # read since: counts again
        assert cache.versions(cache.FORECASTS) == (before + 2,)
    assert len(callbacks) == 1  # one after-commit bump per transaction and scope
    callbacks[0]()
    assert cache.versions(cache.FORECASTS) == (before + 3,)


def test_many_changes_without_a_read_in_between_count_once(
    db, django_capture_on_commit_callbacks
):
    (before,) = cache.versions(cache.DATA)
    with django_capture_on_commit_callbacks() as callbacks:
        for _ in range(500):
            cache.bump(cache.DATA)
    assert raw(cache.DATA) == before + 1
    assert len(callbacks) == 1


def test_a_savepoint_rollback_does_not_lose_the_after_commit_bump(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                cache.bump(cache.GRID)
                raise RuntimeError
        except RuntimeError:
            pass
        cache.bump(cache.GRID)  # the hook registered inside was dropped with it
    assert len(callbacks) == 1


def make_incident(offense_id: int = 1) -> Incident:
    return Incident(
        offense_id=offense_id,
        report_number=f"T-{offense_id}",
        offense_start=WEEK,
        reported_at=WEEK,
        crime_against="PERSON",
        location=Point(-122.33, 47.61, srid=4326),
    )


def moves(scope: str, change) -> bool:
    """Whether ``change()`` moves ``scope`` (read before and after)."""
    (before,) = cache.versions(scope)
    change()
    return cache.versions(scope)[0] != before


def new_version(**fields) -> ModelVersion:
    return ModelVersion.objects.create(
        kind="synthetic", checkpoint="none.pt", data_until=WEEK, **fields
    )


def test_every_way_rows_change_bumps_their_scope(db):
    # Incidents: instance saves, and every queryset write (no per-row delete signal).
    assert moves(cache.DATA, lambda: make_incident(1).save())
    assert moves(cache.DATA, lambda: Incident.objects.bulk_create([make_incident(2)]))
    assert moves(
        cache.DATA, lambda: Incident.objects.filter(offense_id=2).update(beat="K1")
    )
    assert moves(cache.DATA, lambda: Incident.objects.filter(offense_id=2).delete())
    assert not moves(cache.DATA, lambda: Incident.objects.filter(pk=-1).update(beat=""))
    # An import run changes answers when it finishes (the importer bumps) or goes.
    run = ImportRun.objects.create(file_name="x.csv")
    assert not moves(cache.DATA, lambda: ImportRun.objects.create(file_name="y.csv"))
    assert moves(cache.DATA, run.delete)
    # Areas (a reload deletes and bulk-creates them).
    beat = Area.objects.filter(kind="beat").first()
    assert moves(cache.AREAS, beat.delete)
    assert moves(cache.AREAS, lambda: Area.objects.bulk_create([beat]))
    # The grid.
    assert moves(cache.GRID, lambda: Cell.objects.filter(idx=0).update(lon=0.0))
    assert moves(cache.GRID, lambda: Cell.objects.filter(idx=0).delete())
    # Model versions: create, activate (queryset updates), delete, and the loaded
    # checkpoint's scope with them.
    version = new_version()
    assert moves(cache.MODELS, version.activate)
    assert moves(cache.FORECASTS, new_version().activate)
    assert moves(cache.FORECASTS, lambda: version.save(update_fields=["notes"]))
    run = ForecastRun.objects.create(model_version=version, start=WEEK)
    assert moves(cache.FORECASTS, run.delete)
    # Nothing to delete: nothing to bump.
    assert not moves(cache.FORECASTS, lambda: ForecastValues.objects.all().delete())
    ForecastValues.objects.create(
        model_version=version, hour_start=WEEK, category="all", values=b"", total=0
    )
    assert moves(cache.FORECASTS, lambda: ForecastValues.objects.all().delete())
    assert moves(cache.FORECASTS, version.delete)
    assert moves(cache.MODELS, new_version().delete)


def test_services_that_write_with_sql_bump(db):
    from crimes.boundaries import load_boundaries
    from predictions.services.cells import build_cells
    from streets.services.street_network import load_network

    assert moves(cache.GRID, lambda: build_cells(cell_size=600))
    assert moves(cache.STREETS, load_network)
    # As the migration calls it: with the historical model, which sends no signal.
    historical = apps.get_model("crimes", "Area")
    assert moves(
        cache.AREAS, lambda: load_boundaries(historical, settings.BOUNDARIES_DIR)
    )


def test_every_model_an_answer_reads_is_tracked():
    assert {m.__name__: cache.scopes_of(m) for m in cache.tracking._tracked} == {
        "Incident": (cache.DATA,),
        "ImportRun": (cache.DATA,),
        "Area": (cache.AREAS,),
        "Cell": (cache.GRID,),
        "ModelVersion": (cache.FORECASTS, cache.MODELS),
        "ForecastRun": (cache.FORECASTS,),
        "ForecastValues": (cache.FORECASTS,),
        "StreetEdge": (cache.STREETS,),
        "StreetLine": (cache.STREETS,),
        "MapArea": (cache.STREETS,),
        "MapLabel": (cache.STREETS,),
        "StreetNetworkLoad": (cache.STREETS,),
        "TripReference": (cache.FORECASTS,),
    }


def test_a_versioned_cache_keeps_a_value_until_its_scopes_move():
    calls = []

    def make():
        calls.append(1)
        return {"n": len(calls)}

    local = cache.VersionedCache("t-local", (cache.GRID,), local=2)
    shared = cache.VersionedCache("t-shared", (cache.DATA, cache.AREAS), shared=True)
    for c in (local, shared):
        calls.clear()
        assert c.get("k", make) == {"n": 1}
        assert c.get("k", make) == {"n": 1} and len(calls) == 1
        assert c.get("other", make) == {"n": 2}
        cache.bump(*c.scopes[-1:])
        assert c.get("k", make) == {"n": 3}
        with cache.uncached():
            assert c.get("k", make) == {"n": 4}  # computed, not stored
        assert c.get("k", make) == {"n": 3}
    # The shared entry serves another process (here: this one with its memory gone).
    shared.clear_local()
    assert shared.get("k", make) == {"n": 3}
    # Failures are not cached; None is a value.
    with pytest.raises(ZeroDivisionError):
        local.get("bad", lambda: 1 / 0)
    assert local.get("none", lambda: None) is None
    assert local.get("none", make) is None


def test_versions_are_read_before_the_value_is_built():
    c = cache.VersionedCache("t-order", (cache.FORECASTS,), shared=True)

    def make_and_change():
        cache.bump(cache.FORECASTS)  # a write lands while the value is built
        return "built from older rows than the new version"

    c.get("k", make_and_change)
    assert c.get("k", lambda: "rebuilt") == "rebuilt"


def test_the_response_key_names_scheme_host_path_query_and_vary():
    rf = RequestFactory()
    key = cache.request_key
    a = rf.get("/api/v1/forecasts/?b=2&a=1&a=3", HTTP_ACCEPT="application/geo+json")
    assert key(a, ("Accept",)) == (
        "http",
        "testserver",
        "/api/v1/forecasts/",
        (("a", ("1", "3")), ("b", ("2",))),
        ("application/geo+json",),
    )
    same = rf.get("/api/v1/forecasts/?a=1&b=2&a=3", HTTP_ACCEPT="application/geo+json")
    assert key(same, ("Accept",)) == key(a, ("Accept",))
    assert key(rf.get("/api/v1/forecasts/?a=3&a=1&b=2")) != key(a)  # value order
    assert key(rf.get("/api/v1/forecasts/?a=1&a=3&b=2", secure=True)) != key(a)
    assert key(rf.get("/api/v1/forecasts/?a=1&a=3&b=2", HTTP_HOST="localhost")) != (
        key(a)
    )
    assert cache.etag(1, "x") == cache.etag(1, "x") != cache.etag(2, "x")


def test_the_lookup_script_reads_versions_and_entry_in_one_round_trip():
    entry = cache.entry_key("t-lookup", ("k",))
    reply = cache.run(cache.lookup_call((cache.DATA, cache.GRID), entry, "h1"))
    found, value = cache.read_lookup((cache.DATA, cache.GRID), reply)
    assert found == cache.versions(cache.DATA, cache.GRID) and value is None
    cache.redis_client().set(entry + cache.token_of(found) + ":h1", b"v")
    reply = cache.run(cache.lookup_call((cache.DATA, cache.GRID), entry, "h1"))
    assert cache.read_lookup((cache.DATA,), reply) == (found, b"v")


def test_a_lookup_whose_script_redis_lacks_loads_it(monkeypatch):
    # As after a Redis restart: the script's SHA is unknown to the server.
    (before,) = cache.versions(cache.GRID)
    monkeypatch.setattr(cache.scripts, "LOOKUP_SHA", "0" * 40)
    monkeypatch.setattr(cache.scripts, "BUMP_SHA", "0" * 40)
    cache.bump(cache.GRID)
    assert cache.versions(cache.GRID) == (before + 1,)


def test_an_entry_another_release_wrote_is_a_miss():
    c = cache.VersionedCache("t-release", (cache.DATA,), shared=True)
    current = c.versions()
    cache.redis_client().set(c._shared_key("k", current), b"\x80\x05not a pickle")
    assert c.get("k", lambda: "made") == "made"
    assert c.lookup("k") == (current, "made")


def test_an_entry_over_the_size_cap_is_not_kept_in_redis(settings):
    # Issue 16: one forecast variant took 33.5 MB of Redis for an hour.
    settings.CACHE_MAX_ENTRY_BYTES = 64 * 1024
    store = cache.VersionedCache("size-cap", (cache.DATA,), shared=True)
    calls = []

    def make(n: int):
        calls.append(n)
        return b"x" * n

    assert store.get("small", lambda: make(1000)) == b"x" * 1000
    assert store.get("large", lambda: make(200_000)) == b"x" * 200_000
    assert store.get("small", lambda: make(1000)) == b"x" * 1000  # from Redis
    assert store.get("large", lambda: make(200_000)) == b"x" * 200_000  # made again
    assert calls == [1000, 200_000, 200_000]


def test_a_shared_miss_is_one_round_trip_before_the_value_is_made(monkeypatch):
    # The lookup script reads the versions and the entry together; reading the
    # entry again before making it cost every new routed commute a round trip.
    store = cache.VersionedCache("t-one-trip", (cache.DATA,), shared=True)
    sent = record_redis_commands(monkeypatch)
    assert store.get("k", lambda: "made") == "made"
    assert sent == ["EVALSHA", "SET"]
    sent.clear()
    store.clear_local()
    assert store.get("k", lambda: "again") == "made"
    assert sent == ["EVALSHA"]


def test_a_pinned_block_reads_every_version_once(monkeypatch):
    local = cache.VersionedCache("t-pinned", (cache.GRID,), local=4)
    shared = cache.VersionedCache("t-pinned-shared", (cache.DATA,), shared=True)
    client = cache.redis_client()
    real = type(client).execute_command  # for a write nobody counts
    sent = record_redis_commands(monkeypatch)
    before = cache.versions(*cache.SCOPES)
    grid = before[cache.SCOPES.index(cache.GRID)]
    sent.clear()
    with cache.pinned():
        assert cache.versions(*cache.SCOPES) == before
        assert local.get("k", lambda: "made") == "made"
        assert local.get("k", lambda: "again") == "made"
        # Another process changes the data: this block answers as it began.
        real(client, "INCR", cache.version_key(cache.GRID))
        assert cache.versions(cache.GRID) == (grid,)
        assert local.get("k", lambda: "again") == "made"
        assert shared.get("k", lambda: "made") == "made"  # a GET and a SET
        with cache.pinned():  # nested: the outer reading holds
            assert cache.versions(*cache.SCOPES) == before
    assert sent == ["EVALSHA", "GET", "SET"]
    assert cache.versions(cache.GRID) == (grid + 1,)
    assert local.get("k", lambda: "after the change") == "after the change"


def test_a_bump_inside_a_pinned_block_unpins_it():
    with cache.pinned():
        (grid,) = cache.versions(cache.GRID)
        cache.bump(cache.GRID)
        assert cache.versions(cache.GRID) == (grid + 1,)
