"""Bumps lost to a Redis outage: recorded in PostgreSQL, applied when Redis is back.

core.cache counts a change by incrementing a scope's version in Redis. When Redis is
unreachable at that moment the increment cannot happen; if Redis then comes back with
its keys (a network blip, a restart with persistence), every process would go on
serving answers cached from the old data, indefinitely. So a failed bump is written
down here, one row per scope (``PendingCacheBump``), and applied later:

- in-process, by the first success after a failure in core.redis_guard (the breaker's
  closed transition, once per outage per process: no query on ordinary requests);
- by Celery beat every PENDING_BUMPS_INTERVAL_S (core.tasks.apply_pending_cache_bumps),
  for the processes that saw nothing (or exited).

When it is recorded: only for the bump that counts, after the commit (or at once
outside a transaction). The increment a transaction makes for its own reads is not
recorded: its after-commit twin is always registered, and a rolled-back transaction
changed nothing. The row is written in its own (sub)transaction, so a failure to
write it never breaks the caller's; when PostgreSQL is down too, that is logged.

Applying is idempotent and safe from several processes at once: read the rows, bump
their scopes, then delete only rows unchanged since the read (same id, same failure
count). A bump that fails again after the read raises the row's count (ON CONFLICT DO
UPDATE), or makes a new row after a delete, so it is never deleted unapplied; an
extra increment (two processes applying the same row) only retires cache entries.
"""

from __future__ import annotations

import logging
from functools import reduce
from operator import or_

from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from core import cache
from core.models import PendingCacheBump

log = logging.getLogger(__name__)

_TABLE = PendingCacheBump._meta.db_table
_RECORD = f"""
INSERT INTO {_TABLE} (scope, first_failed_at, last_failed_at, failures)
VALUES (%s, clock_timestamp(), clock_timestamp(), 1)
ON CONFLICT (scope) DO UPDATE
SET last_failed_at = EXCLUDED.last_failed_at, failures = {_TABLE}.failures + 1
"""

Row = tuple[int, str, int]  # id, scope, failures


def record(scope: str) -> None:
    """Write down that ``scope`` could not be bumped (its data changed)."""
    try:
        # Its own transaction (or a savepoint inside the caller's): an error here
        # must not poison the caller's transaction.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_RECORD, [scope])
    except DatabaseError as exc:
        log.error(
            "cache scope %r: a lost bump could not be recorded either (PostgreSQL: "
            "%s); answers cached before it may be served until they expire "
            "(CACHE_TIMEOUT)",
            scope,
            exc,
        )


def read() -> list[Row]:
    return list(PendingCacheBump.objects.values_list("id", "scope", "failures"))


def apply(rows: list[Row] | None = None) -> list[str]:
    """Bump the scopes of ``rows`` (default: every pending one) and delete the rows
    not re-failed since they were read; the scopes bumped."""
    rows = read() if rows is None else rows
    # Bumped after the read: every failure read is older than its bump.
    done = [row for row in rows if cache.increment(row[1]) is not None]
    if done:
        PendingCacheBump.objects.filter(
            reduce(or_, (Q(pk=pk, failures=n) for pk, _scope, n in done))
        ).delete()
    scopes = sorted({scope for _pk, scope, _n in done})
    if scopes:
        log.warning("cache scopes bumped after a Redis outage: %s", scopes)
    return scopes


def apply_quietly() -> None:
    try:
        apply()
    except DatabaseError as exc:  # beat tries again within a minute
        log.warning("pending cache bumps not applied now (PostgreSQL: %s)", exc)


def after_recovery() -> None:
    """core.redis_guard's recovery hook: apply what is pending, after the commit when
    inside a transaction (a rolled-back one leaves the rows for beat)."""
    if connection.in_atomic_block:
        transaction.on_commit(apply_quietly, robust=True)
    else:
        apply_quietly()
