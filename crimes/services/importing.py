"""The one import service: SPD file (portal CSV, NIBRS CSV, SODA JSON) -> Incident.

The command line, the admin upload (via a Celery task) and the SODA sync all end in
`run_import`. How it works, and why:

* The file is parsed in Python, streaming (ml.spd_files), and every record, good or
  rejected, is COPYed into a temporary staging table with its line number. Python
  never holds more than a chunk.
* Inside ONE transaction: duplicate offense ids are resolved (the last line wins; the
  earlier ones are rejected and counted), rejected rows are copied to RejectedRow, and
  ONE ``INSERT ... ON CONFLICT (offense_id) DO UPDATE ... WHERE (...) IS DISTINCT
  FROM (...)`` writes Incident. Re-importing the same file therefore writes nothing and
  reports every row unchanged; ``xmax = 0`` on RETURNING tells inserts from updates.
* A file that cannot be read as a whole (bad gzip, unknown header, binary junk, broken
  JSON) raises inside the transaction: the database stays exactly as it was and only
  the ImportRun row records the failure.
* Progress (bytes read of the file on disk) is written to the ImportRun row through a
  second database connection, so it is visible while the data transaction is open.
* After a committed import that wrote rows, ``ANALYZE crimes_incident`` refreshes the
  planner's statistics (the history API's covering indexes depend on them). It runs
  on commit, outside the import's transaction (VACUUM could not run in one at all).
* A run is RUNNING only while its owner holds a session-level PostgreSQL advisory
  lock on it (taken in `claim`, released when the run ends). PostgreSQL drops the
  lock with the owner's connection, however the process died, so a RUNNING run whose
  lock is free is dead: `reclaim_stale_runs` (called when a run is claimed and when
  the admin shows runs) marks it failed instead of leaving it "running" forever.
  The mechanism is shared with training and forecast runs: run_ownership.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from core.cache import DATA, bump
from core.models import RunStatus
from core.run_ownership import RunOwnership, failed_fields, worker_label
from crimes.models import ImportRun, Incident, RejectedRow
from ml.spd_files import (
    DATA_COLUMNS,
    TIME_COLUMNS,
    SpdFile,
    UnreadableFile,
)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

STAGING = "spd_import_staging"
# One staging row per record: where it was, why it was rejected (or NULL), then the
# values ml.spd_files.normalise produces, in TARGET_FIELDS order.
_STAGING_TYPES = {
    "line_no": "integer NOT NULL",
    "reason": "text",
    "raw": "text",
    "offense_id": "bigint",
    **{c: "timestamptz" if c in TIME_COLUMNS else "text" for c in DATA_COLUMNS},
    "lon": "double precision",
    "lat": "double precision",
}
STAGING_COLUMNS = tuple(_STAGING_TYPES)
_STAGING_DDL = (
    f"CREATE TEMPORARY TABLE {STAGING} ("
    + ", ".join(f"{name} {kind}" for name, kind in _STAGING_TYPES.items())
    + ") ON COMMIT DROP"
)
_POINT = (
    "CASE WHEN s.lon IS NULL THEN NULL "
    "ELSE ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) END"
)
_DATA_LIST = ", ".join(DATA_COLUMNS)
_STAGED_DATA = ", ".join(f"s.{c}" for c in DATA_COLUMNS)
# The comparison that decides "changed": every data column and the location.
_CHANGED = (
    f"({', '.join(f'i.{c}' for c in DATA_COLUMNS)}, i.location) IS DISTINCT FROM "
    f"({', '.join(f'EXCLUDED.{c}' for c in DATA_COLUMNS)}, EXCLUDED.location)"
)
_SAME = (
    f"({', '.join(f'i.{c}' for c in DATA_COLUMNS)}, i.location) IS NOT DISTINCT FROM "
    f"({_STAGED_DATA}, {_POINT})"
)
PROGRESS_INTERVAL_S = 0.5
# Advisory lock key of a run: (RUN_LOCK_CLASS, run id), two int4 halves. "SPDi".
RUN_LOCK_CLASS = 0x53504469
STALE_RUN_ERROR = (
    "The import stopped without finishing: the process running it died or was "
    "killed (its database session ended). Marked failed by the next check; the "
    "database holds none of its rows. Run it again."
)
RUNS = RunOwnership(
    ImportRun,
    RUN_LOCK_CLASS,
    lambda run: {"error": STALE_RUN_ERROR},
    after_failure=lambda run_ids: remove_failed_uploads(run_ids),
)


class ImportFailed(Exception):
    """The import did not happen; the ImportRun says why."""


def new_run(
    source: str,
    *,
    file_name: str = "",
    dry_run: bool = False,
    user=None,
) -> ImportRun:
    return ImportRun.objects.create(
        source=source, file_name=file_name, dry_run=dry_run, created_by=user
    )


def claim(run_id: int) -> bool:
    """Mark a pending run running; False when someone else already has it.

    The claimer takes the run's advisory lock first, so a RUNNING run always has a
    live owner or none at all (then `reclaim_stale_runs` fails it). Runs whose
    owner died are reclaimed here, when a new import starts.
    """
    return RUNS.claim(run_id, worker=worker_label())


def release(run_id: int) -> None:
    """Drop this connection's hold on the run (idempotent; see run_ownership)."""
    RUNS.release(run_id)


