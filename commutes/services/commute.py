"""Score a commute: routes -> corridors -> forecast arrays -> timelines.

Walk, bike and drive follow the streets (street_graph, street_routes): the shortest
route by time and up to two safer alternatives for the departure. Transit (no
transit data yet) and a client-drawn ``route`` LineString are scored along the
straight polyline as drawn (corridor.py). The arithmetic lives in scoring.py, the
last year's reports in stretch_history.py; the thin views call ``score_commute``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import LineString
from django.urls import reverse

from commutes.services import scoring, street_routes
from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M, find_corridor
from commutes.services.routes import (
    MAX_LENGTH_M,
    MODE_SPEED_KMH,
    ROUTED_MODES,
    Route,
    RouteError,
    Window,
)
from commutes.services.stretch_history import recent_history
from core.cache import DATA, FORECASTS, GRID, STREETS, VersionedCache, versions
from core.local_time import SEATTLE
from streets.services.street_graph import SNAP_MAX_M, street_graph

DEPARTURES = scoring.HOURS_PER_WEEK
# Read a little past the week so the trips leaving in its last hours use real
# forecast hours when they exist (the slowest trip: 40 km on foot, 8 h).
FORECAST_HOURS = DEPARTURES + math.ceil(
    MAX_LENGTH_M / 1000 / min(MODE_SPEED_KMH.values())
)
BEST_COUNT = 3
NOTE = (
    "Figures are expected numbers of reported incidents (crimes against persons "
    "and property) in the cells within about 100 m of the route while the trip "
    "lasts, from the active forecast model. They describe areas and hours, not "
    "people, and they are not a guarantee of anything: see the model card for how "
    "accurate the forecasts have been."
)
MODE_NOUN = {"walk": "a pedestrian", "bike": "a bike", "drive": "a car"}
ALONG_LABEL = {
    "streets": "along the streets",
    "straight_line": (
        "a straight line at transit's door-to-door speed (no transit data yet)"
    ),
    "drawn": "as drawn",
}

_MEANS = VersionedCache("city-mean", (FORECASTS, GRID), local=8)


def _city_mean(week, current: tuple[int, ...]) -> np.ndarray:
    """Citywide mean per hour, cached per stored forecast (one pass over all cells);
    ``current``: the versions ``week`` was read at."""
    key = (week.model_version_id, week.category, week.start, week.hours)
    return _MEANS.get(
        key, lambda: scoring.city_mean_per_hour(week.values), versions=current
    )


def model_card_url() -> str:
    return reverse("predictions:model-card")


def _num(x: float, digits: int = 4) -> float | None:
    """``digits`` significant figures: quiet routes expect 1e-4, busy ones 10."""
    x = float(x)
    return float(f"{x:.{digits}g}") if math.isfinite(x) else None


def _departure_rows(hour_starts, core: scoring.CoreScore) -> list[dict]:
    rows = []
    for i in range(core.expected.size):
        local = hour_starts[i].astimezone(SEATTLE)
        rows.append(
            {
                "departure": local.isoformat(),
                "expected": _num(core.expected[i]),
                "typical": _num(core.typical[i]),
                "relative_risk": _num(core.relative[i], 3),
            }
        )
    return rows


def _best(timeline: list[dict], hour_starts, window: Window) -> dict:
    local = [h.astimezone(SEATTLE) for h in hour_starts[: len(timeline)]]
    inside = [
        i
        for i, t in enumerate(local)
        if window.contains(t.weekday(), t.time())
        and timeline[i]["expected"] is not None
    ]
    if not inside:
        raise RouteError(
            "window",
            "no departure on the hour falls in the window during the forecast week; "
            "widen the window (departures are scored on the hour)",
        )
    ranked = sorted(inside, key=lambda i: (timeline[i]["expected"], i))
    by_day: dict[str, int] = {}
    for i in inside:
        day = local[i].date().isoformat()
        if (
            day not in by_day
            or timeline[i]["expected"] < timeline[by_day[day]]["expected"]
        ):
            by_day[day] = i
    worst = ranked[-1]
    return {
        "window": window.as_dict(),
        "candidates": len(inside),
        "best": [timeline[i] for i in ranked[:BEST_COUNT]],
        "best_by_day": [
            {"date": day, **timeline[i]} for day, i in sorted(by_day.items())
        ],
        "worst": timeline[worst],
    }


@dataclass
class Segment:
    """A stretch of a route: where, its cells, and (along the streets) its name."""

    geometry: dict  # GeoJSON LineString, EPSG:4326
    utm: LineString | np.ndarray  # EPSG:32610: a GEOS line, or its coordinates
    from_m: float
    to_m: float
    cell_ids: np.ndarray
    name: str | None = None

    @property
    def line_utm(self) -> LineString:
        # Built on demand: only the riskiest stretch needs a GEOS line (its
        # history query), and making one per stretch cost ~30 ms a route.
        if not isinstance(self.utm, LineString):
            self.utm = LineString(self.utm.tolist(), srid=settings.ANALYSIS_SRID)
        return self.utm


@dataclass
class ScoredRoute:
    kind: str  # shortest, alternative, as_drawn
    along: str  # streets, straight_line, drawn
    coords: list[list[float]]
    length_m: float
    duration_h: float
    cell_ids: np.ndarray
    segments: list[Segment]
    core: scoring.CoreScore
    timeline: list[dict]
    corridor_per_hour: np.ndarray
    streets: list[str] | None = None
    # Stretches of equal length rank by their expected rate; named street stretches
    # vary in length, so they rank by the rate per nearby cell.
    rank_by_density: bool = False


def _score(
    week,
    city_mean: np.ndarray,
    cell_ids: np.ndarray,
    segments: list[Segment],
    duration_h: float,
) -> tuple[scoring.CoreScore, np.ndarray]:
    cols = scoring.columns_for(cell_ids, week.cell_ids)
    core = scoring.score_corridor(
        week.values,
        cols,
        [scoring.columns_for(s.cell_ids, week.cell_ids) for s in segments],
        duration_h,
        departures=DEPARTURES,
        city_mean=city_mean,
    )
    per_hour = (
        week.values[:, cols].sum(axis=1, dtype=np.float64)
        if cols.size
        else np.zeros(week.hours)
    )
    return core, per_hour


def _riskiest(route: ScoredRoute) -> int | None:
    core = route.core
    if not core.segment_rate.size or core.segment_rate.max() <= 0:
        return None
    if route.rank_by_density:
        density = np.where(core.segment_cells > 0, core.segment_rate, 0.0) / np.maximum(
            core.segment_cells, 1
        )
        return int(np.argmax(density))
    return int(np.argmax(core.segment_rate))


def _segments_geojson(route: ScoredRoute, riskiest: int | None) -> dict:
    core = route.core
    key = (
        core.segment_rate / np.maximum(core.segment_cells, 1)
        if route.rank_by_density
        else core.segment_rate
    )
    order = np.argsort(-key, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(1, order.size + 1)
    features = []
    for i, seg in enumerate(route.segments):
        features.append(
            {
                "type": "Feature",
                "id": i,
                "geometry": seg.geometry,
                "properties": {
                    "index": i,
                    "name": seg.name,
                    "from_m": round(seg.from_m, 1),
                    "to_m": round(seg.to_m, 1),
                    "cells": int(core.segment_cells[i]),
                    "expected_per_hour": _num(core.segment_rate[i], 5),
                    "relative_risk": _num(core.segment_relative[i], 3),
                    "rank": int(rank[i]),
                    "riskiest": i == riskiest,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _straight(route: Route, week, city_mean: np.ndarray) -> ScoredRoute:
    """The polyline as given: a drawn route, or transit's straight line."""
    corridor = find_corridor(route.line_utm)
    segments = [
        Segment(
            geometry=corridor.segments_geojson[i],
            utm=corridor.segments[i],
            from_m=a,
            to_m=b,
            cell_ids=corridor.segment_cell_ids[i],
        )
        for i, (a, b) in enumerate(corridor.segment_bounds_m)
    ]
    core, per_hour = _score(
        week, city_mean, corridor.cell_ids, segments, route.duration_h
    )
    return ScoredRoute(
        kind="as_drawn" if route.drawn else "shortest",
        along="drawn" if route.drawn else "straight_line",
        coords=[[lon, lat] for lon, lat in route.points],
        length_m=route.length_m,
        duration_h=route.duration_h,
        cell_ids=corridor.cell_ids,
        segments=segments,
        core=core,
        timeline=_departure_rows(week.hour_starts, core),
        corridor_per_hour=per_hour,
    )


