"""Road classes (OSM ``highway``): how important each is and how fast it is driven.

Also the travel speeds assumed on foot and by bike: every edge's walk and bike times
and every straight-line estimate come from these two numbers.
"""

from __future__ import annotations

WALK_KMH = 5.0
BIKE_KMH = 15.0
MPH = 1.609344
# Driving speed where a way has no usable maxspeed: Seattle's defaults (25 mph on
# arterials, 20 mph on residential streets) and typical freeway limits.
CLASS_SPEED_KMH = {
    "motorway": 60 * MPH,
    "motorway_link": 35 * MPH,
    "trunk": 40 * MPH,
    "trunk_link": 25 * MPH,
    "primary": 25 * MPH,
    "primary_link": 25 * MPH,
    "secondary": 25 * MPH,
    "secondary_link": 25 * MPH,
    "tertiary": 25 * MPH,
    "tertiary_link": 25 * MPH,
    "unclassified": 20 * MPH,
    "residential": 20 * MPH,
    "living_street": 10 * MPH,
}
DEFAULT_SPEED_KMH = 20 * MPH
# Importance for the base map and for naming intersections (lower = bigger road).
CLASS_RANK = {
    "motorway": 0,
    "trunk": 1,
    "primary": 2,
    "secondary": 3,
    "tertiary": 4,
    "motorway_link": 5,
    "trunk_link": 5,
    "primary_link": 5,
    "secondary_link": 6,
    "tertiary_link": 6,
    "unclassified": 7,
    "residential": 7,
    "living_street": 8,
}
# A class the table does not name ranks below every named one.
UNRANKED = max(CLASS_RANK.values()) + 1


def class_rank(highway: str) -> int:
    """A road class's importance: 0 motorway .. 8 living street, 9 anything else."""
    return CLASS_RANK.get(highway, UNRANKED)


def parse_maxspeed(value: str | None) -> float | None:
    """OSM maxspeed in km/h: "25 mph" -> 40.2, "50" -> 50; None when not a number."""
    if not value:
        return None
    text = value.strip().lower()
    factor = 1.0
    if text.endswith("mph"):
        factor, text = MPH, text[:-3].strip()
    elif text.endswith("km/h"):
        text = text[:-4].strip()
    try:
        speed = float(text) * factor
    except ValueError:
        return None
    return speed if 0 < speed < 200 else None


def drive_speed_kmh(tags: dict) -> tuple[float | None, float]:
    """(the way's own maxspeed or None, the speed it is driven at in km/h)."""
    maxspeed = parse_maxspeed(tags.get("maxspeed"))
    return maxspeed, maxspeed or CLASS_SPEED_KMH.get(
        tags.get("highway", ""), DEFAULT_SPEED_KMH
    )
