"""Score a commute: routes -> corridors -> forecast arrays -> a CommuteScore.

Walk, bike and drive follow the streets (street_graph, street_routes): the shortest
route by time and up to two safer alternatives for the departure (alternatives.py).
Transit (no transit data yet) and a client-drawn ``route`` LineString are scored
along the straight polyline as drawn (corridor.py). The arithmetic lives in
scoring.py, the last year's reports in stretch_history.py; the result's types in
commute_result.py, and its JSON in commute_payload.py (the API's one renderer);
``commute_answer`` is that JSON, cached.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import LineString

from commutes.services import scoring, street_routes, trip_reference
from commutes.services.alternatives import Candidate, Trip, alternatives
from commutes.services.commute_payload import payload, snapped_payload
from commutes.services.commute_result import (
    BestDepartures,
    BestLeave,
    CommuteScore,
    ForecastUsed,
    HourScore,
    RouteScore,
    SimilarTrips,
    Snapped,
    StretchScore,
    StretchToWatch,
)
from commutes.services.corridor import (
    CORRIDOR_HALF_WIDTH_M,
    area_shares,
    find_corridor,
)
from commutes.services.routes import (
    MAX_LENGTH_M,
    MODE_SPEED_KMH,
    ROUTED_MODES,
    Refused,
    Route,
    Window,
)
from commutes.services.stretch_history import recent_history
from core.cache import DATA, FORECASTS, GRID, STREETS, VersionedCache, versions
from core.local_time import SEATTLE
from streets.services.street_graph import SNAP_MAX_M, Snap, StreetGraph, street_graph

if TYPE_CHECKING:
    from predictions.services.forecast_store import ForecastWeek

DEPARTURES = scoring.HOURS_PER_WEEK
# Read a little past the week so the trips leaving in its last hours use real
# forecast hours when they exist (the slowest trip: 40 km on foot, 8 h).
FORECAST_HOURS = DEPARTURES + math.ceil(
    MAX_LENGTH_M / 1000 / min(MODE_SPEED_KMH.values())
)
BEST_COUNT = 3
MODE_NOUN = {"walk": "a pedestrian", "bike": "a bike", "drive": "a car"}

# The best departure is looked for to this many minutes inside the window.
LEAVE_STEP_MIN = 10
# A stretch of the shortest route is left out by an alternative when most of it lies
# farther than this from the alternative (a parallel street is a block away).
AVOIDED_M = 25.0

_MEANS = VersionedCache("city-mean", (FORECASTS, GRID), local=8)
_ERRORS = VersionedCache("measured-error", (FORECASTS,), local=8)


@dataclass(frozen=True)
class _Forecast:
    """The forecast a commute is scored against, read once per commute."""

    week: ForecastWeek
    city_mean: np.ndarray  # the city's mean cell, per forecast hour
    # The random trips of the commute's mode this forecast's run was placed
    # among (None before the worker has built them, or for transit).
    reference: trip_reference.Reference | None = None
    measured_error: float | None = None

    @property
    def departures(self) -> list[datetime]:
        """The departure hours, in Seattle time."""
        return [h.astimezone(SEATTLE) for h in self.week.hour_starts[:DEPARTURES]]


def _measured_error(version_id: int) -> float | None:
    """The version's measured error, read once per process and version (its metrics
    JSON is large)."""
    from predictions.models import ModelVersion
    from predictions.services.headline_metrics import measured_error

    def make() -> float | None:
        version = ModelVersion.objects.filter(pk=version_id).first()
        return measured_error(version) if version else None

    return _ERRORS.get(version_id, make)


def _read_forecast(category: str, mode: str) -> _Forecast:
    from predictions.services.forecast_store import SCOPES, load_forecast

    current = versions(*SCOPES)  # before the rows (core.cache)
    week = load_forecast(category, hours=FORECAST_HOURS, versions=current)
    # Cached per stored forecast (one pass over all cells).
    key = (week.model_version_id, week.category, week.start, week.hours)
    city_mean = _MEANS.get(
        key, lambda: scoring.city_mean_per_hour(week.values), versions=current
    )
    reference = (
        trip_reference.reference_for(week, mode) if mode in ROUTED_MODES else None
    )
    return _Forecast(week, city_mean, reference, _measured_error(week.model_version_id))


# --- one route ----------------------------------------------------------------------
@dataclass
class _Stretch:
    """A stretch while it is scored: its cells, and its line for the history."""

    geometry: dict  # GeoJSON LineString, EPSG:4326
    utm: LineString | np.ndarray  # EPSG:32610: a GEOS line, or its coordinates
    from_m: float
    to_m: float
    cell_ids: np.ndarray
    name: str | None = None
    street: str | None = None  # the street it runs along (its first)

    @property
    def xy(self) -> np.ndarray:
        """Its EPSG:32610 vertices."""
        if isinstance(self.utm, LineString):
            return np.asarray(self.utm.coords)
        return self.utm

    @property
    def line_utm(self) -> LineString:
        # Built on demand: only the riskiest stretch needs a GEOS line (its
        # history query), and making one per stretch cost ~30 ms a route.
        if not isinstance(self.utm, LineString):
            self.utm = LineString(self.utm.tolist(), srid=settings.ANALYSIS_SRID)
        return self.utm


@dataclass(frozen=True)
class _Path:
    """A route's geometry before it is scored."""

    kind: str  # shortest, alternative, as_drawn
    along: str  # streets, straight_line, drawn
    coords: list[list[float]]
    length_m: float
    duration_h: float
    stretches: list[_Stretch]
    cell_ids: np.ndarray  # every cell of the corridor, sorted unique
    streets: tuple[str, ...] = ()
    # Stretches of equal length rank by their expected rate; named street stretches
    # vary in length, so they rank by the rate per nearby cell.
    rank_by_density: bool = False
    # The whole route's EPSG:32610 vertices when read with it (along the streets):
    # its stretches' end to end, without joining them again at every use.
    utm: np.ndarray | None = None

    @property
    def line_xy(self) -> np.ndarray:
        """The whole route's EPSG:32610 vertices."""
        if self.utm is not None:
            return self.utm
        parts = [s.xy for s in self.stretches if len(s.xy)]
        return np.concatenate(parts) if parts else np.empty((0, 2))