def reclaim_stale_runs(run_ids: list[int] | None = None) -> int:
    """Mark RUNNING runs whose owner is gone as failed; returns how many."""
    return RUNS.reclaim_dead(run_ids)


def remove_failed_uploads(run_ids: list[int] | None = None) -> int:
    """Delete the stored upload files of failed runs (up to 512 MB each); the run
    keeps its name, counts and error. Returns how many files were removed."""
    runs = ImportRun.objects.filter(status=ImportRun.Status.FAILED).exclude(upload="")
    if run_ids is not None:
        runs = runs.filter(pk__in=run_ids)
    removed = 0
    for run in runs:
        try:
            run.upload.delete(save=False)
        except OSError:
            log.warning("could not delete %s", run.upload.name, exc_info=True)
            continue
        ImportRun.objects.filter(pk=run.pk).update(upload="")
        removed += 1
    return removed


def analyze_incidents() -> None:
    """Refresh the planner's statistics of crimes_incident after an import.

    Called on commit, so outside the import's transaction. Best effort: stale
    statistics make queries slower, never wrong, so a failure is only logged.
    """
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Incident._meta.db_table}")
    except DatabaseError:
        log.warning("ANALYZE %s failed", Incident._meta.db_table, exc_info=True)
        return
    log.info(
        "ANALYZE %s took %.2fs", Incident._meta.db_table, time.monotonic() - started
    )


def import_file(
    path: str | Path,
    *,
    source: str = ImportRun.Source.COMMAND,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    user=None,
) -> ImportRun:
    """Import one file as a new ImportRun; raises ImportFailed when it fails."""
    path = Path(path)
    run = new_run(source, file_name=path.name, dry_run=dry_run, user=user)
    claim(run.pk)
    run.refresh_from_db()
    return run_import(run, path, progress=progress)


def run_import(
    run: ImportRun, path: str | Path, *, progress: ProgressCallback | None = None
) -> ImportRun:
    """Import `path` under an existing (claimed) run. Returns the finished run.

    Raises ImportFailed (after recording the failure on the run) when the file cannot
    be imported at all; the database is then unchanged apart from that ImportRun row.
    """
    if not RUNS.lock(run.pk):
        raise ImportFailed(f"import run {run.pk} is being run by another process")
    try:
        return _run_import(run, Path(path), progress)
    finally:
        RUNS.release(run.pk)


def _run_import(
    run: ImportRun, path: Path, progress: ProgressCallback | None
) -> ImportRun:
    started = time.monotonic()
    fields = {"status": ImportRun.Status.RUNNING}
    if run.started_at is None:
        fields["started_at"] = timezone.now()
    try:
        fields["bytes_total"] = path.stat().st_size
    except OSError as exc:
        give_up(run, f"cannot read {path}: {exc}")
    ImportRun.objects.filter(pk=run.pk).update(**fields)
    run.refresh_from_db()
    reporter = _ProgressWriter(run, progress)
    try:
        with transaction.atomic():
            counts = _import_in_transaction(run, path, reporter)
            if not run.dry_run:
                if counts["inserted"] or counts["updated"]:
                    transaction.on_commit(analyze_incidents)
                bump(DATA)  # the rows were written with SQL: no model signal
    except UnreadableFile as exc:
        reporter.close()
        give_up(run, str(exc))
    except BaseException as exc:
        # Not the file's fault (a database error, a time limit): failed with its
        # traceback, like every run.
        reporter.close()
        log.exception("import run %s failed", run.pk)
        mark_failed(run, exc)
        raise
    reporter.close()
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
        bytes_done=run.bytes_total,
        progress=1.0,
        **counts,
    )
    if not run.dry_run:
        bump(DATA)  # the finished run is part of every answer (freshness, last import)
    run.refresh_from_db()
    log.info(
        "import run %s (%s) done in %.1fs: %s",
        run.pk,
        path.name,
        time.monotonic() - started,
        counts,
    )
    return run


