"""The commute API's JSON, rendered from a CommuteScore: the one place numbers are
rounded, times written and routes put in words.

The top-level ``summary``, ``timeline``, ``departures``, ``segments`` and
``riskiest_segment`` are the shortest route's (``routes[0]``): the API's first
version had only that route, and clients (the page, alerts' notes) read them there.
They are rendered once and shared, not computed again.
"""

from __future__ import annotations

import math

from django.urls import reverse

from commutes.services import commute_words
from commutes.services.commute_result import (
    BestDepartures,
    CommuteScore,
    HourScore,
    RouteScore,
    Snapped,
)
from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M

NOTE = (
    "Figures are expected numbers of reported incidents (crimes against persons "
    "and property) in the cells within about "
    f"{CORRIDOR_HALF_WIDTH_M:.0f} m of the route while the trip lasts, from the "
    "active forecast model; what is said to fall within "
    f"{CORRIDOR_HALF_WIDTH_M:.0f} m of your way counts only the part of those cells "
    "that near the route. A route is compared "
    "with random trips across the city of the same mode, about the same length "
    "(within 20%) and the same departure hour. Figures describe areas and hours, not "
    "people, and they are not a guarantee of anything: see the model card for how "
    "accurate the forecasts have been."
)
ALONG_LABEL = {
    "streets": "along the streets",
    "straight_line": (
        "a straight line at transit's door-to-door speed (no transit data yet)"
    ),
    "drawn": "as drawn",
}


def model_card_url() -> str:
    return reverse("predictions:model-card")


def _num(x: float | None, digits: int = 4) -> float | None:
    """``digits`` significant figures: quiet routes expect 1e-4, busy ones 10."""
    if x is None:
        return None
    x = float(x)
    return float(f"{x:.{digits}g}") if math.isfinite(x) else None


def _percent(ratio: float) -> str:
    change = round((ratio - 1) * 100)
    return f"{'+' if change > 0 else '−' if change < 0 else '±'}{abs(change)}%"


def _hour(h: HourScore) -> dict:
    return {
        "departure": h.departure.isoformat(),
        "expected": _num(h.expected),
        "typical": _num(h.typical),
        "relative_risk": _num(h.relative_risk, 3),
    }


def _departures(d: BestDepartures) -> dict:
    return {
        "window": d.window.as_dict(),
        "candidates": d.candidates,
        "best": [_hour(h) for h in d.best],
        "best_by_day": [
            {"date": h.departure.date().isoformat(), **_hour(h)} for h in d.best_by_day
        ],
        "worst": _hour(d.worst),
    }


def _segments(route: RouteScore) -> dict:
    riskiest = route.to_watch.index if route.to_watch else None
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": i,
                "geometry": s.geometry,
                "properties": {
                    "index": i,
                    "name": s.name,
                    "from_m": round(s.from_m, 1),
                    "to_m": round(s.to_m, 1),
                    "cells": s.cells,
                    "expected_per_hour": _num(s.expected_per_hour, 5),
                    "relative_risk": _num(s.relative_risk, 3),
                    "rank": s.rank,
                    "riskiest": i == riskiest,
                },
            }
            for i, s in enumerate(route.stretches)
        ],
    }


def _similar(route: RouteScore) -> dict | None:
    similar = route.similar_trips
    if similar is None:
        return None
    return {
        "percentile": similar.percentile,
        "n": similar.n,
        "median_expected": _num(similar.median_expected),
    }


def _words(route: RouteScore, index: int, score: CommuteScore) -> dict:
    """The route's figures as sentences (commute_words), for the page and notes."""
    shortest = score.shortest
    leave = route.best_leave
    fewer = (
        (1 - route.vs_shortest_expected) * 100
        if math.isfinite(route.vs_shortest_expected)
        else 0.0
    )
    return {
        "standing": commute_words.standing(
            _similar(route), score.mode, route.at_depart.departure
        ),
        "one_in_n": commute_words.one_in_n(route.expected_within),
        "alternative": None
        if index == 0
        else commute_words.alternative(
            (route.duration_h - shortest.duration_h) * 60, route.avoids, fewer
        ),
        "best_time": None
        if leave is None
        else commute_words.best_time(
            leave.best,
            leave.best_expected,
            leave.other,
            leave.other_expected,
            score.forecast.measured_error,
        ),
    }


