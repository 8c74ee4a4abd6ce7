"""The commute request body as the OpenAPI schema gives it: what the parsers in
commutes.services.routes accept, in the schema's keywords where OpenAPI 3.0 has them.

What it states only in words (a 422 naming the field, not a 400): a position's
longitude and latitude ranges (3.0 cannot bound an array's items by place), the city
limits, a window that ends before it starts, a route over the length limit, a
`start`/`end` that contradicts `route`, a departure outside the forecast week.
"""

from __future__ import annotations

from commutes.services.routes import (
    DAY_SETS,
    DAYS,
    HHMM_PATTERN,
    MAX_POINTS,
    MAX_ROUTED_WAYPOINTS,
    MODE_SPEED_KMH,
)
from predictions.models import Category

# [lon, lat] or [lon, lat, altitude] (GeoJSON), or {"lon": ..., "lat": ...}.
POSITION = {
    "oneOf": [
        {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 3,
        },
        {
            "type": "object",
            "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}},
            "required": ["lon", "lat"],
        },
    ],
    "description": "[lon, lat] in degrees (EPSG:4326), longitude first, inside "
    "Seattle (250 m of tolerance at the city limits); else a 422.",
}
LINESTRING = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["LineString"]},
        "coordinates": {
            "type": "array",
            "items": POSITION,
            "minItems": 2,
            "maxItems": MAX_POINTS,
        },
    },
    "required": ["type", "coordinates"],
}
ROUTE = {
    "oneOf": [
        LINESTRING,
        {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "geometry": LINESTRING,
            },
            "required": ["type", "geometry"],
        },
    ],
    "description": "A GeoJSON LineString (or a Feature of one), scored as drawn: "
    f"at most {MAX_POINTS} points, staying in Seattle.",
}
CLOCK = {"type": "string", "pattern": HHMM_PATTERN}
WINDOW = {
    "type": "object",
    "nullable": True,
    "properties": {
        "start": {**CLOCK, "description": "HH:MM, Seattle time (default 00:00)"},
        "end": {
            **CLOCK,
            "description": "HH:MM, not before start (default 23:59; else a 422)",
        },
        "days": {
            "oneOf": [
                {"type": "string", "enum": list(DAY_SETS)},
                {
                    "type": "array",
                    "items": {"type": "string", "enum": list(DAYS)},
                    "minItems": 1,
                },
            ],
            "description": f"{', '.join(DAY_SETS)} or a list of {', '.join(DAYS)} "
            "(default all)",
        },
    },
    "description": "The departures to compare, Seattle local time; a window with no "
    "departure on the hour in the forecast week is a 422.",
}
SCORE_REQUEST = {
    "type": "object",
    "properties": {
        "route": {**ROUTE, "nullable": True},
        "start": {
            **POSITION,
            "nullable": True,
            "description": "[lon, lat]; with end (and waypoints) instead of route. "
            + POSITION["description"],
        },
        "end": {**POSITION, "nullable": True},
        "waypoints": {
            "type": "array",
            "nullable": True,
            "items": POSITION,
            "maxItems": MAX_ROUTED_WAYPOINTS,
            "description": "[[lon, lat], ...] between start and end, in order.",
        },
        "mode": {
            "type": "string",
            "enum": list(MODE_SPEED_KMH),
            "default": "walk",
            "description": "walk, bike and drive are routed along the streets "
            "(OpenStreetMap). transit is not offered (no transit data yet): it is a "
            "400 naming mode.",
        },
        "window": WINDOW,
        "category": {
            "type": "string",
            "enum": list(Category.values),
            "default": Category.ALL.value,
        },
        "depart": {
            "type": "string",
            "nullable": True,
            "anyOf": [{"format": "date-time"}, {"maxLength": 0}],
            "description": "ISO local time (Seattle; an explicit offset is honoured), "
            "inside the forecast week (else a 422), e.g. 2021-12-21T08:00. The "
            "alternatives and each route's `expected` are for this departure. "
            "Default (absent, null or empty): the shortest route's best departure in "
            "`window`.",
        },
    },
    # `route`, or `start` and `end`: never both ways (null is not given).
    "oneOf": [
        {
            "required": ["route"],
            "properties": {
                "route": ROUTE,
                "waypoints": {"type": "array", "nullable": True, "maxItems": 0},
            },
            "description": "Drawn: `start`/`end`, if given, must be the route's ends "
            "(within 5 m; else a 422); no waypoints.",
        },
        {
            "required": ["start", "end"],
            "properties": {
                "route": {"nullable": True, "enum": [None]},
                "start": POSITION,
                "end": POSITION,
            },
            "description": "Routed along the streets from start to end.",
        },
    ],
}

# The body's component, referred to by the view and added by `add_components`.
SCORE_REQUEST_REF = {"$ref": "#/components/schemas/ScoreRequest"}


def add_components(result, generator, request, public):
    """The postprocessing hook: the request body as a component of the schema."""
    result.setdefault("components", {}).setdefault("schemas", {})["ScoreRequest"] = (
        SCORE_REQUEST
    )
    return result
