"""Facts about the loaded data that every page shows (size, range, freshness)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Min, Q

from core.cache import bump_version, read_version
from crimes.models import ImportRun, Incident

DATA_VERSION_KEY = "crimes:data-version"


def data_version() -> int:
    """A number that every import bumps; caches of derived data key on it."""
    return read_version(DATA_VERSION_KEY)


def bump_data_version() -> int:
    return bump_version(DATA_VERSION_KEY)


@dataclass(frozen=True)
class DataSummary:
    total: int
    with_location: int
    first_offense: datetime | None
    last_offense: datetime | None
    last_reported: datetime | None
    last_import: ImportRun | None


def data_summary() -> DataSummary:
    key = f"crimes:summary:{data_version()}"
    cached = cache.get(key)
    if cached is None:
        agg = Incident.objects.aggregate(
            total=Count("id"),
            with_location=Count("id", filter=Q(location__isnull=False)),
            first_offense=Min("offense_start"),
            last_offense=Max("offense_start"),
            last_reported=Max("reported_at"),
        )
        cached = agg
        cache.set(key, cached, timeout=3600)
    last_import = (
        ImportRun.objects.filter(status=ImportRun.Status.SUCCEEDED, dry_run=False)
        .order_by("-finished_at")
        .first()
    )
    return DataSummary(last_import=last_import, **cached)


def boundary_geojson(kind: str, tolerance_m: float = 15.0) -> str:
    """A FeatureCollection of one kind of area, simplified in metres, cached."""
    key = f"crimes:boundary:{kind}:{tolerance_m}"
    text = cache.get(key)
    if text is not None:
        return text
    sql = """
        SELECT COALESCE(json_build_object(
            'type', 'FeatureCollection',
            'features', json_agg(json_build_object(
                'type', 'Feature',
                'id', code,
                'properties', json_build_object(
                    'kind', kind, 'code', code, 'name', name),
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
    cache.set(key, text, timeout=None)
    return text
