"""Response bodies for forecast reads, cut from the stored weeks held in this
process's memory per version of the forecasts and the grid (forecast_slices).

The ETag is a function of those versions and of what was asked (resolved version,
category, first hour, hours, encoding, format), so any write, activation, delete or
grid rebuild changes it at once, and a warm request costs one Redis round trip.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection

from core.cache import GRID, VersionedCache, etag, versions
from crimes.models import DEFAULT_TARGET_CATEGORIES, CrimeAgainst
from predictions.models import Category
from predictions.services import forecast_slices
from predictions.services.cells import grid_arrays
from predictions.services.forecast_store import SCOPES, ForecastWeek, resolve

ENCODINGS = ("float", "q8")
# q8: 0 = below min; 1..levels = log-spaced levels from min to max expected incidents
# per cell-hour (~4% steps), enough for colour and 1/4 the bytes. The one definition:
# every q8 answer carries it and the forecast page's script reads it from its config.
Q8 = {"min": 1e-4, "max": 2.0, "levels": 255}

_GEOMETRIES = VersionedCache("cell-geometry", (GRID,), local=1)
_GRID_BODY = VersionedCache("grid-body", (GRID,), local=1)


def quantise(values: np.ndarray) -> np.ndarray:
    lo, hi = np.log(Q8["min"]), np.log(Q8["max"])
    v = np.clip(values, Q8["min"], Q8["max"])
    q = 1 + np.rint((np.log(v) - lo) / (hi - lo) * (Q8["levels"] - 1))
    return np.where(values < Q8["min"], 0, q).astype(np.uint8)


def _cell_geometries() -> list[str]:
    def read() -> list[str]:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT ST_AsGeoJSON(ST_Transform(geom, 4326), 6)"
                " FROM predictions_cell ORDER BY idx"
            )
            return [r[0] for r in cur.fetchall()]

    return _GEOMETRIES.get("all", read)


def forecast_body(
    category: str,
    start: datetime | None,
    hours: int,
    encoding: str,
    fmt: str,
    model_version_id: int | None = None,
) -> tuple[str, forecast_slices.Answer]:
    """(etag, the answer: ``.body()``, ``.gzipped()``), cut from the stored weeks in
    memory (forecast_slices); raises forecast_store.NoForecast. The same bytes
    however often, cached or not (gzip's mtime is 0)."""
    if category not in Category.values:
        raise ValueError(f"category must be one of {', '.join(Category.values)}")
    # Read before the rows, so nothing newer than these versions is kept under them.
    current = versions(*SCOPES)
    version_id, first = resolve(start, model_version_id, current)
    piece = forecast_slices.cut(current, version_id, category, first, hours)
    key = (version_id, category, first, piece.hours, encoding, fmt)
    if fmt == "geojson":
        answer = forecast_slices.geojson(
            piece, _cell_geometries(), grid_arrays()["cell_ids"]
        )
    else:
        answer = forecast_slices.compact(piece, encoding, Q8)
    return etag("forecast", current, key), answer


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
