"""Response bodies for forecast reads, built once per version of the forecasts and
the grid (core.cache) and cached in this process and in Redis.

The ETag is a function of those versions and of what was asked (resolved version,
category, first hour, hours, encoding, format), so any write, activation, delete or
grid rebuild changes it at once, and a warm request costs one Redis round trip.
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection

from core.cache import GRID, VersionedCache, etag, versions
from core.local_time import local_iso
from crimes.models import DEFAULT_TARGET_CATEGORIES, CrimeAgainst
from predictions.models import Category
from predictions.services.cells import grid_arrays
from predictions.services.forecast_store import SCOPES, ForecastWeek, load_forecast

ENCODINGS = ("float", "q8")
# q8: 0 = below min; 1..levels = log-spaced levels from min to max expected incidents
# per cell-hour (~4% steps), enough for colour and 1/4 the bytes. The one definition:
# every q8 answer carries it and the forecast page's script reads it from its config.
Q8 = {"min": 1e-4, "max": 2.0, "levels": 255}

# (body, gzipped body): the newest 8 in this process, and in Redis for a day.
_BODIES = VersionedCache(
    "forecast-body", SCOPES, local=8, shared=True, timeout=24 * 3600
)
_GEOMETRIES = VersionedCache("cell-geometry", (GRID,), local=1)
_GRID_BODY = VersionedCache("grid-body", (GRID,), local=1)


def quantise(values: np.ndarray) -> np.ndarray:
    lo, hi = np.log(Q8["min"]), np.log(Q8["max"])
    v = np.clip(values, Q8["min"], Q8["max"])
    q = 1 + np.rint((np.log(v) - lo) / (hi - lo) * (Q8["levels"] - 1))
    return np.where(values < Q8["min"], 0, q).astype(np.uint8)


def compact_body(week: ForecastWeek, encoding: str) -> bytes:
    totals = week.values.sum(axis=1)
    doc = {
        "model_version": week.model_version_id,
        "forecast_run": week.forecast_run_id,
        "category": week.category,
        "unit": "expected reported incidents per cell per hour",
        "start": local_iso(week.start),
        "hours": week.hours,
        "hour_starts": [local_iso(h) for h in week.hour_starts],
        "city_total": [round(float(t), 3) for t in totals],
        "city_mean": [round(float(t) / week.values.shape[1], 6) for t in totals],
        "cell_ids": week.cell_ids.tolist(),
        "encoding": encoding,
    }
    if encoding == "q8":
        doc["q8"] = Q8
        q = quantise(week.values)
        doc["values"] = [base64.b64encode(row.tobytes()).decode() for row in q]
        return json.dumps(doc, separators=(",", ":")).encode()
    head = json.dumps({**doc, "values": None}, separators=(",", ":"))
    # Hand-joined rows: json.dumps on 1.7 M floats is several times slower.
    rows = ",".join(
        "[" + ",".join(np.char.mod("%.6g", row).tolist()) + "]" for row in week.values
    )
    return (head[: -len("null}")] + "[" + rows + "]}").encode()


def _cell_geometries() -> list[str]:
    def read() -> list[str]:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT ST_AsGeoJSON(ST_Transform(geom, 4326), 6)"
                " FROM predictions_cell ORDER BY idx"
            )
            return [r[0] for r in cur.fetchall()]

    return _GEOMETRIES.get("all", read)


def geojson_body(week: ForecastWeek) -> bytes:
    """A FeatureCollection: one Feature per cell, its hourly values as a property."""
    geoms = _cell_geometries()
    meta = json.dumps(
        {
            "model_version": week.model_version_id,
            "forecast_run": week.forecast_run_id,
            "category": week.category,
            "unit": "expected reported incidents per cell per hour",
            "hour_starts": [local_iso(h) for h in week.hour_starts],
        },
        separators=(",", ":"),
    )
    cols = week.values.T  # (cells, hours)
    features = []
    for i, cell_id in enumerate(week.cell_ids.tolist()):
        vals = ",".join(np.char.mod("%.6g", cols[i]).tolist())
        features.append(
            f'{{"type":"Feature","id":{cell_id},"geometry":{geoms[i]},'
            f'"properties":{{"cell_id":{cell_id},"expected":[{vals}]}}}}'
        )
    return (
        '{"type":"FeatureCollection","metadata":'
        + meta
        + ',"features":['
        + ",".join(features)
        + "]}"
    ).encode()


def forecast_body(
    category: str,
    start: datetime | None,
    hours: int,
    encoding: str,
    fmt: str,
    model_version_id: int | None = None,
) -> tuple[str, bytes, bytes]:
    """(etag, body, gzipped body); raises forecast_store.NoForecast/ValueError."""
    # Read before the rows, so nothing newer than these versions is stored under them.
    current = versions(*SCOPES)
    week = load_forecast(category, start, hours, model_version_id, versions=current)
    key = (week.model_version_id, week.category, week.start, week.hours, encoding, fmt)

    def make() -> tuple[bytes, bytes]:
        body = geojson_body(week) if fmt == "geojson" else compact_body(week, encoding)
        # mtime=0: the same body always gzips to the same bytes (same ETag, same
        # bytes, cached or not).
        return body, gzip.compress(body, compresslevel=5, mtime=0)

    body, gz = _BODIES.get(key, make, versions=current)
    return etag("forecast", current, key), body, gz


def grid_body() -> tuple[str, bytes]:
    """(etag, body) of the forecast cells: ids and WGS84 centres in idx order."""
    current = versions(GRID)

    def make() -> bytes:
        g = grid_arrays()
        doc = {
            "srid": 4326,
            "cell_size_m": settings.GRID_CELL_SIZE,
            "cell_ids": g["cell_ids"].tolist(),
            "lon": np.round(g["lon"], 6).tolist(),
            "lat": np.round(g["lat"], 6).tolist(),
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    return etag("grid", current), _GRID_BODY.get("all", make, versions=current)


def _category_filter(category: str) -> list[str]:
    if category == Category.PERSON:
        return [CrimeAgainst.PERSON]
    if category == Category.PROPERTY:
        return [CrimeAgainst.PROPERTY]
    return list(DEFAULT_TARGET_CATEGORIES)


def cell_history(
    cell_idx: int, category: str, week: ForecastWeek, weeks_back: int = 52
) -> dict:
    """History for the same hours of week as the forecast, and what drives the cell.

    Uses only incidents reported before the forecast start (like the model did):
    the mean count per hour of week over the previous ``weeks_back`` weeks, the
    long-run weekly level (a year) and recent activity (the last 4 weeks).
    """
    from core.grid_sql import cell_bounds

    cell_id = int(week.cell_ids[cell_idx])
    xmin, ymin, xmax, ymax = cell_bounds(cell_id)
    start = week.start
    since = start - timedelta(weeks=weeks_back)
    recent_since = start - timedelta(weeks=4)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT local_dow * 24 + local_hour AS how, count(*),"
            " count(*) FILTER (WHERE offense_start >= %s)"
            " FROM crimes_incident"
            " WHERE reported_at < %s AND offense_start >= %s AND offense_start < %s"
            " AND crime_against = ANY(%s)"
            " AND x_utm >= %s AND x_utm < %s AND y_utm >= %s AND y_utm < %s"
            " GROUP BY 1",
            [
                recent_since,
                start,
                since,
                start,
                _category_filter(category),
                xmin,
                xmax,
                ymin,
                ymax,
            ],
        )
        rows = cur.fetchall()
    per_how = np.zeros(168)
    recent = 0
    for how, n, n_recent in rows:
        if how is not None:
            per_how[int(how)] += n
        recent += n_recent
    total = per_how.sum()
    from ml.timeutil import local_hour_of_week

    hows = local_hour_of_week(np.array([int(h.timestamp()) for h in week.hour_starts]))
    history = (per_how[hows] / weeks_back).round(4).tolist()
    long_run = total / weeks_back
    recent_rate = recent / 4
    return {
        "weeks_back": weeks_back,
        "history_same_hour_of_week": history,
        "drivers": {
            "long_run_per_week": round(float(long_run), 3),
            "recent_per_week": round(float(recent_rate), 3),
            "recent_vs_long_run": (
                round(float(recent_rate / long_run), 2) if long_run else None
            ),
            "forecast_week_total": round(float(week.values[:, cell_idx].sum()), 3),
        },
    }