def _along_streets(
    graph, street_route: street_routes.StreetRoute, kind: str, week, city_mean
) -> ScoredRoute:
    segments = []
    for stretch in street_routes.stretches(graph, street_route):
        coords = street_routes.route_coords(graph, stretch.steps)
        utm = np.concatenate(
            [shapely.get_coordinates(graph.step_line_utm(s)) for s in stretch.steps]
        )
        segments.append(
            Segment(
                geometry={"type": "LineString", "coordinates": coords},
                utm=utm,
                from_m=stretch.from_m,
                to_m=stretch.to_m,
                cell_ids=street_routes.route_cells(graph, stretch.steps),
                name=stretch.name,
            )
        )
    cell_ids = (
        np.unique(np.concatenate([s.cell_ids for s in segments]))
        if segments
        else np.empty(0, np.int64)
    )
    duration_h = street_route.seconds / 3600.0
    core, per_hour = _score(week, city_mean, cell_ids, segments, duration_h)
    return ScoredRoute(
        kind=kind,
        along="streets",
        coords=street_routes.route_coords(graph, street_route.steps),
        length_m=street_route.length_m,
        duration_h=duration_h,
        cell_ids=cell_ids,
        segments=segments,
        core=core,
        timeline=_departure_rows(week.hour_starts, core),
        corridor_per_hour=per_hour,
        streets=street_routes.route_streets(graph, street_route.steps),
        rank_by_density=True,
    )


