"""Where and when crime was reported: aggregations behind the history page and API.

Everything here runs in PostgreSQL over crimes_incident's plain and generated columns
(x_utm / y_utm / local_hour / local_dow), which the covering index of migration
0003_history_indexes holds, so a citywide year is an index-only scan and a GROUP BY.
Filters come from crimes.services.filters; callers cache the results under the
versions of SCOPES (core.cache).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from core.cache import AREAS, DATA, VersionedCache
from core.grid_sql import GRID_ORIGIN, cell_ids_from, col_row_sql, corner_sql
from core.local_time import SEATTLE, TZ_NAME, day_words
from crimes import names
from crimes.models import Area, Incident, placeholder_sql
from crimes.services.filters import DAY_NAMES, HistoryFilters, Vocabulary
from crimes.services.summary import data_totals, last_import
from ml.grid import ID_BASE
from ml.spd_files import DATA_COLUMNS

# What every history answer is built from: the incidents and imports, and the areas
# (beat / MCPP vocabulary and polygons).
SCOPES = (DATA, AREAS)
TIMESERIES_INTERVALS = ("hour", "day", "week", "month")
MAX_BUCKETS = 10_000
AREA_KINDS = ("beat", "mcpp")
# Columns of an incident that the list, the API and the exports show: the key and
# the file's data columns (ml.spd_files), less the NIBRS-only and group A/B codes.
INCIDENT_FIELDS = (
    "offense_id",
    *(
        column
        for column in DATA_COLUMNS
        if column not in {"group_a_b", "shooting_type_group", "reporting_area"}
    ),
)
# Days the published file lacks (SPD's note on the dataset), written as every date is.
MISSING_DAYS = (dt.date(2020, 5, 6), dt.date(2020, 5, 26))
KNOWN_GAPS = (
    f"{day_words(MISSING_DAYS[0])} to {day_words(MISSING_DAYS[1])}"
    " is missing from the published file.",
    "Hours 00:00 and 12:00 include placeholder start times (time unknown).",
)


@contextmanager
def no_jit() -> Iterator[None]:
    """Run the enclosed queries without PostgreSQL's JIT.

    These queries scan tens of thousands of index entries, enough for the planner's
    cost to pass jit_above_cost; compiling then takes 250-350 ms for a query that
    runs in 40 ms. SET LOCAL keeps the change inside this transaction.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