def mark_failed(run: ImportRun, error: str | BaseException) -> ImportRun:
    """Mark the run failed, release it and remove its upload; the run, refreshed.

    ``error``: the reason to show (a file that cannot be imported), or an unexpected
    exception (recorded with its traceback, core.run_ownership.failed_fields)."""
    if isinstance(error, BaseException):
        fields = failed_fields(error)
    else:
        fields = {"status": RunStatus.FAILED, "finished_at": timezone.now()}
        fields["error"] = error
    ImportRun.objects.filter(pk=run.pk).update(**fields)
    RUNS.release(run.pk)  # claimed, then failed before run_import (SODA fetch)
    remove_failed_uploads([run.pk])
    run.refresh_from_db()
    return run


def give_up(run: ImportRun, reason: str) -> NoReturn:
    """The file cannot be imported: the run is marked failed with ``reason`` and
    ImportFailed raised (the caller's transaction changed nothing)."""
    raise ImportFailed(mark_failed(run, reason).error)


def _import_in_transaction(
    run: ImportRun, path: Path, reporter: _ProgressWriter
) -> dict[str, int | str]:
    with SpdFile(path, on_bytes=reporter) as spd, connection.cursor() as cursor:
        phase = _Phases(run.pk)
        # Never touch the run row on this connection: the lock would block the
        # progress writer's connection until commit.
        reporter.set(file_format=spd.format.name)
        # Dropped explicitly too: inside an outer transaction ON COMMIT comes late.
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGING}")
        cursor.execute(_STAGING_DDL)
        rows_read = 0
        with cursor.copy(
            f"COPY {STAGING} ({', '.join(STAGING_COLUMNS)}) FROM STDIN"
        ) as copy:
            write = copy.write_row
            for row in spd.rows():
                rows_read += 1
                if row.values is None:
                    write((row.line, row.reason, row.raw) + _EMPTY_VALUES)
                else:
                    write((row.line, None, None) + row.values)
        phase("parse+copy")
        cursor.execute(f"ANALYZE {STAGING}")
        # Duplicate offense ids in one file: the last line wins (a later line is a
        # later state of the record); the earlier ones are rejected and counted.
        cursor.execute(
            f"""
            UPDATE {STAGING} s
               SET reason = 'duplicate offense id ' || s.offense_id
                            || ': superseded by line ' || d.last_line
              FROM (SELECT offense_id, max(line_no) AS last_line FROM {STAGING}
                     WHERE reason IS NULL GROUP BY offense_id
                    HAVING count(*) > 1) d
             WHERE s.reason IS NULL AND s.offense_id = d.offense_id
               AND s.line_no < d.last_line
            """
        )
        cursor.execute(
            f"""
            INSERT INTO {RejectedRow._meta.db_table} (run_id, line_number, reason, raw)
            SELECT %s, line_no, left(reason, 255), coalesce(raw, '')
              FROM {STAGING} WHERE reason IS NOT NULL ORDER BY line_no
            """,
            [run.pk],
        )
        rejected = cursor.rowcount
        cursor.execute(
            f"SELECT count(*), count(*) FILTER (WHERE lon IS NULL) FROM {STAGING} "
            "WHERE reason IS NULL"
        )
        valid, without_location = cursor.fetchone()
        phase("dedupe+rejects")
        if run.dry_run:
            inserted, updated = _dry_run_counts(cursor)
        else:
            inserted, updated = _upsert(cursor, run, valid)
        phase("upsert")
        cursor.execute(f"DROP TABLE {STAGING}")
    return {
        # JSON refines its format (old or 2025 field names) once it sees a record.
        "file_format": spd.format.name,
        "rows_read": rows_read,
        "inserted": inserted,
        "updated": updated,
        "unchanged": valid - inserted - updated,
        "rejected": rejected,
        "without_location": without_location,
    }


_EMPTY_VALUES = (None,) * (len(STAGING_COLUMNS) - 3)