def _snap_all(graph, route: Route) -> tuple[list, list[dict]]:
    snaps, report = [], []
    for i, ((lon, lat), name) in enumerate(
        zip(route.points, route.fields, strict=True)
    ):
        snap = graph.snap(lon, lat, route.mode)
        if snap is None:
            which = f"waypoint {i}" if name == "waypoints" else name
            raise RouteError(
                name,
                f"{which} ({lat:.5f}, {lon:.5f}) is more than {SNAP_MAX_M:.0f} m from "
                f"any street {MODE_NOUN[route.mode]} can use (water, a park or the "
                "edge of the map?); put it nearer a street",
            )
        snaps.append(snap)
        report.append(
            {
                "field": name,
                "given": [lon, lat],
                "snapped": [round(snap.lon, 6), round(snap.lat, 6)],
                "distance_m": round(snap.distance_m, 1),
            }
        )
    return snaps, report


def _route_or_400(graph, route: Route, snaps, **kwargs):
    try:
        return street_routes.route_through(graph, route.mode, snaps, **kwargs)
    except street_routes.LegNotFound as exc:
        name = route.fields[exc.leg + 1]
        which = f"waypoint {exc.leg + 1}" if name == "waypoints" else name
        raise RouteError(
            name,
            f"no route by {route.mode} reaches {which} from the point before it "
            "along the streets (one-way streets, or a road cut off from the rest "
            "of the network); move the point",
        ) from None


def _depart_offset(week, depart: datetime | None) -> float | None:
    """Hours from the forecast's first hour to ``depart``; 400 outside the week."""
    if depart is None:
        return None
    offset = (depart - week.hour_starts[0]).total_seconds() / 3600.0
    if not 0 <= offset < DEPARTURES:
        first = week.hour_starts[0].astimezone(SEATTLE)
        last = week.hour_starts[DEPARTURES - 1].astimezone(SEATTLE)
        raise RouteError(
            "depart",
            f"depart must fall in the forecast week, {first:%Y-%m-%dT%H:%M} to "
            f"{last:%Y-%m-%dT%H:%M} Seattle time",
        )
    return offset


def _best_offset(shortest: ScoredRoute, week, window: Window) -> float:
    """The default departure: the shortest route's best hour in the window."""
    best = _best(shortest.timeline, week.hour_starts, window)["best"][0]
    return _depart_offset(week, datetime.fromisoformat(best["departure"]))


