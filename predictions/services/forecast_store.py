"""Read and write precomputed forecast rows (one float32 array of all cells per
(model version, hour, category)).

``load_forecast`` is the one reader used by the forecast page, the API and the commute
scorer. A request never runs the model: it only reads these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from core.cache import FORECASTS, GRID, VersionedCache, bump
from core.local_time import SEATTLE, as_aware, floor_hour
from core.models import RunStatus
from predictions.models import Category, ForecastRun, ForecastValues, ModelVersion
from predictions.services.cells import grid_arrays

DTYPE = np.dtype("<f4")  # little-endian float32, whatever the host
MAX_HOURS = 24 * 7 * 4
# What every forecast read is built from: versions, runs and rows, and the grid.
SCOPES = (FORECASTS, GRID)
# Per process: which version and first hour a request means (its default start moves
# with the clock) and the weeks read (a week of 10k cells is ~7 MB).
_RESOLVED = VersionedCache("forecast-resolved", SCOPES, local=64)
_WEEKS = VersionedCache("forecast-week", SCOPES, local=6)


class NoForecast(LookupError):
    """No active model, no forecast run, or no rows for the requested hours."""


@dataclass(frozen=True)
class ForecastWeek:
    category: str
    hour_starts: list[datetime]  # aware UTC, consecutive hours
    values: np.ndarray  # float32 (hours, n_cells), Cell.idx order
    cell_ids: np.ndarray  # int64 (n_cells,)
    model_version_id: int
    forecast_run_id: int  # newest run that wrote any of these rows

    @property
    def start(self) -> datetime:
        return self.hour_starts[0]

    @property
    def hours(self) -> int:
        return len(self.hour_starts)


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def resolve_version(model_version_id: int | None) -> int:
    """The id of the requested (or the active) version. Only the id is read: the
    metrics JSON is large and parsing it would dominate a warm forecast read."""
    qs = ModelVersion.objects.all()
    if model_version_id is None:
        found = qs.filter(is_active=True).values_list("id", flat=True).first()
        if found is None:
            raise NoForecast("no model version is active yet")
        return found
    if not qs.filter(pk=model_version_id).exists():
        raise NoForecast(f"model version {model_version_id} does not exist")
    return model_version_id


def newest_run(version_id: int) -> ForecastRun | None:
    return (
        ForecastRun.objects.filter(
            model_version_id=version_id, status=RunStatus.SUCCEEDED
        )
        .order_by("-start", "-id")
        .first()
    )


def default_start(version_id: int, now: datetime | None = None) -> datetime:
    """The current hour if a finished run covers it, else the newest run's start.

    Demo data ends in 2021, so the newest run is usually in the past; the page then
    shows that week with a "forecast for the week of ..." note instead of nothing.
    """
    now = floor_hour(now or timezone.now())
    covering = (
        ForecastRun.objects.filter(
            model_version_id=version_id, status=RunStatus.SUCCEEDED, start__lte=now
        )
        .order_by("-start", "-id")
        .only("start", "hours")
    )
    for run in covering[:5]:
        if run.start + timedelta(hours=run.hours) > now:
            return now
    run = newest_run(version_id)
    if run is None:
        raise NoForecast(f"model version {version_id} has no finished forecast run")
    return run.start.astimezone(UTC)


def load_forecast(
    category: str,
    start: datetime | None = None,
    hours: int = 168,
    model_version_id: int | None = None,
    *,
    versions: tuple[int, ...] | None = None,
) -> ForecastWeek:
    """Expected incidents per cell-hour for ``hours`` hours from ``start``.

    ``category``: "all" (person + property), "person" or "property". ``start`` None:
    see ``default_start``; a naive start is Seattle local; it is floored to the hour.
    ``model_version_id`` None: the active version. Only hours that were precomputed
    come back (consecutive from ``start``); none at all raises ``NoForecast``.
    Cached per process on the versions of SCOPES (``versions``: read by the caller
    before anything else), so a write, an activation, a delete or a grid rebuild is
    seen at once and a repeated read costs one Redis round trip.
    """
    if category not in Category.values:
        raise ValueError(f"category must be one of {', '.join(Category.values)}")
    if not 1 <= int(hours) <= MAX_HOURS:
        raise ValueError(f"hours must be between 1 and {MAX_HOURS}")
    hours = int(hours)
    if versions is None:
        versions = _WEEKS.versions()
    version_id, start = resolve(start, model_version_id, versions)
    return _WEEKS.get(
        (version_id, category, start, hours),
        lambda: _load(version_id, category, start, hours),
        versions=versions,
    )


def resolve(
    start: datetime | None,
    model_version_id: int | None,
    versions: tuple[int, ...],
) -> tuple[int, datetime]:
    """(model version id, first hour, aware UTC) that a request for ``start`` and
    ``model_version_id`` means (see ``load_forecast``); cached per process on
    ``versions`` (of SCOPES, read by the caller before anything else)."""
    if start is not None:
        start = floor_hour(as_aware(start))
    # Without a start the answer depends on the current hour too.
    now = floor_hour(timezone.now()) if start is None else None
    return _RESOLVED.get(
        (model_version_id, start, now),
        lambda: _resolve(model_version_id, start, now),
        versions=versions,
    )


def _resolve(
    model_version_id: int | None, start: datetime | None, now: datetime | None
) -> tuple[int, datetime]:
    version_id = resolve_version(model_version_id)
    return version_id, default_start(version_id, now) if start is None else start


def _load(version_id: int, category: str, start: datetime, hours: int) -> ForecastWeek:
    end = start + timedelta(hours=hours)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*), max(forecast_run_id) FROM predictions_forecastvalues"
            " WHERE model_version_id = %s AND category = %s"
            " AND hour_start >= %s AND hour_start < %s",
            [version_id, category, start, end],
        )
        count, run_id = cur.fetchone()
    if not count:
        raise NoForecast(
            f"no {category} forecast for {start.astimezone(SEATTLE):%Y-%m-%d %H:%M}"
            f" (model version {version_id}); run precompute_forecasts first"
        )
    return _read(version_id, category, start, end, int(run_id or 0))


def _read(
    version_id: int, category: str, start: datetime, end: datetime, run_id: int
) -> ForecastWeek:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT hour_start, values FROM predictions_forecastvalues"
            " WHERE model_version_id = %s AND category = %s"
            " AND hour_start >= %s AND hour_start < %s ORDER BY hour_start",
            [version_id, category, start, end],
        )
        rows = cur.fetchall()
    cell_ids = grid_arrays()["cell_ids"]
    hour_starts: list[datetime] = []
    arrays: list[np.ndarray] = []
    for hour_start, blob in rows:
        hour_start = hour_start.astimezone(UTC)
        expected = start + timedelta(hours=len(hour_starts))
        if hour_start != expected:
            break  # a gap: return the consecutive hours from start only
        arr = np.frombuffer(bytes(blob), dtype=DTYPE)
        if arr.size != cell_ids.size:
            raise NoForecast(
                f"forecast rows have {arr.size} cells but the grid has "
                f"{cell_ids.size}: the grid changed; precompute again"
            )
        hour_starts.append(hour_start)
        arrays.append(arr)
    if not arrays:
        raise NoForecast(f"no forecast row at {start.isoformat()}")
    values = np.stack(arrays).astype(np.float32, copy=False)
    values.setflags(write=False)
    return ForecastWeek(
        category=category,
        hour_starts=hour_starts,
        values=values,
        cell_ids=cell_ids,
        model_version_id=version_id,
        forecast_run_id=run_id,
    )


def write_forecast(
    version_id: int,
    run_id: int | None,
    hour_starts: list[datetime],
    by_category: dict[str, np.ndarray],
) -> int:
    """Upsert rows for every (hour, category): COPY into a staging table, then one
    INSERT ... ON CONFLICT DO UPDATE, so a rerun replaces and never duplicates.

    ``by_category[c]``: float (hours, n_cells) in Cell.idx order. Returns rows written.
    """
    table = ForecastValues._meta.db_table
    n = 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _fv_stage (hour_start timestamptz,"
            " category varchar(16), vals bytea, total double precision)"
            " ON COMMIT DELETE ROWS"
        )
        # Also empty it now: inside an outer transaction nothing has committed yet.
        cur.execute("TRUNCATE _fv_stage")
        with cur.cursor.copy(
            "COPY _fv_stage (hour_start, category, vals, total) FROM STDIN"
        ) as copy:
            for category, values in by_category.items():
                values = np.asarray(values, dtype=DTYPE)
                for h, hour_start in enumerate(hour_starts):
                    row = values[h]
                    copy.write_row(
                        (hour_start, category, row.tobytes(), float(row.sum()))
                    )
                    n += 1
        cur.execute(
            f"INSERT INTO {table} (model_version_id, hour_start, category, values,"
            " total, forecast_run_id)"
            " SELECT %s, hour_start, category, vals, total, %s FROM _fv_stage"
            " ON CONFLICT (model_version_id, hour_start, category) DO UPDATE SET"
            " values = EXCLUDED.values, total = EXCLUDED.total,"
            " forecast_run_id = EXCLUDED.forecast_run_id",
            [version_id, run_id],
        )
        bump(FORECASTS)  # written with COPY + SQL: no model signal
    return n