def _route(route: RouteScore, index: int, score: CommuteScore) -> dict:
    watch = route.to_watch
    return {
        "kind": route.kind,
        "along": route.along,
        "along_label": ALONG_LABEL[route.along],
        "geometry": {"type": "LineString", "coordinates": route.coords},
        "length_m": round(route.length_m, 1),
        "duration_min": round(route.duration_h * 60, 1),
        "expected": _num(route.at_depart.expected),
        "typical": _num(route.at_depart.typical),
        "relative_risk": _num(route.at_depart.relative_risk, 3),
        "similar_trips": _similar(route),
        "expected_within_100m": _num(route.expected_within),
        "words": _words(route, index, score),
        "vs_shortest": {
            "time": _num(route.vs_shortest_time),
            "expected": _num(route.vs_shortest_expected),
        },
        "comparison": None
        if index == 0
        else (
            f"{_percent(route.vs_shortest_time)} time, "
            f"{_percent(route.vs_shortest_expected)} expected reported incidents"
        ),
        "streets": list(route.streets),
        "corridor_cells": route.corridor_cells,
        "summary": {
            "mean_expected": _num(route.mean_expected),
            "mean_relative_risk": _num(route.mean_relative_risk, 3),
        },
        "timeline": [_hour(h) for h in route.timeline],
        "departures": _departures(route.departures),
        "segments": _segments(route),
        "riskiest_segment": None
        if watch is None
        else {
            "index": watch.index,
            "name": watch.name,
            "recent_history": watch.recent_history,
        },
    }


def snapped_payload(snapped: tuple[Snapped, ...] | None) -> list[dict] | None:
    """Where each point joined the streets (None when not routed)."""
    if snapped is None:
        return None
    return [
        {
            "field": s.field,
            "given": list(s.given),
            "snapped": [round(s.snapped[0], 6), round(s.snapped[1], 6)],
            "distance_m": round(s.distance_m, 1),
        }
        for s in snapped
    ]


def payload(score: CommuteScore) -> dict:
    """The answer of POST /api/v1/commutes/score/ (ScoreResponseSerializer)."""
    routes = [_route(r, i, score) for i, r in enumerate(score.routes)]
    first, shortest = routes[0], score.shortest
    speed = (
        shortest.length_m / 1000 / shortest.duration_h if shortest.duration_h else 0.0
    )
    return {
        "route": {
            "type": "Feature",
            "geometry": first["geometry"],
            "properties": {
                "mode": score.mode,
                "along": shortest.along,
                "speed_kmh": round(speed, 1),
                "length_m": first["length_m"],
                "duration_min": first["duration_min"],
                "corridor_half_width_m": CORRIDOR_HALF_WIDTH_M,
                "corridor_cells": first["corridor_cells"],
            },
        },
        "forecast": {
            "category": score.forecast.category,
            "model_version_id": score.forecast.model_version_id,
            "forecast_run_id": score.forecast.forecast_run_id,
            "start": score.forecast.start.isoformat(),
            "hours": len(shortest.timeline),
            "model_card_url": model_card_url(),
            "measured_error": _num(score.forecast.measured_error, 3),
        },
        **{
            name: first[name]
            for name in (
                "summary",
                "timeline",
                "departures",
                "segments",
                "riskiest_segment",
            )
        },
        "depart": {
            "departure": score.depart.isoformat(),
            "chosen": score.depart_chosen,
        },
        "routes": routes,
        "snapped": snapped_payload(score.snapped),
        "note": NOTE,
    }