@dataclass(frozen=True)
class _Scored:
    """A path scored for every departure: what the departure-specific figures and
    the result are made from."""

    path: _Path
    core: scoring.CoreScore
    per_hour: np.ndarray  # the corridor's expected incidents per forecast hour
    # the same near the way itself (corridor.area_shares)
    per_hour_within: np.ndarray
    timeline: tuple[HourScore, ...]

    def at(self, forecast: _Forecast, depart_h: float) -> HourScore:
        """The trip leaving ``depart_h`` hours after the forecast's first hour."""
        duration = self.path.duration_h
        expected = scoring.expected_at(self.per_hour, depart_h, duration)
        start = forecast.week.hour_starts[0] + timedelta(hours=depart_h)
        typical = float(
            trip_reference.similar_medians(
                forecast.reference, self.path.length_m, [start]
            )[0]
        )
        return _hour_score(start.astimezone(SEATTLE), expected, typical)


def _hour_score(departure: datetime, expected: float, typical: float) -> HourScore:
    """``typical``: the median of similar trips (nan without a reference)."""
    return HourScore(
        departure=departure,
        expected=float(expected),
        typical=float(typical),
        relative_risk=expected / typical if typical > 0 else float("nan"),
    )


def _scored(path: _Path, forecast: _Forecast) -> _Scored:
    week = forecast.week
    cols = scoring.columns_for(path.cell_ids, week.cell_ids)
    core = scoring.score_corridor(
        week.values,
        cols,
        [scoring.columns_for(s.cell_ids, week.cell_ids) for s in path.stretches],
        path.duration_h,
        departures=DEPARTURES,
        city_mean=forecast.city_mean,
    )
    values = week.values[:, cols].astype(np.float64)
    per_hour = values.sum(axis=1) if cols.size else np.zeros(week.hours)
    shares = area_shares(path.line_xy, week.cell_ids[cols])
    per_hour_within = values @ shares if cols.size else np.zeros(week.hours)
    departures = forecast.departures
    medians = trip_reference.similar_medians(
        forecast.reference, path.length_m, departures
    )
    timeline = tuple(
        _hour_score(hour, e, t)
        for hour, e, t in zip(departures, core.expected, medians, strict=False)
    )
    return _Scored(path, core, per_hour, per_hour_within, timeline)


