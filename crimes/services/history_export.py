"""CSV and GeoJSON exports of a history selection, capped at a row limit."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from crimes.services.filters import HistoryFilters
from crimes.services.history_queries import (
    INCIDENT_FIELDS,
    incident_count,
    incidents,
    no_jit,
)

TIME_FIELDS = {"offense_start", "offense_end", "reported_at"}


@dataclass(frozen=True)
class Export:
    body: bytes
    rows: int
    total: int
    limit: int

    @property
    def capped(self) -> bool:
        return self.total > self.rows


def _local(value):
    """Seattle local time with its offset, like the API."""
    return timezone.localtime(value).isoformat() if value else ""


def _filters_dict(filters: HistoryFilters) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in filters.query_items():
        out.setdefault(name, []).append(value)
    return out


def _rows(filters: HistoryFilters, limit: int):
    fields = (*INCIDENT_FIELDS, "location")
    with no_jit():
        yield from (
            incidents(filters).values_list(*fields)[:limit].iterator(chunk_size=2000)
        )


def export_csv(filters: HistoryFilters, limit: int | None = None) -> Export:
    limit = limit or settings.HISTORY_EXPORT_MAX_ROWS
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*INCIDENT_FIELDS, "longitude", "latitude"])
    n = 0
    for row in _rows(filters, limit):
        values = [
            _local(v) if name in TIME_FIELDS else v
            for name, v in zip(INCIDENT_FIELDS, row, strict=False)
        ]
        point = row[-1]
        values += [round(point.x, 6), round(point.y, 6)] if point else ["", ""]
        writer.writerow(values)
        n += 1
    return Export(out.getvalue().encode(), n, incident_count(filters), limit)


def export_geojson(filters: HistoryFilters, limit: int | None = None) -> Export:
    limit = limit or settings.HISTORY_EXPORT_MAX_ROWS
    features = []
    for row in _rows(filters, limit):
        props = {
            name: _local(v) if name in TIME_FIELDS else v
            for name, v in zip(INCIDENT_FIELDS, row, strict=False)
        }
        point = row[-1]
        features.append(
            {
                "type": "Feature",
                "id": props["offense_id"],
                "geometry": None
                if point is None
                else {
                    "type": "Point",
                    "coordinates": [round(point.x, 6), round(point.y, 6)],
                },
                "properties": props,
            }
        )
    total = incident_count(filters)
    collection = {
        "type": "FeatureCollection",
        "total": total,
        "limit": limit,
        "capped": total > len(features),
        "filters": _filters_dict(filters),
        "features": features,
    }
    body = json.dumps(collection, separators=(",", ":")).encode()
    return Export(body, len(features), total, limit)
