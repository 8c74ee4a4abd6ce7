"""A fair reference: each commute placed among similar random trips.

"Similar" means the same mode, a length within 20% and the same departure hour, in
the forecast the commute was scored on. For every finished forecast run the worker
routes a sample of random trips per mode (``trip_sample``: geometry, the same for
every hour) and sums each trip's exposure for every departure hour of the run from
the stored forecast (one sparse product and a cumulative sum); the result is stored
with the run (``TripReference``). A request then only compares its route's expected
count with the similar trips' at its hour:

    percentile = share of similar trips expecting fewer reported incidents
                 (ties count half), 0-100

so 50 is an ordinary trip of that kind, and "quieter than 70% of similar trips" is
percentile 30. Over random trips the percentiles are spread evenly and their median
sits near 50 (tests/commutes/test_trip_reference.py; docs/routing.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.db import transaction
from scipy.sparse import csr_matrix

from commutes.models import TripReference
from commutes.services import scoring
from commutes.services.edge_columns import edge_columns
from commutes.services.routes import ROUTED_MODES
from commutes.services.trip_sample import TripSample, sample_trips
from core.cache import FORECASTS, VersionedCache
from core.models import RunStatus
from predictions.models import Category, ForecastRun
from streets.services.street_graph import StreetGraph, street_graph

log = logging.getLogger(__name__)
DTYPE = np.dtype("<f4")
SIMILAR_LENGTH = 0.20  # a similar trip's length is within 20% of the route's
MIN_SIMILAR = 30  # fewer similar trips than this: no percentile is given
KEEP_RUNS = 2  # references kept per model version (the newest runs')
# Trips leaving in the week's last hours end after it: read a little past it.
_SLACK_HOURS = 12


@dataclass(frozen=True)
class Reference:
    """One stored reference, decoded: what ``similar_trips`` compares with."""

    mode: str
    category: str
    start: datetime  # departure 0, aware UTC
    departures: int
    lengths_m: np.ndarray  # (n,)
    expected: np.ndarray  # (n, departures)
    forecast_run_id: int


# --- building (the worker) ---------------------------------------------------------
def edge_cell_matrix(graph: StreetGraph, grid_cell_ids: np.ndarray) -> csr_matrix:
    """(edges x forecast columns): 1 for each of the edge's cells (its cell_ids)."""

    def build() -> csr_matrix:
        rows, columns = edge_columns(graph, grid_cell_ids)
        return csr_matrix(
            (np.ones(rows.size), (rows, columns)),
            shape=(graph.edge_ids.size, grid_cell_ids.size),
        )

    key = ("edge-cells", int(grid_cell_ids.size), *grid_cell_ids[[0, -1]].tolist())
    return graph.memo(key, build)


def trip_cells(sample: TripSample, edge_cells: csr_matrix) -> csr_matrix:
    """(trips x forecast columns): 1 for every cell of the trip's corridor (a cell
    near several of its edges counts once, as in a commute's corridor)."""
    cells = (sample.edges @ edge_cells).tocsr()
    cells.data[:] = 1.0
    return cells


def exposures(
    cells: csr_matrix, seconds: np.ndarray, values: np.ndarray, departures: int
) -> np.ndarray:
    """(trips, departures): each trip's expected reported incidents when leaving at
    the start of each hour, its corridor's forecast integrated over the trip (the
    same pro-rating as ``scoring.trip_integral``, for every trip at once)."""
    per_hour = np.asarray(cells @ values.T.astype(np.float64))  # (trips, hours)
    duration_h = np.asarray(seconds, dtype=np.float64) / 3600.0
    whole = np.floor(duration_h).astype(np.int64)
    frac = duration_h - whole
    needed = departures + int(whole.max(initial=0)) + 1
    f = scoring.extend_hours(per_hour.T, needed).T  # (trips, needed)
    cum = np.concatenate([np.zeros((f.shape[0], 1)), np.cumsum(f, axis=1)], axis=1)
    d = np.arange(departures)[None, :]
    rows = np.arange(f.shape[0])[:, None]
    end = d + whole[:, None]
    return cum[rows, end] - cum[rows, d] + frac[:, None] * f[rows, end]


def _samples(graph: StreetGraph) -> dict[str, TripSample]:
    # The same seed and network give the same trips: kept with the graph, so a
    # worker routes them once per network load, not once per forecast run.
    return {
        mode: graph.memo(("trip-sample", mode), lambda m=mode: sample_trips(graph, m))
        for mode in ROUTED_MODES
    }


def build(run_id: int) -> int:
    """Compute and store the reference of a finished forecast run; returns how
    many (mode, category) references were written. Idempotent (replaces)."""
    from predictions.services.forecast_store import MAX_HOURS, NoForecast, load_forecast

    run = ForecastRun.objects.filter(pk=run_id, status=RunStatus.SUCCEEDED).first()
    if run is None:
        log.info("forecast run %s is not a finished run: no reference", run_id)
        return 0
    started = time.perf_counter()
    graph = street_graph()
    samples = _samples(graph)
    written = 0
    for category in Category.values:
        try:
            week = load_forecast(
                category,
                start=run.start,
                hours=min(MAX_HOURS, run.hours + _SLACK_HOURS),
                model_version_id=run.model_version_id,
            )
        except NoForecast:
            continue  # a run that did not write this category
        departures = min(scoring.HOURS_PER_WEEK, run.hours, week.hours)
        edge_cells = edge_cell_matrix(graph, week.cell_ids)
        for mode, sample in samples.items():
            expected = exposures(
                trip_cells(sample, edge_cells), sample.seconds, week.values, departures
            )
            _store(run, mode, category, week.start, sample, expected, graph, started)
            written += 1
    _prune(run.model_version_id)
    log.info(
        "trip reference of forecast run %s: %s references in %.1f s",
        run_id,
        written,
        time.perf_counter() - started,
    )
    return written


