"""Facts about the loaded data that every page shows (size, range, freshness)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min

from core.cache import AREAS, DATA, VersionedCache
from crimes.models import ImportRun, Incident

_TOTALS = VersionedCache("data-totals", (DATA,), shared=True)
_BOUNDARIES = VersionedCache("boundary", (AREAS,), shared=True)


@dataclass(frozen=True)
class DataSummary:
    total: int
    with_location: int
    first_offense: datetime | None
    last_offense: datetime | None
    last_reported: datetime | None
    last_updated: datetime | None  # the newest row write
    last_import: ImportRun | None


def data_totals() -> dict[str, Any]:
    """The loaded data's size and range: the one query every page and the history
    API take them from (uncached; see data_summary)."""
    return Incident.objects.aggregate(
        total=Count("id"),
        with_location=Count("x_utm"),  # generated from location: NULL without one
        first_offense=Min("offense_start"),
        last_offense=Max("offense_start"),
        last_reported=Max("reported_at"),
        last_updated=Max("updated_at"),
    )


def last_import() -> ImportRun | None:
    """The newest import that finished and wrote (no dry run)."""
    return (
        ImportRun.objects.filter(status=ImportRun.Status.SUCCEEDED, dry_run=False)
        .exclude(finished_at=None)
        .order_by("-finished_at")
        .first()
    )


def data_summary() -> DataSummary:
    return DataSummary(last_import=last_import(), **_TOTALS.get("all", data_totals))


def boundary_geojson(kind: str, tolerance_m: float = 15.0) -> str:
    """A FeatureCollection of one kind of area, simplified in metres, cached."""
    return _BOUNDARIES.get(
        (kind, tolerance_m), lambda: _boundary_geojson(kind, tolerance_m)
    )


def _boundary_geojson(kind: str, tolerance_m: float) -> str:
    sql = """
        SELECT COALESCE(json_build_object(
            'type', 'FeatureCollection',
            'features', json_agg(json_build_object(
                'type', 'Feature',
                'id', code,
                'properties', json_build_object(
                    'kind', kind, 'code', code, 'name', name, 'label', label),
                'geometry', ST_AsGeoJSON(ST_Transform(
                    ST_SimplifyPreserveTopology(ST_Transform(geom, 32610), %s), 4326
                ), 6)::json
            ) ORDER BY code)
        )::text, '{"type":"FeatureCollection","features":[]}')
        FROM crimes_area WHERE kind = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [tolerance_m, kind])
        text = cursor.fetchone()[0]
    if '"features" : null' in text or '"features":null' in text:
        text = '{"type":"FeatureCollection","features":[]}'
    return text