def _straight_path(route: Route) -> _Path:
    """The polyline as given: a drawn route, or transit's straight line."""
    corridor = find_corridor(route.line_utm)
    stretches = [
        _Stretch(
            geometry=corridor.segments_geojson[i],
            utm=corridor.segments[i],
            from_m=a,
            to_m=b,
            cell_ids=corridor.segment_cell_ids[i],
        )
        for i, (a, b) in enumerate(corridor.segment_bounds_m)
    ]
    return _Path(
        kind="as_drawn" if route.drawn else "shortest",
        along="drawn" if route.drawn else "straight_line",
        coords=[[lon, lat] for lon, lat in route.points],
        length_m=route.length_m,
        duration_h=route.duration_h,
        stretches=stretches,
        cell_ids=corridor.cell_ids,
    )


def _street_path(
    graph: StreetGraph, street_route: street_routes.StreetRoute, kind: str
) -> _Path:
    found = street_routes.stretches(graph, street_route)
    # The route's vertices and cells are read once, and every stretch's from them.
    arrays = street_routes.route_arrays(graph, street_route.steps)
    n = len(street_route.steps)
    runs = [(s.first_step, s.first_step + len(s.steps)) for s in found]
    coords = arrays.coords([*runs, (0, n)])
    cells = arrays.cell_ids(runs)
    stretches = [
        _Stretch(
            geometry={"type": "LineString", "coordinates": coords[i]},
            utm=arrays.utm(*runs[i]),
            from_m=stretch.from_m,
            to_m=stretch.to_m,
            cell_ids=cells[i],
            name=stretch.name,
            street=next(iter(stretch.streets), None),
        )
        for i, stretch in enumerate(found)
    ]
    return _Path(
        kind=kind,
        along="streets",
        coords=coords[-1],
        length_m=street_route.length_m,
        duration_h=street_route.seconds / 3600.0,
        stretches=stretches,
        # every stretch's cells (the stretches cover the steps)
        cell_ids=arrays.cell_ids([(0, n)])[0],
        streets=tuple(street_routes.route_streets(graph, street_route.steps)),
        rank_by_density=True,
        utm=arrays.utm(0, n),
    )


