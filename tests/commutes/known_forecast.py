"""A simple, known forecast derived from the loaded incidents, stored through
predictions' own models and writer, so commute scoring reads it like production.

lambda[h, c] = (incidents of cell c) / (hours of data) * profile[hour of week of h]
where profile is the city's hour-of-week shape (mean 1). Long-run counts times a
weekly shape: the "long-run" and "seasonal" baselines in one line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection

from core.grid_sql import cell_id_sql
from core.local_time import SEATTLE


def long_run_rates() -> tuple[np.ndarray, np.ndarray]:
    """(per-cell incidents per hour in grid order, hour-of-week profile (168,))."""
    from predictions.services.cells import grid_arrays

    ids = grid_arrays()["cell_ids"]
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {cell_id_sql()} AS cell, count(*) FROM crimes_incident"
            " WHERE x_utm IS NOT NULL AND crime_against IN ('PERSON', 'PROPERTY')"
            " GROUP BY 1"
        )
        counts = np.asarray(cur.fetchall(), dtype=np.int64).reshape(-1, 2)
        cur.execute(
            "SELECT local_dow * 24 + local_hour, count(*) FROM crimes_incident"
            " WHERE local_hour IS NOT NULL AND crime_against IN ('PERSON', 'PROPERTY')"
            " GROUP BY 1"
        )
        how = np.asarray(cur.fetchall(), dtype=np.int64).reshape(-1, 2)
        cur.execute(
            # Report times span the file's window; offense starts reach back years.
            "SELECT extract(epoch FROM max(reported_at) - min(reported_at)) / 3600"
            " FROM crimes_incident"
        )
        hours = float(cur.fetchone()[0] or 1.0)
    per_cell = np.zeros(ids.size)
    pos = np.searchsorted(ids, counts[:, 0])
    ok = (pos < ids.size) & (ids[np.minimum(pos, ids.size - 1)] == counts[:, 0])
    per_cell[pos[ok]] = counts[ok, 1]
    profile = np.ones(168)
    if how.size:
        profile = np.zeros(168)
        profile[how[:, 0]] = how[:, 1]
        profile = profile / profile.mean()
    return per_cell / max(hours, 1.0), profile


def hour_of_week(moment: datetime) -> int:
    local = moment.astimezone(SEATTLE)
    return local.weekday() * 24 + local.hour


def store_known_forecast(
    start: datetime, hours: int = 176, values: np.ndarray | None = None
) -> tuple[int, np.ndarray, list[datetime]]:
    """Store ``values`` (or the long-run forecast) from ``start`` as the active model.

    Returns (model_version_id, values (hours, n_cells) float32, hour_starts).
    """
    from core.models import RunStatus
    from predictions.models import ForecastRun, ModelVersion
    from predictions.services.forecast_store import write_forecast

    start = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hour_starts = [start + timedelta(hours=h) for h in range(hours)]
    if values is None:
        per_cell, profile = long_run_rates()
        shape = np.array([profile[hour_of_week(h)] for h in hour_starts])
        values = (shape[:, None] * per_cell[None, :]).astype(np.float32)
    values = np.asarray(values, dtype=np.float32)
    version = ModelVersion.objects.create(
        kind="test-long-run",
        checkpoint="",
        data_until=start,
        status=ModelVersion.Status.READY,
    )
    version.activate()
    run = ForecastRun.objects.create(
        model_version=version,
        start=start,
        hours=hours,
        status=RunStatus.SUCCEEDED,
        finished_at=start,
    )
    write_forecast(version.pk, run.pk, hour_starts, {"all": values})
    return version.pk, values, hour_starts