def _alternatives(
    graph,
    route: Route,
    snaps,
    shortest: street_routes.StreetRoute,
    week,
    city_mean,
    depart_h: float,
    shortest_expected: float,
) -> list[street_routes.StreetRoute]:
    """Detours through quieter streets for a departure at ``depart_h``."""
    idx, spent = scoring.hour_weights(depart_h, shortest.seconds / 3600, week.hours)
    cell_rate = (week.values[idx].astype(np.float64) * spent[:, None]).sum(axis=0)
    city = float((city_mean[idx] * spent).sum())
    exposure = street_routes.edge_exposure(graph, week.cell_ids, cell_rate, city)
    seen: set[tuple] = set()
    candidates = []
    for lam in street_routes.LAMBDAS:
        factor = 1.0 + lam * exposure
        bounds = street_routes.leg_bounds(graph, route.mode, shortest, factor)
        found = _route_or_400(graph, route, snaps, edge_factor=factor, limits=bounds)
        key = tuple((s.edge, s.forward) for s in found.steps)
        if key in seen:
            continue
        seen.add(key)
        found.weight = lam
        cols = scoring.columns_for(
            street_routes.route_cells(graph, found.steps), week.cell_ids
        )
        per_hour = week.values[:, cols].sum(axis=1, dtype=np.float64)
        expected = scoring.expected_at(per_hour, depart_h, found.seconds / 3600)
        candidates.append(street_routes.Candidate(found, expected))
    picked = street_routes.pick_alternatives(
        graph, street_routes.Candidate(shortest, shortest_expected), candidates
    )
    return [c.route for c in picked]


def _at_depart(scored: ScoredRoute, city_mean, depart_h: float) -> dict:
    expected = scoring.expected_at(
        scored.corridor_per_hour, depart_h, scored.duration_h
    )
    typical = scored.core.corridor_cells * scoring.expected_at(
        city_mean, depart_h, scored.duration_h
    )
    return {
        "expected": expected,
        "typical": typical,
        "relative_risk": expected / typical if typical > 0 else float("nan"),
    }


def _percent(ratio: float) -> str:
    change = round((ratio - 1) * 100)
    return f"{'+' if change > 0 else '−' if change < 0 else '±'}{abs(change)}%"


def _route_payload(
    scored: ScoredRoute,
    at: dict,
    shortest_at: dict,
    shortest: ScoredRoute,
    window: Window,
    week,
) -> dict:
    riskiest = _riskiest(scored)
    history = (
        recent_history(scored.segments[riskiest].line_utm, CORRIDOR_HALF_WIDTH_M)
        if riskiest is not None
        else None
    )
    finite = scored.core.relative[np.isfinite(scored.core.relative)]
    time_ratio = scored.duration_h / shortest.duration_h if shortest.duration_h else 1.0
    exp_ratio = (
        at["expected"] / shortest_at["expected"]
        if shortest_at["expected"] > 0
        else float("nan")
    )
    comparison = None
    if scored is not shortest:
        comparison = (
            f"{_percent(time_ratio)} time, {_percent(exp_ratio)} expected reported "
            "incidents"
        )
    return {
        "kind": scored.kind,
        "along": scored.along,
        "along_label": ALONG_LABEL[scored.along],
        "geometry": {"type": "LineString", "coordinates": scored.coords},
        "length_m": round(scored.length_m, 1),
        "duration_min": round(scored.duration_h * 60, 1),
        "expected": _num(at["expected"]),
        "typical": _num(at["typical"]),
        "relative_risk": _num(at["relative_risk"], 3),
        "vs_shortest": {"time": _num(time_ratio), "expected": _num(exp_ratio)},
        "comparison": comparison,
        "streets": scored.streets or [],
        "corridor_cells": scored.core.corridor_cells,
        "summary": {
            "mean_expected": _num(scored.core.expected.mean())
            if scored.core.expected.size
            else None,
            "mean_relative_risk": _num(finite.mean(), 3) if finite.size else None,
        },
        "timeline": scored.timeline,
        "departures": _best(scored.timeline, week.hour_starts, window),
        "segments": _segments_geojson(scored, riskiest),
        "riskiest_segment": None
        if riskiest is None
        else {
            "index": riskiest,
            "name": scored.segments[riskiest].name,
            "recent_history": history,
        },
    }


# What a routed answer is built from: the forecast and its grid, the incidents (the
# stretches' history), the street network.
ANSWER_SCOPES = (FORECASTS, GRID, DATA, STREETS)
# Routed answers per snapped points, mode, window, category and departure, shared by
# every process (~0.2 MB pickled each; the cache's size cap and Redis's maxmemory
# bound them): the same commute asked again costs a lookup, not four searches.
_ANSWERS = VersionedCache("commute-answer", ANSWER_SCOPES, local=16, shared=True)