def _upsert(cursor, run: ImportRun, valid: int) -> tuple[int, int]:
    table = Incident._meta.db_table
    updates = ", ".join(
        f"{c} = EXCLUDED.{c}"
        for c in (*DATA_COLUMNS, "location", "source", "import_run_id", "updated_at")
    )
    rebuild = _drop_secondary_indexes(cursor) if _is_bulk_load(cursor, valid) else []
    # Rows identical to the stored ones are filtered out before the INSERT (a hash
    # join), so a re-import never pays for speculative insertion and generated
    # columns; the ON CONFLICT ... WHERE still guarantees "unchanged = not written".
    cursor.execute(
        f"""
        WITH written AS (
            INSERT INTO {table} AS i (offense_id, {_DATA_LIST}, location, source,
                                      import_run_id, imported_at, updated_at)
            SELECT s.offense_id, {_STAGED_DATA}, {_POINT}, %(source)s, %(run)s,
                   now(), now()
              FROM {STAGING} s
             WHERE s.reason IS NULL
               AND NOT EXISTS (SELECT 1 FROM {table} i
                                WHERE i.offense_id = s.offense_id AND {_SAME})
            ON CONFLICT (offense_id) DO UPDATE SET {updates}
            WHERE {_CHANGED}
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
          FROM written
        """,
        {"source": run.source, "run": run.pk},
    )
    counts = cursor.fetchone()
    log.info(
        "import run %s: upsert wrote %s (bulk load: %s)", run.pk, counts, bool(rebuild)
    )
    if rebuild:
        # CREATE INDEX refuses to run with deferred FK checks (import_run) pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for definition in rebuild:
        cursor.execute(definition)
    return counts


# Below this many rows an import is never a bulk load (the index dance is not worth it).
BULK_MIN_ROWS = 50_000


def _is_bulk_load(cursor, valid: int) -> bool:
    """True when the file at least doubles the table: then building the secondary
    indexes once afterwards is several times faster than maintaining them row by row
    (measured: 30 s vs 8 s for 680k rows). It takes an exclusive lock on Incident
    until commit, acceptable for an initial load, never used for a daily sync."""
    if valid < BULK_MIN_ROWS:
        return False
    cursor.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {Incident._meta.db_table} LIMIT %s) t",
        [valid],
    )
    return cursor.fetchone()[0] < valid


def _drop_secondary_indexes(cursor) -> list[str]:
    """Drop Incident's non-unique indexes; return the DDL that recreates them exactly
    (the unique offense_id index stays: ON CONFLICT needs it). Inside the import's
    transaction, so a failure restores them."""
    cursor.execute(
        """
        SELECT c.relname, pg_get_indexdef(x.indexrelid)
          FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
         WHERE x.indrelid = %s::regclass AND NOT x.indisunique
           AND NOT x.indisprimary
        """,
        [Incident._meta.db_table],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    return [definition for _, definition in indexes]


def _dry_run_counts(cursor) -> tuple[int, int]:
    """What the upsert would do, computed by a read-only join."""
    changed = _CHANGED.replace("EXCLUDED.location", _POINT).replace("EXCLUDED.", "s.")
    cursor.execute(
        f"""
        SELECT count(*) FILTER (WHERE i.id IS NULL),
               count(*) FILTER (WHERE i.id IS NOT NULL AND {changed})
          FROM {STAGING} s LEFT JOIN {Incident._meta.db_table} i
               ON i.offense_id = s.offense_id
         WHERE s.reason IS NULL
        """
    )
    return cursor.fetchone()


class _Phases:
    """Logs how long each phase took (the benchmark shows these)."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.last = time.monotonic()

    def __call__(self, name: str) -> None:
        now = time.monotonic()
        log.info("import run %s: %s took %.2fs", self.run_id, name, now - self.last)
        self.last = now


class _ProgressWriter:
    """Called with bytes read; writes them to the run (throttled) on its own
    connection, because the import's own connection is inside an open transaction."""

    def __init__(self, run: ImportRun, callback: ProgressCallback | None):
        self.run_id = run.pk
        self.total = run.bytes_total
        self.callback = callback
        self._last = 0.0
        self._conn = None

    def __call__(self, done: int) -> None:
        if self.callback is not None:
            self.callback(done, self.total)
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL_S and done < self.total:
            return
        self._last = now
        fraction = min(1.0, done / self.total) if self.total else 0.0
        self.set(
            bytes_done=done, progress=round(fraction, 4), heartbeat_at=timezone.now()
        )

    def set(self, **fields) -> None:
        assignments = ", ".join(f"{name} = %s" for name in fields)
        try:
            if self._conn is None:
                self._conn = connections.create_connection("default")
            with self._conn.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportRun._meta.db_table} SET {assignments} "
                    "WHERE id = %s",
                    [*fields.values(), self.run_id],
                )
        except Exception:  # progress is best effort; the import itself goes on
            log.warning("could not record progress of run %s", self.run_id)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
