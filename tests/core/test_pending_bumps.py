"""core.pending_bumps on the real PostgreSQL and Redis: a bump Redis misses is
recorded, and applying the records is idempotent and never drops a newer failure.

End to end (a Redis of its own stopped and restarted with its keys, the server
workers, beat's task): tests/test_faults.py.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from core import cache, pending_bumps, redis_guard
from core.models import PendingCacheBump
from tests.localstack import free_port


def pending() -> dict[str, int]:
    return dict(PendingCacheBump.objects.values_list("scope", "failures"))


@pytest.fixture
def redis_down(settings, monkeypatch):
    """The cache's Redis is unreachable (a port nobody listens on) until ``back()``;
    the breaker reopens at once, so a test need not wait BREAKER_S."""
    monkeypatch.setattr(redis_guard, "BREAKER_S", 0.0)
    real = settings.CACHE_REDIS_URL
    settings.CACHE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setattr(cache, "_client", None)
    redis_guard.reset()

    def back() -> None:
        settings.CACHE_REDIS_URL = real
        cache._client = None

    yield back
    back()
    redis_guard.reset()


def test_applying_is_idempotent_and_keeps_a_row_refailed_after_the_read(db):
    data, areas = cache.versions(cache.DATA, cache.AREAS)
    pending_bumps.record(cache.DATA)
    pending_bumps.record(cache.AREAS)
    rows = pending_bumps.read()
    pending_bumps.record(cache.DATA)  # fails again after an applier read the rows
    assert pending() == {cache.DATA: 2, cache.AREAS: 1}

    assert pending_bumps.apply(rows) == [cache.AREAS, cache.DATA]
    assert cache.versions(cache.DATA, cache.AREAS) == (data + 1, areas + 1)
    assert pending() == {cache.DATA: 2}  # the newer failure is still to apply
    # A second process that read the same rows: one more bump each, nothing deleted.
    assert pending_bumps.apply(rows) == [cache.AREAS, cache.DATA]
    assert pending() == {cache.DATA: 2}
    assert pending_bumps.apply() == [cache.DATA]
    assert pending() == {}
    assert pending_bumps.apply() == []
    assert cache.versions(cache.DATA, cache.AREAS) == (data + 3, areas + 2)


@pytest.mark.django_db(transaction=True)
def test_the_bump_that_counts_is_recorded_and_the_first_success_applies_it(
    redis_down, caplog
):
    cache.bump(cache.AREAS)  # outside a transaction: recorded at once
    assert pending() == {cache.AREAS: 1}
    with pytest.raises(RuntimeError), transaction.atomic():
        cache.bump(cache.GRID)
        raise RuntimeError("rolled back: nothing changed, nothing to apply")
    with transaction.atomic():
        cache.bump(cache.STREETS)
        assert cache.STREETS not in pending()  # its own reads' bump is not recorded
    assert pending() == {cache.AREAS: 1, cache.STREETS: 1}  # after the commit
    assert "not bumped" in caplog.text

    redis_down()  # Redis is back (with whatever counters it kept)
    streets = int(cache.redis_client().get(cache.version_key(cache.STREETS)) or 0)
    # The first success in this process applies what is pending.
    cache.versions(cache.DATA)
    assert pending() == {}
    assert cache.versions(cache.STREETS)[0] > streets
    assert "Redis is available again" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_bump_that_cannot_be_recorded_either_is_logged(redis_down, caplog):
    from django.db import connection

    # The table cannot be written (here: it is away; PostgreSQL down reads the same
    # to record(), a DatabaseError), and the writer still gets no exception.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_pendingcachebump RENAME TO pcb_away")
    try:
        cache.bump(cache.DATA)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE pcb_away RENAME TO core_pendingcachebump")
    assert "could not be recorded either" in caplog.text