def _fetchall(sql: str, params: list) -> list[tuple]:
    with no_jit(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- per-version facts (validation vocabulary, freshness) ---------------------------


@dataclass(frozen=True)
class HistoryState:
    version: int  # of the data
    vocabulary: Vocabulary
    groups: tuple[tuple[str, str, int], ...]  # (category, group, count), all data
    # Data-wide labels, so a group is named alike in every selection (crimes.names).
    group_labels: dict[tuple[str, str], str]
    group_filter_labels: dict[str, str]
    categories: tuple[tuple[str, int], ...]
    first_offense: dt.datetime | None
    last_offense: dt.datetime | None
    last_reported: dt.datetime | None
    total: int
    located: int
    last_modified: dt.datetime
    last_import: dict | None


# In process memory as well as in Redis: the version check (one Redis round trip) is
# all a warm request pays for it.
_STATE = VersionedCache("history-state", SCOPES, local=1, shared=True)


def history_state(versions: tuple[int, ...] | None = None) -> HistoryState:
    """Facts every request needs, computed once per version of the data and areas
    (callers that already read the versions pass them in)."""
    if versions is None:
        versions = _STATE.versions()
    return _STATE.get("all", lambda: _compute_state(versions[0]), versions=versions)


def _compute_state(version: int) -> HistoryState:
    group_rows = _fetchall(
        "SELECT crime_against, offense_parent_group, count(*) FROM crimes_incident"
        " GROUP BY 1, 2 ORDER BY 3 DESC, 2",
        [],
    )
    categories: dict[str, int] = {}
    for category, _group, count in group_rows:
        categories[category] = categories.get(category, 0) + count
    totals = data_totals()
    first, last = totals["first_offense"], totals["last_offense"]
    last_reported = totals["last_reported"]
    beats = {r[0] for r in _fetchall("SELECT DISTINCT beat FROM crimes_incident", [])}
    mcpps = {r[0] for r in _fetchall("SELECT DISTINCT mcpp FROM crimes_incident", [])}
    for kind, code in Area.objects.filter(kind__in=AREA_KINDS).values_list(
        "kind", "code"
    ):
        (beats if kind == "beat" else mcpps).add(code)
    last_run = last_import()
    stamps = [
        s for s in (totals["last_updated"], last_run and last_run.finished_at) if s
    ]
    last_modified = max(stamps) if stamps else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    # The default window is the last 12 months of data, ending on the last day with
    # a report (offense starts can carry typos years in the future; reports cannot).
    ends = [s for s in (last, last_reported) if s]
    end = min(ends).astimezone(SEATTLE).date() if ends else _today()
    start = end.replace(year=end.year - 1) + dt.timedelta(days=1)
    return HistoryState(
        version=version,
        vocabulary=Vocabulary(
            groups=frozenset(g for _c, g, _n in group_rows if g),
            beats=frozenset(b.upper() for b in beats if b),
            mcpps=frozenset(m.upper() for m in mcpps if m),
            default_start=start,
            default_end=end,
        ),
        groups=tuple(group_rows),
        group_labels=names.group_labels((c, g) for c, g, _n in group_rows),
        group_filter_labels=names.group_filter_labels(
            [(c, g) for c, g, _n in group_rows]
        ),
        categories=tuple(sorted(categories.items(), key=lambda kv: -kv[1])),
        first_offense=first,
        last_offense=last,
        last_reported=last_reported,
        total=totals["total"],
        located=totals["with_location"],
        last_modified=last_modified,
        last_import=None
        if last_run is None
        else {
            "id": last_run.pk,
            "finished_at": last_run.finished_at,
            "file_name": last_run.file_name,
            "source": last_run.source,
            "inserted": last_run.inserted,
            "updated": last_run.updated,
        },
    )


def _today() -> dt.date:
    return dt.datetime.now(tz=SEATTLE).date()


# --- aggregations -------------------------------------------------------------------


def grid(filters: HistoryFilters) -> dict:
    """Counts per grid cell (cell_size metres) with each cell's centre in lon/lat.

    Compact parallel arrays rather than GeoJSON polygons: a citywide year at 600 m is
    a few kilobytes and the browser draws squares from the centres.
    """
    size = float(filters.cell_size)
    col, row = col_row_sql("x_utm", "y_utm", size)
    centre_x, centre_y = corner_sql("col", "row", size, offset=0.5)
    where, params = filters.without_cell().where_sql()
    sql = f"""
        WITH counts AS (
            SELECT {col} AS col, {row} AS row, count(*) AS n
            FROM crimes_incident
            WHERE {where}
            GROUP BY 1, 2
        )
        SELECT col, row, n,
               ST_X(c), ST_Y(c)
        FROM counts,
             LATERAL (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(
                 {centre_x}, {centre_y}), %s), 4326) AS c) p
        WHERE col IS NOT NULL
        UNION ALL
        SELECT NULL, NULL, n, NULL, NULL FROM counts WHERE col IS NULL
    """
    rows = _fetchall(sql, [*params, settings.ANALYSIS_SRID])
    cells, lons, lats, counts = [], [], [], []
    outside = 0
    ordered = sorted(rows, key=lambda r: (r[1] is None, r[1], r[0]))
    placed = [r for r in ordered if r[0] is not None]
    ids = cell_ids_from([r[0] for r in placed], [r[1] for r in placed]).tolist()
    unlocated = sum(r[2] for r in ordered if r[0] is None)
    for cell, (_col, _row, n, lon, lat) in zip(ids, placed, strict=True):
        if cell < 0:
            outside += n  # a typo'd coordinate far from Seattle: no valid cell id
        else:
            cells.append(cell)
            lons.append(round(lon, 5))
            lats.append(round(lat, 5))
            counts.append(n)
    located = sum(counts)
    return {
        "cell_size": filters.cell_size,
        "srid": settings.ANALYSIS_SRID,
        "origin": list(GRID_ORIGIN),
        "start": filters.start,
        "end": filters.end,
        "days": filters.days,
        "total": located + unlocated + outside,
        "located": located,
        "unlocated": unlocated,
        "outside_grid": outside,
        "max": max(counts, default=0),
        "cells": cells,
        "lon": lons,
        "lat": lats,
        "counts": counts,
    }


def bucket_count(filters: HistoryFilters, interval: str) -> int:
    days = filters.days
    return {
        "hour": days * 24,
        "day": days,
        "week": days // 7 + 2,
        "month": days // 28 + 2,
    }[interval]


def timeseries(filters: HistoryFilters, interval: str) -> dict:
    """Counts per local-clock bucket, every bucket present (zeros included)."""
    if interval not in TIMESERIES_INTERVALS:
        raise ValueError(interval)
    where, params = filters.where_sql()
    local = f"(offense_start AT TIME ZONE '{TZ_NAME}')"
    first = dt.datetime.combine(filters.start, dt.time())
    last = dt.datetime.combine(filters.end, dt.time(23))
    sql = f"""
        WITH b AS (
            SELECT date_trunc(%s, {local}) AS t, count(*) AS n
            FROM crimes_incident WHERE {where} GROUP BY 1
        )
        SELECT to_char(g, 'YYYY-MM-DD"T"HH24:MI'), COALESCE(b.n, 0)
        FROM generate_series(date_trunc(%s, %s::timestamp),
                             date_trunc(%s, %s::timestamp),
                             ('1 ' || %s)::interval) AS g
        LEFT JOIN b ON b.t = g
        ORDER BY g
    """
    rows = _fetchall(
        sql, [interval, *params, interval, first, interval, last, interval]
    )
    return {
        "interval": interval,
        "start": filters.start,
        "end": filters.end,
        "timezone": TZ_NAME,
        "buckets": [r[0] for r in rows],
        "counts": [r[1] for r in rows],
        "total": sum(r[1] for r in rows),
    }


def profile_matrix(filters: HistoryFilters) -> tuple[list[list[int]], int]:
    """7 rows (Monday first) of 24 local-hour counts, and the total of the selection."""
    where, params = filters.where_sql()
    rows = _fetchall(
        f"SELECT local_dow, local_hour, count(*) FROM crimes_incident"
        f" WHERE {where} GROUP BY 1, 2",
        params,
    )
    matrix = [[0] * 24 for _ in range(7)]
    for dow, hour, n in rows:
        if dow is not None and hour is not None:
            matrix[dow][hour] = n
    return matrix, sum(n for _d, _h, n in rows)


def profile(filters: HistoryFilters) -> dict:
    """Counts by local day of week (rows, Monday first) and hour of day (columns)."""
    matrix, total = profile_matrix(filters)
    return {
        "days": list(DAY_NAMES),
        "hours": list(range(24)),
        "matrix": matrix,
        "by_hour": [sum(matrix[d][h] for d in range(7)) for h in range(24)],
        "by_day": [sum(row) for row in matrix],
        "total": total,
        "note": KNOWN_GAPS[1],
    }


def group_labels(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The data-wide labels (crimes.names) of these (category, group) pairs: a group is
    named alike in every selection."""
    labels = history_state().group_labels
    if any(pair not in labels for pair in pairs):
        # Rows written since the state was computed (its version is older).
        labels = names.group_labels([*labels, *pairs])
    return labels


def groups_and_precise_times(
    filters: HistoryFilters,
) -> tuple[list[tuple[str, str, int]], list[list[int]]]:
    """In one scan: (category, group, count) largest first, and the 7 x 24 local
    day-by-hour counts without placeholder start times (crimes.models.placeholder_sql),
    for a sentence that names a busiest time and must not find "midnight peaks"."""
    where, params = filters.where_sql()
    rows = _fetchall(
        "SELECT grouping(crime_against), crime_against, offense_parent_group,"
        f" local_dow, local_hour, count(*), count(*) FILTER (WHERE NOT"
        f" {placeholder_sql()}) FROM crimes_incident WHERE {where}"
        " GROUP BY GROUPING SETS"
        " ((crime_against, offense_parent_group), (local_dow, local_hour))",
        params,
    )
    groups: list[tuple[str, str, int]] = []
    matrix = [[0] * 24 for _ in range(7)]
    for by_time, category, group, dow, hour, n, precise in rows:
        if not by_time:
            groups.append((category, group, n))
        elif dow is not None and hour is not None:
            matrix[dow][hour] = precise
    groups.sort(key=lambda r: (-r[2], r[1]))
    return groups, matrix


def groups(filters: HistoryFilters) -> dict:
    """Counts by offense parent group (largest first) and by crime-against category."""
    where, params = filters.where_sql()
    rows = _fetchall(
        f"SELECT crime_against, offense_parent_group, count(*) FROM crimes_incident"
        f" WHERE {where} GROUP BY 1, 2 ORDER BY 3 DESC, 2",
        params,
    )
    categories: dict[str, int] = {}
    for category, _group, n in rows:
        categories[category] = categories.get(category, 0) + n
    labels = group_labels([(c, g) for c, g, _n in rows])
    return {
        "groups": [
            {"group": g, "category": c, "label": labels[(c, g)], "count": n}
            for c, g, n in rows
        ],
        "categories": [
            {"category": c, "label": names.category_label(c), "count": n}
            for c, n in sorted(categories.items(), key=lambda kv: -kv[1])
        ],
        "total": sum(categories.values()),
    }


def areas(filters: HistoryFilters, kind: str, geometry: bool) -> dict:
    """A FeatureCollection of beats or MCPP areas with counts for the filters.

    Incidents are counted by the beat / MCPP the SPD record names (not by where the
    point falls), which is how SPD reports them and also counts unlocated records.
    """
    if kind not in AREA_KINDS:
        raise ValueError(kind)
    where, params = filters.where_sql()
    counts = dict(
        _fetchall(
            f"SELECT upper({kind}), count(*) FROM crimes_incident WHERE {where}"
            " GROUP BY 1",
            params,
        )
    )
    geom_sql = (
        # ST_Multi: simplifying can turn a one-part MultiPolygon into a Polygon.
        "ST_AsGeoJSON(ST_Multi(ST_Transform(ST_SimplifyPreserveTopology("
        f"ST_Transform(geom, {settings.ANALYSIS_SRID}), 15), 4326)), 6)::json"
        if geometry
        else "NULL::json"
    )
    rows = _fetchall(
        "SELECT code, name, label, precinct, outside,"
        f" ST_Area(geom::geography) / 1e6, {geom_sql}"
        " FROM crimes_area WHERE kind = %s ORDER BY code",
        [kind],
    )
    years = filters.days / 365.25
    features = []
    matched = outside = 0
    for code, name, label, precinct, is_outside, km2, geom in rows:
        n = counts.pop(code.upper(), 0)
        matched += n
        outside += n if is_outside else 0
        features.append(
            {
                "type": "Feature",
                "id": code,
                "geometry": geom,
                "properties": {
                    "kind": kind,
                    "code": code,
                    "name": name,
                    "label": label,
                    "precinct": precinct,
                    "precinct_label": names.precinct_label(precinct),
                    "outside": is_outside,
                    "count": n,
                    "area_km2": round(km2, 3),
                    # Water and the buffer strip are no place to compare density.
                    "per_km2_per_year": round(n / km2 / years, 2)
                    if km2 and not is_outside
                    else None,
                },
            }
        )
    # What is left: records naming no current area (UNKNOWN, OOJ, blank, retired).
    codes = [
        {"code": code, "label": names.record_code_label(kind, code), "count": n}
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    unmatched = sum(counts.values())
    return {
        "type": "FeatureCollection",
        "kind": kind,
        "start": filters.start,
        "end": filters.end,
        "total": matched + unmatched,
        "unmatched": unmatched,
        "outside": {
            "label": names.outside_title(kind),
            "note": names.outside_note(kind),
            "count": outside + unmatched,
            "codes": codes,
        },
        "features": features,
    }


def incidents(filters: HistoryFilters):
    """The filtered incidents, newest first (a stable order for paging)."""
    return (
        Incident.objects.filter(filters.q())
        .only(*INCIDENT_FIELDS, "location")
        .order_by("-offense_start", "-id")
    )


def incident_count(filters: HistoryFilters) -> int:
    where, params = filters.where_sql()
    return _fetchall(f"SELECT count(*) FROM crimes_incident WHERE {where}", params)[0][
        0
    ]


def meta() -> dict:
    state = history_state()
    vocabulary = state.vocabulary
    return {
        "data_version": state.version,
        "source": {
            "name": 'Seattle Police Department, "SPD Crime Data: 2008-Present"',
            "url": "https://data.seattle.gov/Public-Safety/SPD-Crime-Data-2008-Present/tazs-3rd5",
            "note": "Counts are reported incidents, not all crime.",
            "known_gaps": list(KNOWN_GAPS),
        },
        "total": state.total,
        "with_location": state.located,
        "first_offense": state.first_offense,
        "last_offense": state.last_offense,
        "last_reported": state.last_reported,
        "last_modified": state.last_modified,
        "last_import": state.last_import,
        "default_start": vocabulary.default_start,
        "default_end": vocabulary.default_end,
        "categories": [
            {"value": c.lower(), "label": names.category_label(c), "count": n}
            for c, n in state.categories
        ],
        "groups": [
            {
                "value": g,
                "category": c.lower(),
                "label": state.group_labels[(c, g)],
                "count": n,
            }
            for c, g, n in state.groups
            if g
        ],
        "beats": sorted(vocabulary.beats),
        "mcpps": sorted(vocabulary.mcpps),
        "grid": {
            "srid": settings.ANALYSIS_SRID,
            "origin": list(GRID_ORIGIN),
            "cell_sizes": list(settings.HISTORY_CELL_SIZES),
            "default_cell_size": settings.GRID_CELL_SIZE,
            "cell_id": f"row * {ID_BASE} + col; col = floor((x - x0) / size), "
            "row = floor((y - y0) / size)",
        },
        "timezone": TZ_NAME,
        "export_max_rows": settings.HISTORY_EXPORT_MAX_ROWS,
    }
