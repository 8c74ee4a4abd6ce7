"""A commute route from a request: parsing, validation and metric geometry.

The route is the polyline through start, waypoints and end (EPSG:4326 in); every
length and buffer is computed in EPSG:32610 metres. Errors name the field at fault
so the API can answer 400 with a message a person can act on.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, time

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, LineString, Point
from django.contrib.gis.geos.prepared import PreparedGeometry

from core.api_errors import DEFAULT_CODES, UNPROCESSABLE, ApiError
from core.cache import AREAS, VersionedCache
from core.params import coordinate
from crimes.models import Area
from osm.drive_times import CITY_DRIVE_KMH
from osm.highways import BIKE_KMH, WALK_KMH

# The speed of a route scored as drawn (no routing): the pace on foot and by bike
# the network's times use, and the median speed of routed city drives. It sets the
# trip's duration, hence how many hours it overlaps.
MODE_SPEED_KMH = {"walk": WALK_KMH, "bike": BIKE_KMH, "drive": CITY_DRIVE_KMH}
# Modes routed along the street network (every mode offered; a drawn route is scored
# as drawn).
ROUTED_MODES = ("walk", "bike", "drive")
# Asked for but not offered: there is no transit data (timetables, stops) to route
# it, and a straight line through buildings told people nothing (issue 19).
NOT_OFFERED = {
    "transit": "transit is not offered: there is no transit data (timetables and "
    "stops) to route it yet; use walk, bike or drive",
}
MAX_LENGTH_M = 40_000.0
# The code of a 422 for a point (or a drawn line) outside the city limits.
OUTSIDE_SEATTLE = "outside_seattle"
MAX_POINTS = 200
# Routed along the streets, each leg is a search of the network (four with the
# alternatives): as many stops as a navigation app takes.
MAX_ROUTED_WAYPOINTS = 25
# A route may start or end a little beyond the city limits (a bridge, the ferry dock).
CITY_TOLERANCE_M = 250.0
# Two descriptions of the same endpoint farther apart than this contradict each other.
SAME_POINT_M = 5.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {
    "all": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
# A clock time, H:MM or HH:MM, 24 h (also the schema's pattern).
HHMM_PATTERN = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"
_HHMM = re.compile(HHMM_PATTERN)


class RouteError(ApiError):
    """A request that cannot be scored; ``field`` names the part at fault. A 400
    when the schema's keywords refuse it (commutes.api.schema); a 422 (`Refused`)
    when it is what the schema allows and a rule in words refuses it: a point
    outside the city, a window that ends before it starts, a route too long."""

    def __init__(self, field: str, message: str, *, code: str | None = None):
        super().__init__(message, field, code=code)
        self.field = field
        self.message = message


class Refused(RouteError):
    """A rule the schema states only in words (a 422)."""

    status = UNPROCESSABLE
    code = DEFAULT_CODES[UNPROCESSABLE]


@dataclass(frozen=True)
class Window:
    """Departure window in Seattle local time, both ends included."""

    start: time = time(0, 0)
    end: time = time(23, 59)
    days: frozenset[int] = field(default_factory=lambda: DAY_SETS["all"])

    def contains(self, weekday: int, clock: time) -> bool:
        return weekday in self.days and self.start <= clock <= self.end

    def as_dict(self) -> dict:
        return {
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "days": [DAYS[d] for d in sorted(self.days)],
        }


@dataclass(frozen=True)
class Route:
    """What the visitor asked for: points in order, the mode, how it was given.

    ``drawn``: a client-drawn ``route`` LineString, scored as drawn (no routing).
    ``fields`` names the request field each point came from, for error messages.
    ``line_utm`` is the straight polyline through the points.
    """

    points: tuple[tuple[float, float], ...]  # (lon, lat), EPSG:4326
    mode: str
    line_utm: LineString = field(compare=False)  # EPSG:32610
    drawn: bool = False
    fields: tuple[str, ...] = ()

    @property
    def length_m(self) -> float:
        return float(self.line_utm.length)

    @property
    def speed_kmh(self) -> float:
        return MODE_SPEED_KMH[self.mode]

    @property
    def duration_h(self) -> float:
        return self.length_m / 1000.0 / self.speed_kmh

    def line_wgs84(self) -> LineString:
        return LineString(list(self.points), srid=settings.STORAGE_SRID)


_CITY = VersionedCache("city-limits", (AREAS,), local=1)


class SharedPrepared:
    """A prepared geometry that a process's threads share, asked one at a time.

    GEOS builds a prepared geometry's indexes on its first predicates, and the call
    runs without the GIL: two threads asking at once corrupted them, and a web
    worker died with SIGSEGV in ``covers`` while one client routed commutes from 8
    threads (docs/hardening.md, "One prepared city outline per thread at a time").
    A test of a point or a short line against it takes microseconds, so a lock
    costs nothing that matters."""

    def __init__(self, geom: GEOSGeometry) -> None:
        self._prepared: PreparedGeometry = geom.prepared
        self._lock = threading.Lock()

    def covers(self, other: GEOSGeometry) -> bool:
        with self._lock:
            return self._prepared.covers(other)


def _city_utm() -> SharedPrepared | None:
    """The city limits in metres, widened by the tolerance, prepared for fast tests."""

    def read() -> SharedPrepared | None:
        area = Area.objects.filter(kind=Area.Kind.CITY).only("geom").first()
        if area is None:
            return None
        geom = area.geom.transform(settings.ANALYSIS_SRID, clone=True)
        return SharedPrepared(geom.buffer(CITY_TOLERANCE_M))

    return _CITY.get("all", read)


def _position(value, field_name: str) -> tuple[float, float]:
    """A GeoJSON position [lon, lat] (or {"lon":, "lat":}) as floats, checked."""
    if isinstance(value, dict) and {"lon", "lat"} <= value.keys():
        value = [value["lon"], value["lat"]]
    # GeoJSON positions: [lon, lat] or [lon, lat, altitude].
    if not isinstance(value, list | tuple) or not 2 <= len(value) <= 3:
        raise RouteError(field_name, "a point must be [longitude, latitude]")
    numbers = [coordinate(v) for v in value]
    if None in numbers:
        raise RouteError(
            field_name, "longitude and latitude must be finite numbers (not text)"
        )
    lon, lat = numbers[0], numbers[1]
    # The schema gives numbers: OpenAPI 3.0 cannot bound an array's items by place.
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Refused(
            field_name,
            f"[{lon}, {lat}] is not a [longitude, latitude] pair (lon first)",
        )
    return lon, lat


def _linestring_coords(value) -> list:
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or value.get("type") != "LineString":
        raise RouteError("route", "route must be a GeoJSON LineString (or a Feature)")
    coords = value.get("coordinates")
    if not isinstance(coords, list):
        raise RouteError("route", "route.coordinates must be a list of positions")
    return coords


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    pa = Point(*a, srid=settings.STORAGE_SRID).transform(
        settings.ANALYSIS_SRID, clone=True
    )
    pb = Point(*b, srid=settings.STORAGE_SRID).transform(
        settings.ANALYSIS_SRID, clone=True
    )
    return float(pa.distance(pb))


def parse_route(data: dict) -> Route:
    """Build a Route from a request body, or raise RouteError naming the problem.

    Accepts ``route`` (GeoJSON LineString or Feature) or ``start`` + ``end`` (+
    optional ``waypoints``) as [lon, lat]; both may be given only if they agree.
    """
    mode = data.get("mode", "walk")
    if isinstance(mode, str) and mode in NOT_OFFERED:
        raise RouteError("mode", NOT_OFFERED[mode])
    if not isinstance(mode, str) or mode not in MODE_SPEED_KMH:
        raise RouteError(
            "mode", f"unknown mode {mode!r}; use one of {', '.join(MODE_SPEED_KMH)}"
        )
    route_raw = data.get("route")
    start_raw, end_raw = data.get("start"), data.get("end")
    waypoints_raw = data.get("waypoints")
    if waypoints_raw is None:  # null is not given, as for every field
        waypoints_raw = []
    if not isinstance(waypoints_raw, list):
        raise RouteError("waypoints", "waypoints must be a list of [lon, lat]")

    points: list[tuple[float, float]]
    fields: list[str]
    if route_raw is not None:
        coords = _linestring_coords(route_raw)
        if len(coords) > MAX_POINTS:
            raise RouteError(
                "route", f"route has {len(coords)} points; at most {MAX_POINTS}"
            )
        points = [_position(c, "route") for c in coords]
        fields = ["route"] * len(points)
        if waypoints_raw:
            raise RouteError(
                "waypoints", "give waypoints with start/end, not with a LineString"
            )
        for name, raw, mine in (
            ("start", start_raw, points[0] if points else None),
            ("end", end_raw, points[-1] if points else None),
        ):
            if raw is not None and mine is not None:
                given = _position(raw, name)
                if _metres(given, mine) > SAME_POINT_M:
                    raise Refused(
                        name,
                        f"{name} {list(given)} contradicts the route's {name} "
                        f"{list(mine)}; give one or the other",
                    )
    else:
        if start_raw is None or end_raw is None:
            raise RouteError(
                "route", "give a GeoJSON LineString as route, or both start and end"
            )
        total = len(waypoints_raw) + 2
        if total > MAX_POINTS:
            raise RouteError(
                "waypoints", f"route has {total} points; at most {MAX_POINTS}"
            )
        points = [
            _position(start_raw, "start"),
            *(_position(w, "waypoints") for w in waypoints_raw),
            _position(end_raw, "end"),
        ]
        fields = ["start", *(["waypoints"] * len(waypoints_raw)), "end"]
        if mode in ROUTED_MODES and len(waypoints_raw) > MAX_ROUTED_WAYPOINTS:
            raise RouteError(
                "waypoints",
                f"{len(waypoints_raw)} waypoints; at most {MAX_ROUTED_WAYPOINTS} along "
                "the streets",
            )
    if len(points) < 2:
        raise RouteError("route", "a route needs at least two points")

    line = LineString(points, srid=settings.STORAGE_SRID)
    line_utm = line.transform(settings.ANALYSIS_SRID, clone=True)
    if line_utm.length < 1.0:
        raise Refused("route", "the route has zero length (start equals end)")
    if line_utm.length > MAX_LENGTH_M:
        raise Refused(
            "route",
            f"the route is {line_utm.length / 1000:.1f} km long; at most "
            f"{MAX_LENGTH_M / 1000:.0f} km",
        )
    drawn = route_raw is not None
    city = _city_utm()
    if city is not None and not city.covers(line_utm):
        for i, (lon, lat) in enumerate(points):
            p = Point(lon, lat, srid=settings.STORAGE_SRID).transform(
                settings.ANALYSIS_SRID, clone=True
            )
            if not city.covers(p):
                what = f"point {i + 1}" if drawn else fields[i]
                raise Refused(
                    fields[i],
                    f"{what} ({lat:.5f}, {lon:.5f}) is outside Seattle; "
                    "forecasts cover the city only",
                    code=OUTSIDE_SEATTLE,
                )
        # Routed along the streets, a straight line over water between two points
        # in the city is no problem; a drawn or straight-line route must stay in.
        if drawn or mode not in ROUTED_MODES:
            raise Refused(
                "route",
                "the route leaves Seattle between its points",
                code=OUTSIDE_SEATTLE,
            )
    return Route(
        points=tuple(points),
        mode=mode,
        line_utm=line_utm,
        drawn=drawn,
        fields=tuple(fields),
    )


def parse_depart(raw, zone) -> datetime | None:
    """``"2021-12-21T08:00"`` (Seattle time; an offset is honoured) -> aware."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise RouteError("depart", "depart must be an ISO date-time string")
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise RouteError(
            "depart",
            f"depart {raw!r} is not an ISO date-time, e.g. 2021-12-21T08:00",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


def _clock(value, name: str) -> time:
    if not isinstance(value, str) or not _HHMM.match(value.strip()):
        raise RouteError("window", f"window.{name} must be HH:MM (24 h), e.g. 07:30")
    hh, mm = value.strip().split(":")
    return time(int(hh), int(mm))


def parse_window(raw) -> Window | None:
    """``{"start": "07:00", "end": "10:00", "days": "weekdays"}`` -> Window.

    ``days``: "all", "weekdays", "weekends" or a list of mon..sun. Seattle local time;
    a window that crosses midnight is two windows: say so rather than guess.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise RouteError("window", "window must be an object {start, end, days}")
    start = _clock(raw.get("start", "00:00"), "start")
    end = _clock(raw.get("end", "23:59"), "end")
    if end < start:
        raise Refused(
            "window",
            f"window end {end:%H:%M} is before its start {start:%H:%M}; "
            "split a window that crosses midnight in two",
        )
    days_raw = raw.get("days", "all")
    if isinstance(days_raw, str) and days_raw in DAY_SETS:
        days = DAY_SETS[days_raw]
    else:
        items = days_raw.split(",") if isinstance(days_raw, str) else days_raw
        if not isinstance(items, list) or not items:
            raise RouteError(
                "window",
                "window.days must be all, weekdays, weekends or a list of mon..sun",
            )
        try:
            days = frozenset(DAYS.index(str(d).strip().lower()[:3]) for d in items)
        except ValueError:
            raise RouteError(
                "window", f"window.days {days_raw!r}: use mon, tue, ... sun"
            ) from None
    return Window(start=start, end=end, days=days)
