"""CSV and GeoJSON exports of a history selection: written by PostgreSQL, streamed,
cached per data version and selection, capped at a row limit.

An export of a year is about 10 MB. It used to be built in a web worker, a Python
dict and a json.dumps per row (2-5 s of CPU each), so four clients pulling exports
held every worker and /history/ took 7-10 s for everyone (issue 10). Now:

* PostgreSQL writes the rows: CSV through ``COPY (SELECT ...) TO STDOUT``, each
  GeoJSON feature with ``jsonb_build_object``; the worker only passes bytes on.
* The answer streams as the rows arrive: no worker holds a whole export in memory.
* While it streams it is gzipped into the cache, under the data versions (core.cache),
  format, selection and row limit, so the next pull of the same selection is one read
  from Redis, sent compressed to clients that accept gzip. An import changes the data
  version, so a cached export is never older than the data.
* Exports have their own, tighter throttle (core.throttling.ExportThrottle).
* Text cells that start like a formula are prefixed with ' in the CSV
  (core.csv_safe), so a spreadsheet shows them instead of running them.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from core.cache import bypassed, in_outage, token_of
from core.csv_safe import sql_safe_text
from core.local_time import TZ_NAME
from crimes.services.filters import HistoryFilters
from crimes.services.history_queries import INCIDENT_FIELDS, incident_count, no_jit

TIME_FIELDS = ("offense_start", "offense_end", "reported_at")
TEXT_FIELDS = tuple(
    f for f in INCIDENT_FIELDS if f != "offense_id" and f not in TIME_FIELDS
)
CSV_HEADER = (*INCIDENT_FIELDS, "longitude", "latitude")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json"}
# A gzipped export larger than this is not cached (a year of rows is ~1.5 MB).
MAX_CACHED_BYTES = 8 * 1024 * 1024
FETCH_ROWS = 2000
CHUNK_BYTES = 256 * 1024


def _local_time(column: str) -> str:
    # Seattle clock with its offset (the session time zone is set to Seattle), e.g.
    # 2021-12-31T23:45:00-08:00: what the rest of the API writes.
    return f"to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"


def _coordinate(axis: str) -> str:
    return f"round(ST_{axis}(location)::numeric, 6)::float8"


def _csv_columns() -> str:
    columns = []
    for name in INCIDENT_FIELDS:
        if name in TIME_FIELDS:
            columns.append(_local_time(name))
        elif name in TEXT_FIELDS:
            columns.append(sql_safe_text(name))
        else:
            columns.append(name)
    return ", ".join([*columns, _coordinate("X"), _coordinate("Y")])


def _feature_sql() -> str:
    props = ", ".join(
        f"'{name}', {_local_time(name) if name in TIME_FIELDS else name}"
        for name in INCIDENT_FIELDS
    )
    return (
        "jsonb_build_object('type', 'Feature', 'id', offense_id, 'geometry', "
        "CASE WHEN location IS NULL THEN NULL ELSE jsonb_build_object('type', 'Point',"
        f" 'coordinates', jsonb_build_array({_coordinate('X')}, {_coordinate('Y')}))"
        f" END, 'properties', jsonb_build_object({props}))::text"
    )


@dataclass(frozen=True)
class Export:
    """What an export of a selection holds; the body comes from `chunks`."""

    fmt: str
    filters: HistoryFilters
    total: int
    limit: int

    @property
    def rows(self) -> int:
        return min(self.total, self.limit)

    @property
    def capped(self) -> bool:
        return self.total > self.limit

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.fmt]


def _cache_key(
    fmt: str, filters: HistoryFilters, limit: int, versions: tuple[int, ...]
) -> str:
    return f"export:{fmt}:{token_of(versions)}:{limit}:{filters.cache_key()}"


def cached(
    fmt: str,
    filters: HistoryFilters,
    versions: tuple[int, ...],
    limit: int | None = None,
) -> tuple[Export, bytes] | None:
    """(the export, its gzipped body) from an earlier pull of the same selection at
    these data versions, without a query; None when there is none."""
    limit = limit or settings.HISTORY_EXPORT_MAX_ROWS
    if in_outage(versions) or bypassed():
        return None
    hit = cache.get(_cache_key(fmt, filters, limit, versions))
    if hit is None:
        return None
    total, body = hit
    return Export(fmt, filters, total, limit), body


def plan(fmt: str, filters: HistoryFilters, limit: int | None = None) -> Export:
    """A fresh export (one count query); its body comes from `stream_and_cache`."""
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"unknown export format {fmt!r}")
    limit = limit or settings.HISTORY_EXPORT_MAX_ROWS
    return Export(fmt, filters, incident_count(filters), limit)


def _select(export: Export, columns: str) -> tuple[str, list]:
    where, params = export.filters.where_sql()
    sql = (
        f"SELECT {columns} FROM crimes_incident WHERE {where}"
        " ORDER BY offense_start DESC, id DESC LIMIT %s"
    )
    return sql, [*params, export.limit]


def _csv_rows(export: Export) -> Iterator[bytes]:
    head = io.StringIO()
    csv.writer(head).writerow(CSV_HEADER)
    yield head.getvalue().encode()
    sql, params = _select(export, _csv_columns())
    with no_jit(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = %s", [TZ_NAME])
        # COPY binds the parameters client-side (it takes none of its own).
        with cursor.cursor.copy(
            f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params
        ) as copy:
            yield from (bytes(block) for block in copy)


def _filters_dict(filters: HistoryFilters) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in filters.query_items():
        out.setdefault(name, []).append(value)
    return out


def _geojson_rows(export: Export) -> Iterator[bytes]:
    head = json.dumps(
        {
            "type": "FeatureCollection",
            "total": export.total,
            "limit": export.limit,
            "capped": export.capped,
            "filters": _filters_dict(export.filters),
        },
        separators=(",", ":"),
    )
    yield (head[:-1] + ',"features":[').encode()
    sql, params = _select(export, _feature_sql())
    first = True
    with no_jit():
        with connection.cursor() as setup:
            setup.execute("SET LOCAL TimeZone = %s", [TZ_NAME])
        cursor = connection.chunked_cursor()  # server-side: rows arrive in batches
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(FETCH_ROWS):
                text = ",".join(row[0] for row in rows)
                yield (text if first else "," + text).encode()
                first = False
        finally:
            cursor.close()
    yield b"]}"


def chunks(export: Export) -> Iterator[bytes]:
    """The export's body, generated by PostgreSQL as it is read."""
    return _csv_rows(export) if export.fmt == "csv" else _geojson_rows(export)


def stream_and_cache(export: Export, versions: tuple[int, ...]) -> Iterator[bytes]:
    """Yield the body while gzipping it into the cache (only when it was sent whole:
    a client that goes away midway leaves nothing behind)."""
    gzipper = zlib.compressobj(6, zlib.DEFLATED, 31)
    parts: list[bytes] = []
    size = 0
    for chunk in chunks(export):
        if size <= MAX_CACHED_BYTES:
            packed = gzipper.compress(chunk)
            parts.append(packed)
            size += len(packed)
        yield chunk
    if size <= MAX_CACHED_BYTES and not (in_outage(versions) or bypassed()):
        parts.append(gzipper.flush())
        key = _cache_key(export.fmt, export.filters, export.limit, versions)
        cache.set(key, (export.total, b"".join(parts)))


def gunzip_chunks(body: bytes) -> Iterator[bytes]:
    """A cached body, decompressed piece by piece for a client without gzip."""
    inflater = zlib.decompressobj(31)
    for start in range(0, len(body), CHUNK_BYTES):
        yield inflater.decompress(body[start : start + CHUNK_BYTES])
    yield inflater.flush()
