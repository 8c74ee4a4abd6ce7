"""Score a commute: route -> corridor (PostGIS) -> forecast arrays -> timeline.

The thin views call ``score_commute``; the arithmetic lives in scoring.py, the
geometry in corridor.py, the last year's reports in history.py.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np
from django.urls import reverse

from commutes.services import scoring
from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M, find_corridor
from commutes.services.routes import (
    MAX_LENGTH_M,
    MODE_SPEED_KMH,
    Route,
    RouteError,
    Window,
)
from commutes.services.stretch_history import recent_history
from core.local_time import SEATTLE

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

_mean_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
_mean_lock = threading.Lock()


def _city_mean(week) -> np.ndarray:
    """Citywide mean per hour, cached per stored forecast (one pass over all cells)."""
    key = (
        week.model_version_id,
        week.forecast_run_id,
        week.category,
        week.start,
        week.hours,
    )
    with _mean_lock:
        hit = _mean_cache.get(key)
    if hit is not None:
        return hit
    mean = scoring.city_mean_per_hour(week.values)
    with _mean_lock:
        _mean_cache[key] = mean
        while len(_mean_cache) > 8:
            _mean_cache.popitem(last=False)
    return mean


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


def _segments_geojson(corridor, core: scoring.CoreScore, riskiest: int | None) -> dict:
    order = np.argsort(-core.segment_rate, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(1, order.size + 1)
    features = []
    for i, geometry in enumerate(corridor.segments_geojson):
        a, b = corridor.segment_bounds_m[i]
        features.append(
            {
                "type": "Feature",
                "id": i,
                "geometry": geometry,
                "properties": {
                    "index": i,
                    "from_m": round(a, 1),
                    "to_m": round(b, 1),
                    "cells": int(core.segment_cells[i]),
                    "expected_per_hour": _num(core.segment_rate[i], 5),
                    "relative_risk": _num(core.segment_relative[i], 3),
                    "rank": int(rank[i]),
                    "riskiest": i == riskiest,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def score_commute(
    route: Route, window: Window | None = None, category: str = "all"
) -> dict:
    """Everything the page and the API show for one commute.

    Raises RouteError for a window the forecast cannot answer and
    predictions.services.forecast_store.NoForecast when no forecast is stored.
    """
    from predictions.services.forecast_store import load_forecast

    week = load_forecast(category, hours=FORECAST_HOURS)
    corridor = find_corridor(route.line_utm)
    corridor_cols = scoring.columns_for(corridor.cell_ids, week.cell_ids)
    segment_cols = [
        scoring.columns_for(ids, week.cell_ids) for ids in corridor.segment_cell_ids
    ]
    core = scoring.score_corridor(
        week.values,
        corridor_cols,
        segment_cols,
        route.duration_h,
        departures=DEPARTURES,
        city_mean=_city_mean(week),
    )
    timeline = _departure_rows(week.hour_starts, core)
    riskiest = (
        int(np.argmax(core.segment_rate))
        if core.segment_rate.size and core.segment_rate.max() > 0
        else None
    )
    history = (
        recent_history(corridor.segments[riskiest], CORRIDOR_HALF_WIDTH_M)
        if riskiest is not None
        else None
    )
    finite = core.relative[np.isfinite(core.relative)]
    return {
        "route": {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[lon, lat] for lon, lat in route.points],
            },
            "properties": {
                "mode": route.mode,
                "speed_kmh": route.speed_kmh,
                "length_m": round(route.length_m, 1),
                "duration_min": round(route.duration_h * 60, 1),
                "corridor_half_width_m": CORRIDOR_HALF_WIDTH_M,
                "corridor_cells": core.corridor_cells,
            },
        },
        "forecast": {
            "category": week.category,
            "model_version_id": week.model_version_id,
            "forecast_run_id": week.forecast_run_id,
            "start": week.hour_starts[0].astimezone(SEATTLE).isoformat(),
            "hours": len(timeline),
            "model_card_url": model_card_url(),
        },
        "summary": {
            "mean_expected": _num(core.expected.mean()) if core.expected.size else None,
            "mean_relative_risk": _num(finite.mean(), 3) if finite.size else None,
        },
        "timeline": timeline,
        "departures": _best(timeline, week.hour_starts, window or Window()),
        "segments": _segments_geojson(corridor, core, riskiest),
        "riskiest_segment": None
        if riskiest is None
        else {"index": riskiest, "recent_history": history},
        "note": NOTE,
    }