def _stretch_scores(scored: _Scored) -> tuple[tuple[StretchScore, ...], int | None]:
    """The stretches ranked (1 = riskiest), and the stretch to watch's index: the
    riskiest beyond the first and last 200 m (None when none qualifies or none
    expects anything)."""
    core = scored.core
    key = (
        core.segment_rate / np.maximum(core.segment_cells, 1)
        if scored.path.rank_by_density
        else core.segment_rate
    )
    order = np.argsort(-key, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(1, order.size + 1)
    riskiest = scoring.stretch_to_watch(
        [(s.from_m, s.to_m) for s in scored.path.stretches],
        core.segment_rate,
        core.segment_cells,
        scored.path.length_m,
        by_density=scored.path.rank_by_density,
    )
    stretches = tuple(
        StretchScore(
            geometry=s.geometry,
            from_m=s.from_m,
            to_m=s.to_m,
            cells=int(core.segment_cells[i]),
            expected_per_hour=float(core.segment_rate[i]),
            relative_risk=float(core.segment_relative[i]),
            rank=int(rank[i]),
            name=s.name,
        )
        for i, s in enumerate(scored.path.stretches)
    )
    return stretches, riskiest


def _best_departures(timeline: tuple[HourScore, ...], window: Window) -> BestDepartures:
    inside = [
        i
        for i, h in enumerate(timeline)
        if window.contains(h.departure.weekday(), h.departure.time())
        and math.isfinite(h.expected)
    ]
    if not inside:
        raise Refused(
            "window",
            "no departure on the hour falls in the window during the forecast week; "
            "widen the window (departures are scored on the hour)",
        )
    ranked = sorted(inside, key=lambda i: (timeline[i].expected, i))
    by_day: dict[str, int] = {}
    for i in inside:
        day = timeline[i].departure.date().isoformat()
        if day not in by_day or timeline[i].expected < timeline[by_day[day]].expected:
            by_day[day] = i
    return BestDepartures(
        window=window,
        candidates=len(inside),
        best=tuple(timeline[i] for i in ranked[:BEST_COUNT]),
        best_by_day=tuple(timeline[i] for _, i in sorted(by_day.items())),
        worst=timeline[ranked[-1]],
    )


@dataclass(frozen=True)
class _Departure:
    """The departure every route's figures are for, and the shortest route's."""

    forecast: _Forecast
    window: Window
    hours: float  # after the forecast's first hour
    shortest: _Scored
    shortest_at: HourScore


def _route_score(scored: _Scored, depart: _Departure, history: bool) -> RouteScore:
    path = scored.path
    stretches, riskiest = _stretch_scores(scored)
    to_watch = None
    if riskiest is not None:
        line = path.stretches[riskiest].line_utm
        to_watch = StretchToWatch(
            index=riskiest,
            name=path.stretches[riskiest].name,
            recent_history=(
                recent_history(line, CORRIDOR_HALF_WIDTH_M) if history else None
            ),
        )
    forecast = depart.forecast
    at = scored.at(forecast, depart.hours)
    base = depart.shortest.path.duration_h
    similar = trip_reference.similar_trips(
        forecast.reference, path.length_m, at.departure, at.expected
    )
    departures = _best_departures(scored.timeline, depart.window)
    return RouteScore(
        kind=path.kind,
        along=path.along,
        coords=path.coords,
        length_m=path.length_m,
        duration_h=path.duration_h,
        streets=path.streets,
        corridor_cells=scored.core.corridor_cells,
        timeline=scored.timeline,
        departures=departures,
        stretches=stretches,
        to_watch=to_watch,
        at_depart=at,
        vs_shortest_time=path.duration_h / base if base else 1.0,
        vs_shortest_expected=(
            at.expected / depart.shortest_at.expected
            if depart.shortest_at.expected > 0
            else float("nan")
        ),
        similar_trips=SimilarTrips(**similar) if similar else None,
        expected_within=scoring.expected_at(
            scored.per_hour_within, depart.hours, path.duration_h
        ),
        avoids=None if scored is depart.shortest else _avoided(scored, depart.shortest),
        best_leave=_best_leave(scored, forecast, depart.window, departures),
    )


def _avoided(alternative: _Scored, shortest: _Scored) -> str | None:
    """The street of the busiest stretch (forecast per nearby cell) of the shortest
    route that the alternative leaves out: most of the stretch lies farther than
    AVOIDED_M from it. None when it leaves out no named stretch.

    The stretches are tried busiest first (the earlier of equal ones first), and
    the first the alternative leaves out is the answer: the same as checking every
    stretch and keeping the busiest, with a point-to-line distance (the slow part)
    for a few stretches instead of all.
    """
    core = shortest.core
    stretches = shortest.path.stretches
    density = core.segment_rate / np.maximum(core.segment_cells, 1)
    line = None
    for i in np.argsort(-density, kind="stable").tolist():
        if not density[i] > 0.0:
            break  # nothing busier than nothing is left
        stretch = stretches[i]
        if not stretch.street or len(stretch.xy) < 2:
            continue
        if line is None:
            line = shapely.LineString(alternative.path.line_xy)
        away = shapely.distance(shapely.points(stretch.xy), line) > AVOIDED_M
        if away.mean() > 0.5:
            return stretch.street
    return None


def _best_leave(
    scored: _Scored, forecast: _Forecast, window: Window, departures: BestDepartures
) -> BestLeave | None:
    """On the day of the best departure on the hour, the departures every
    LEAVE_STEP_MIN minutes inside the window: the lowest and the highest."""
    moments, offsets = _leave_moments(
        departures.best[0].departure.date(), window, forecast.week.hour_starts[0]
    )
    if len(moments) < 2:
        return None
    expected = scoring.expected_at_many(
        scored.per_hour, offsets, scored.path.duration_h
    )
    lo, hi = int(np.argmin(expected)), int(np.argmax(expected))
    return BestLeave(
        best=moments[lo],
        best_expected=float(expected[lo]),
        other=moments[hi],
        other_expected=float(expected[hi]),
    )


@functools.lru_cache(maxsize=64)
def _leave_moments(
    day: date, window: Window, first: datetime
) -> tuple[tuple[datetime, ...], np.ndarray]:
    """The moments every LEAVE_STEP_MIN minutes of ``day`` inside the window and the
    forecast week, and their hours after its first hour (the same for every route
    of a commute, and for every commute that day)."""
    moments, offsets = [], []
    for k in range(24 * 60 // LEAVE_STEP_MIN):
        # Wall-clock minutes of the day (a DST day's missing hour normalises away).
        moment = datetime.combine(day, time(0), tzinfo=SEATTLE) + timedelta(
            minutes=k * LEAVE_STEP_MIN
        )
        offset = (moment - first).total_seconds() / 3600.0
        if window.contains(moment.weekday(), moment.time()) and (
            0 <= offset < DEPARTURES
        ):
            moments.append(moment)
            offsets.append(offset)
    hours = np.array(offsets, dtype=np.float64)
    hours.setflags(write=False)  # shared by every caller
    return tuple(moments), hours


# --- the departure --------------------------------------------------------------------
def _given_offset(week: ForecastWeek, depart: datetime) -> float:
    """Hours from the forecast's first hour to ``depart``; 400 outside the week."""
    offset = (depart - week.hour_starts[0]).total_seconds() / 3600.0
    if not 0 <= offset < DEPARTURES:
        first = week.hour_starts[0].astimezone(SEATTLE)
        last = week.hour_starts[DEPARTURES - 1].astimezone(SEATTLE)
        raise Refused(
            "depart",
            f"depart must fall in the forecast week, {first:%Y-%m-%dT%H:%M} to "
            f"{last:%Y-%m-%dT%H:%M} Seattle time",
        )
    return offset


def _best_offset(shortest: _Scored, week: ForecastWeek, window: Window) -> float:
    """The default departure: the shortest route's best hour in the window."""
    best = _best_departures(shortest.timeline, window).best[0]
    return _given_offset(week, best.departure)


# --- along the streets ------------------------------------------------------------
def _snap_all(
    graph: StreetGraph, route: Route
) -> tuple[list[Snap], tuple[Snapped, ...]]:
    snaps, report = [], []
    for i, ((lon, lat), name) in enumerate(
        zip(route.points, route.fields, strict=True)
    ):
        snap = graph.snap(lon, lat, route.mode)
        if snap is None:
            which = f"waypoint {i}" if name == "waypoints" else name
            raise Refused(
                name,
                f"{which} ({lat:.5f}, {lon:.5f}) is more than {SNAP_MAX_M:.0f} m from "
                f"any street {MODE_NOUN[route.mode]} can use (water, a park or the "
                "edge of the map?); put it nearer a street",
            )
        snaps.append(snap)
        report.append(Snapped(name, (lon, lat), (snap.lon, snap.lat), snap.distance_m))
    return snaps, tuple(report)


@contextmanager
def _legs_named(route: Route) -> Iterator[None]:
    """A leg with no path is a 400 naming the point it cannot reach."""
    try:
        yield
    except street_routes.LegNotFound as exc:
        name = route.fields[exc.leg + 1]
        which = f"waypoint {exc.leg + 1}" if name == "waypoints" else name
        raise Refused(
            name,
            f"no route by {route.mode} reaches {which} from the point before it "
            "along the streets (one-way streets, or a road cut off from the rest "
            "of the network); move the point",
        ) from None


def _fastest(graph: StreetGraph, route: Route, snaps: list[Snap]):
    with _legs_named(route):
        fastest = street_routes.route_through(graph, route.mode, snaps)
    if fastest.length_m < 1.0:
        raise Refused(
            "end",
            "start and end fall on the same point of the street network; move one "
            "of them",
        )
    if fastest.length_m > MAX_LENGTH_M:
        raise Refused(
            "route",
            f"the trip is {fastest.length_m / 1000:.1f} km along the streets; at most "
            f"{MAX_LENGTH_M / 1000:.0f} km",
        )
    return fastest


def score_commute(
    route: Route,
    window: Window | None = None,
    category: str = "all",
    depart: datetime | None = None,
    *,
    history: bool = True,
) -> CommuteScore:
    """Everything the page and the API show for one commute, computed (not cached:
    ``commute_answer`` is the cached JSON). ``history=False`` leaves out what was
    reported near the riskiest stretch (``recent_history`` None): two SQL queries a
    score, a third of its time, which a caller reading only departures, routes and
    timelines (the commute notes) does not need.

    Raises Refused (a RouteError, 422) for a request the network or the forecast
    cannot answer
    (naming the field), predictions.services.forecast_store.NoForecast when no
    forecast is stored and street_graph.NoNetwork when no street network is.
    """
    window = window or Window()
    if route.drawn or route.mode not in ROUTED_MODES:
        return _score(route, window, category, depart, None, [], history)
    graph = street_graph()
    snaps, snapped = _snap_all(graph, route)
    score = _score(route, window, category, depart, graph, snaps, history)
    return replace(score, snapped=snapped)


# What a routed answer is built from: the forecast and its grid, the incidents (the
# stretches' history), the street network.
ANSWER_SCOPES = (FORECASTS, GRID, DATA, STREETS)
# Routed answers (the JSON: a hit costs a lookup, not a rendering) per snapped points,
# mode, window, category and departure, shared by every process (~0.1 MB pickled
# each; the cache's size cap and Redis's maxmemory bound them): the same commute
# asked again costs a lookup, not four searches.
_ANSWERS = VersionedCache("commute-answer", ANSWER_SCOPES, local=16, shared=True)


def commute_answer(
    route: Route,
    window: Window | None = None,
    category: str = "all",
    depart: datetime | None = None,
    *,
    computing: Callable[[], AbstractContextManager] = nullcontext,
    history: bool = True,
) -> dict:
    """The API's answer: ``commute_payload.payload`` of ``score_commute``.

    Routed commutes are cached per snapped points, mode, window, category and
    departure at the versions of ANSWER_SCOPES (the answer depends on the points only
    through where they snap; ``snapped`` is filled in per request). ``computing``
    is entered around the work whenever the answer is not a cached one: the API
    charges the throttle and takes a routing slot there. ``history`` and what it
    raises: as score_commute.
    """
    window = window or Window()
    if route.drawn or route.mode not in ROUTED_MODES:
        with computing():
            return payload(_score(route, window, category, depart, None, [], history))
    graph = street_graph()
    snaps, snapped = _snap_all(graph, route)
    key = (
        graph.key,
        route.mode,
        tuple((s.edge, s.fraction) for s in snaps),
        window,
        category,
        depart,
        history,
    )

    def make() -> dict:
        with computing():
            return payload(
                _score(route, window, category, depart, graph, snaps, history)
            )

    with _one_at_a_time(key):
        # Many clients asking one new commute at once: one thread computes it, the
        # others then find it cached (a stampede cost 16 routings of one answer).
        answer = _ANSWERS.get(key, make)
    return {**answer, "snapped": snapped_payload(snapped)}


_INFLIGHT: dict = {}
_INFLIGHT_LOCK = threading.Lock()


@contextmanager
def _one_at_a_time(key) -> Iterator[None]:
    """Threads of this process asking for the same ``key`` take turns."""
    with _INFLIGHT_LOCK:
        lock, users = _INFLIGHT.get(key, (None, 0))
        lock = lock or threading.Lock()
        _INFLIGHT[key] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _INFLIGHT_LOCK:
            lock, users = _INFLIGHT[key]
            if users == 1:
                del _INFLIGHT[key]
            else:
                _INFLIGHT[key] = (lock, users - 1)


def _score(
    route: Route,
    window: Window,
    category: str,
    depart: datetime | None,
    graph: StreetGraph | None,
    snaps: list[Snap],
    history: bool = True,
) -> CommuteScore:
    """``graph`` None: scored along the polyline as given (drawn, transit)."""
    forecast = _read_forecast(category, route.mode)
    week = forecast.week
    given_h = _given_offset(week, depart) if depart is not None else None
    fastest = _fastest(graph, route, snaps) if graph is not None else None
    if fastest is None:
        shortest = _scored(_straight_path(route), forecast)
    else:
        shortest = _scored(_street_path(graph, fastest, "shortest"), forecast)
    depart_h = given_h if given_h is not None else _best_offset(shortest, week, window)
    at = _Departure(
        forecast, window, depart_h, shortest, shortest.at(forecast, depart_h)
    )
    scored = [shortest]
    if fastest is not None:
        trip = Trip(
            graph=graph,
            mode=route.mode,
            snaps=snaps,
            week=week,
            city_mean=forecast.city_mean,
            depart_h=depart_h,
            shortest=Candidate(fastest, at.shortest_at.expected),
        )
        with _legs_named(route):
            found = alternatives(trip)
        scored += [
            _scored(_street_path(graph, alt, "alternative"), forecast) for alt in found
        ]
    routes = tuple(_route_score(s, at, history) for s in scored)
    return CommuteScore(
        mode=route.mode,
        routes=routes,
        forecast=ForecastUsed(
            category=week.category,
            model_version_id=week.model_version_id,
            forecast_run_id=week.forecast_run_id,
            start=week.hour_starts[0].astimezone(SEATTLE),
            measured_error=forecast.measured_error,
        ),
        depart=at.shortest_at.departure,
        depart_chosen="given" if depart is not None else "best_in_window",
    )