def _store(run, mode, category, start, sample, expected, graph, started) -> None:
    with transaction.atomic():
        TripReference.objects.update_or_create(
            forecast_run=run,
            mode=mode,
            category=category,
            defaults={
                "start": start,
                "departures": int(expected.shape[1]),
                "n_trips": sample.n,
                "lengths": sample.lengths_m.astype(DTYPE).tobytes(),
                "expected": np.ascontiguousarray(expected, dtype=DTYPE).tobytes(),
                "network_key": ":".join(str(k) for k in graph.key)[:64],
                "seconds": round(time.perf_counter() - started, 3),
            },
        )


def _prune(model_version_id: int) -> None:
    """Keep the references of the newest KEEP_RUNS runs of the version: a week of
    hourly runs would otherwise keep ~15 MB an hour."""
    runs = list(
        TripReference.objects.filter(forecast_run__model_version_id=model_version_id)
        .values_list("forecast_run_id", flat=True)
        .distinct()
        .order_by("-forecast_run_id")
    )
    if len(runs) > KEEP_RUNS:
        TripReference.objects.filter(forecast_run_id__in=runs[KEEP_RUNS:]).delete()


# --- reading (a request) -----------------------------------------------------------
_REFERENCES = VersionedCache("trip-reference", (FORECASTS,), local=12)


def reference_for(
    week, mode: str, versions: tuple[int, ...] | None = None
) -> Reference | None:
    """The reference stored with the forecast ``week`` was read from, else the
    newest of the same model version; None when there is none (yet).

    ``versions``: of (FORECASTS,), read before the forecast (core.cache)."""
    key = (week.forecast_run_id, week.model_version_id, mode, week.category)

    def load() -> Reference | None:
        rows = TripReference.objects.filter(
            forecast_run__model_version_id=week.model_version_id,
            mode=mode,
            category=week.category,
        )
        row = rows.filter(forecast_run_id=week.forecast_run_id).first() or (
            rows.order_by("-forecast_run_id").first()
        )
        return _decode(row) if row is not None else None

    return _REFERENCES.get(key, load, versions=versions)


def _decode(row: TripReference) -> Reference:
    lengths = np.frombuffer(bytes(row.lengths), dtype=DTYPE).astype(np.float64)
    expected = np.frombuffer(bytes(row.expected), dtype=DTYPE).reshape(
        row.n_trips, row.departures
    )
    return Reference(
        mode=row.mode,
        category=row.category,
        start=row.start.astimezone(UTC),
        departures=row.departures,
        lengths_m=lengths,
        expected=expected,
        forecast_run_id=row.forecast_run_id,
    )


def departure_index(reference: Reference, depart: datetime) -> int | None:
    """The reference's departure for the hour ``depart`` falls in: the same hour of
    the week when the reference is a whole week and ``depart`` outside it (forecasts
    are weekly-periodic to first order); None when it has no such hour."""
    offset = int((depart - reference.start).total_seconds() // 3600)
    if 0 <= offset < reference.departures:
        return offset
    if reference.departures == scoring.HOURS_PER_WEEK:
        return offset % scoring.HOURS_PER_WEEK
    return None


def similar_mask(reference: Reference, length_m: float) -> np.ndarray:
    return np.abs(reference.lengths_m - length_m) <= SIMILAR_LENGTH * length_m


def percentile_among(others: np.ndarray, expected: float) -> float:
    """Share (0-100) of ``others`` expecting fewer incidents; ties count half."""
    fewer = np.count_nonzero(others < expected)
    same = np.count_nonzero(others == expected)
    return 100.0 * (fewer + 0.5 * same) / others.size


def similar_trips(
    reference: Reference | None, length_m: float, depart: datetime, expected: float
) -> dict | None:
    """{percentile, n, median_expected} for a route of ``length_m`` leaving at
    ``depart`` and expecting ``expected``; percentile None with fewer than
    MIN_SIMILAR similar trips; None without a reference for that hour."""
    if reference is None:
        return None
    idx = departure_index(reference, depart)
    if idx is None:
        return None
    others = reference.expected[similar_mask(reference, length_m), idx].astype(
        np.float64
    )
    n = int(others.size)
    return {
        "percentile": (
            round(percentile_among(others, float(expected)))
            if n >= MIN_SIMILAR
            else None
        ),
        "n": n,
        "median_expected": float(f"{np.median(others):.4g}") if n else None,
    }


def similar_medians(
    reference: Reference | None, length_m: float, departures: list[datetime]
) -> np.ndarray:
    """For each departure hour, the median expected count of the similar trips
    (what "typical" means for a route: its own kind of trip at that hour); nan
    where the reference has no such hour or too few similar trips."""
    out = np.full(len(departures), np.nan)
    if reference is None:
        return out
    mask = similar_mask(reference, length_m)
    if np.count_nonzero(mask) < MIN_SIMILAR:
        return out
    medians = np.median(reference.expected[mask].astype(np.float64), axis=0)
    for i, moment in enumerate(departures):
        idx = departure_index(reference, moment)
        if idx is not None:
            out[i] = medians[idx]
    return out