def score_commute(
    route: Route,
    window: Window | None = None,
    category: str = "all",
    depart: datetime | None = None,
    *,
    computing: Callable[[], AbstractContextManager] = nullcontext,
) -> dict:
    """Everything the page and the API show for one commute.

    Routed commutes are cached per snapped points, mode, window, category and
    departure at the versions of ANSWER_SCOPES (the answer depends on the points only
    through where they snap; ``snapped`` is filled in per request). ``computing``
    is entered around the work whenever the answer is not a cached one: the API
    charges the throttle and takes a routing slot there.

    Raises RouteError for a request the network or the forecast cannot answer
    (naming the field), predictions.services.forecast_store.NoForecast when no
    forecast is stored and street_graph.NoNetwork when no street network is.
    """
    window = window or Window()
    if route.drawn or route.mode not in ROUTED_MODES:
        with computing():
            return _score_commute(route, window, category, depart, None, [])
    graph = street_graph()
    snaps, snapped = _snap_all(graph, route)
    key = (
        graph.key,
        route.mode,
        tuple((s.edge, s.fraction) for s in snaps),
        window,
        category,
        depart,
    )

    def make() -> dict:
        with computing():
            return _score_commute(route, window, category, depart, graph, snaps)

    with _one_at_a_time(key):
        # Many clients asking one new commute at once: one thread computes it, the
        # others then find it cached (a stampede cost 16 routings of one answer).
        answer = _ANSWERS.get(key, make)
    return {**answer, "snapped": snapped}


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


def _score_commute(
    route: Route,
    window: Window,
    category: str,
    depart: datetime | None,
    graph,
    snaps: list,
) -> dict:
    from predictions.services.forecast_store import SCOPES, load_forecast

    current = versions(*SCOPES)  # before the rows (core.cache)
    week = load_forecast(category, hours=FORECAST_HOURS, versions=current)
    city_mean = _city_mean(week, current)
    depart_h = _depart_offset(week, depart)
    if graph is None:
        shortest = _straight(route, week, city_mean)
        scored = [shortest]
    else:
        fastest = _route_or_400(graph, route, snaps)
        if fastest.length_m < 1.0:
            raise RouteError(
                "end",
                "start and end fall on the same point of the street network; move "
                "one of them",
            )
        if fastest.length_m > MAX_LENGTH_M:
            raise RouteError(
                "route",
                f"the trip is {fastest.length_m / 1000:.1f} km along the streets; "
                f"at most {MAX_LENGTH_M / 1000:.0f} km",
            )
        shortest = _along_streets(graph, fastest, "shortest", week, city_mean)
        if depart_h is None:
            depart_h = _best_offset(shortest, week, window)
        shortest_expected = scoring.expected_at(
            shortest.corridor_per_hour, depart_h, shortest.duration_h
        )
        scored = [shortest] + [
            _along_streets(graph, alt, "alternative", week, city_mean)
            for alt in _alternatives(
                graph,
                route,
                snaps,
                fastest,
                week,
                city_mean,
                depart_h,
                shortest_expected,
            )
        ]
    chosen = "given" if depart is not None else "best_in_window"
    if depart_h is None:
        depart_h = _best_offset(shortest, week, window)
    at = [_at_depart(s, city_mean, depart_h) for s in scored]
    routes = [
        _route_payload(s, a, at[0], shortest, window, week)
        for s, a in zip(scored, at, strict=True)
    ]
    first = routes[0]
    depart_moment = week.hour_starts[0] + timedelta(hours=depart_h)
    speed = (
        shortest.length_m / 1000 / shortest.duration_h if shortest.duration_h else 0.0
    )
    return {
        "route": {
            "type": "Feature",
            "geometry": first["geometry"],
            "properties": {
                "mode": route.mode,
                "along": shortest.along,
                "speed_kmh": round(speed, 1),
                "length_m": first["length_m"],
                "duration_min": first["duration_min"],
                "corridor_half_width_m": CORRIDOR_HALF_WIDTH_M,
                "corridor_cells": first["corridor_cells"],
            },
        },
        "forecast": {
            "category": week.category,
            "model_version_id": week.model_version_id,
            "forecast_run_id": week.forecast_run_id,
            "start": week.hour_starts[0].astimezone(SEATTLE).isoformat(),
            "hours": len(first["timeline"]),
            "model_card_url": model_card_url(),
        },
        "summary": first["summary"],
        "timeline": first["timeline"],
        "departures": first["departures"],
        "segments": first["segments"],
        "riskiest_segment": first["riskiest_segment"],
        "depart": {
            "departure": depart_moment.astimezone(SEATTLE).isoformat(),
            "chosen": chosen,
        },
        "routes": routes,
        "snapped": None,
        "note": NOTE,
    }
