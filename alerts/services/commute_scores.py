"""The one place alerts reads commute scores: commutes' ``commute_answer``, called
as the API calls it (without the riskiest stretch's recent history, which no note
says), and only the API's documented fields read back
(departures.best_by_day, timeline, routes[].vs_shortest / comparison / streets /
words, depart), so a change inside commutes does not reach here.

Scores are shared: one call per *route* (where each point meets the street network,
to SHARE_M: ``route_anchor``), mode, the whole hours the window holds and day,
whatever number of subscriptions ask (``ScoreBook``). Neighbours who leave from
the same corner for the same office get one score: their routes differ only in
their first and last few dozen metres, which no note's words depend on (the
best departure, the safer way's streets and gain, an unusual hour); each note
still links to the subscriber's own commute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time

from commutes.services.commute import commute_answer
from commutes.services.routes import RouteError, Window, parse_route
from core.local_time import SEATTLE

# Points meeting the street network within this of one junction (along the street,
# plus the way to it) route alike: their subscriptions share a score.
SHARE_M = 150.0
# A safer way is worth a word when it expects at least this much less.
ALTERNATIVE_GAIN = 0.10
# An hour is unusual for a trip at this multiple of the trip's usual for that hour.
UNUSUAL_RATIO = 1.5


class NoForecastForDay(LookupError):
    """No stored forecast covers the day's window (the data or the model is late)."""


@dataclass(frozen=True)
class Alternative:
    streets: list[str]
    comparison: str  # the page's words: "+6% time, −31% expected reported incidents"
    gain: float  # fraction fewer expected incidents than the shortest route


@dataclass(frozen=True)
class DayScore:
    day: date
    departure: datetime  # aware, the best in the window that day
    duration_min: float
    expected: float
    # The commute page's words (the API's routes[0].words): where the trip stands
    # among similar trips ("quieter than 70% of similar walks leaving at 8 am"), None
    # without a reference; how often a report falls near the way, None without one.
    standing: str | None
    one_in_n: str | None
    usual: float | None  # this trip's mean expected at that clock hour over the week
    alternative: Alternative | None
    forecast_run_id: int

    @property
    def unusual(self) -> float | None:
        """The ratio to the trip's usual for the hour, when it is unusual."""
        if not self.usual or self.usual <= 0:
            return None
        ratio = self.expected / self.usual
        return ratio if ratio >= UNUSUAL_RATIO else None


@dataclass(frozen=True)
class CommuteKey:
    points: tuple[tuple[float, float], ...]
    mode: str
    first_hour: int  # departures are scored on the hour: the window's whole hours
    last_hour: int
    days: tuple[int, ...]

    @classmethod
    def of(cls, points, mode: str, start: time, end: time, days: Iterable[int]):
        first = start.hour + (1 if start.minute else 0)
        return cls(
            tuple((float(p[0]), float(p[1])) for p in points),
            mode,
            first,
            end.hour,
            tuple(sorted(days)),
        )

    def window(self) -> Window:
        if self.first_hour > self.last_hour:
            raise RouteError("window", "the window holds no departure on the hour")
        return Window(time(self.first_hour), time(self.last_hour), frozenset(self.days))

    def route(self):
        pts = [list(p) for p in self.points]
        return parse_route(
            {"start": pts[0], "end": pts[-1], "waypoints": pts[1:-1], "mode": self.mode}
        )


def _answer(route, window: Window, depart: datetime | None = None) -> dict:
    """The API's answer for the commute (no recent history: no note says it)."""
    return commute_answer(route, window, depart=depart, history=False)


def _usual_by_hour(timeline: list[dict]) -> dict[int, float]:
    sums: dict[int, list[float]] = {}
    for row in timeline:
        if row["expected"] is None:
            continue
        hour = datetime.fromisoformat(row["departure"]).hour
        sums.setdefault(hour, []).append(row["expected"])
    return {h: sum(v) / len(v) for h, v in sums.items()}


def _day_score(payload: dict, day: date) -> DayScore:
    depart = datetime.fromisoformat(payload["depart"]["departure"])
    first = payload["routes"][0]
    best_alt = None
    for route in payload["routes"][1:]:
        ratio = route["vs_shortest"]["expected"]
        if ratio is None or 1 - ratio < ALTERNATIVE_GAIN:
            continue
        if best_alt is None or 1 - ratio > best_alt.gain:
            best_alt = Alternative(route["streets"], route["comparison"], 1 - ratio)
    usual = _usual_by_hour(payload["timeline"]).get(depart.hour)
    return DayScore(
        day=day,
        departure=depart,
        duration_min=first["duration_min"],
        expected=first["expected"],
        standing=first["words"]["standing"],
        one_in_n=first["words"]["one_in_n"],
        usual=usual,
        alternative=best_alt,
        forecast_run_id=payload["forecast"]["forecast_run_id"],
    )


def score_day(key: CommuteKey, day: date) -> DayScore:
    """The best departure on ``day`` in the window, its safer way, its usual.

    Raises NoForecastForDay when no stored forecast covers that day's window, and
    RouteError for a commute the network cannot route any more.
    """
    from predictions.services.forecast_store import NoForecast

    window = Window(key.window().start, key.window().end, frozenset({day.weekday()}))
    route = key.route()
    try:
        payload = _answer(route, window)
        by_day = {d["date"]: d for d in payload["departures"]["best_by_day"]}
        best = by_day.get(day.isoformat())
        if best is None:
            raise NoForecastForDay(f"no forecast covers {day:%A %d %B %Y}")
        if datetime.fromisoformat(payload["depart"]["departure"]).date() != day:
            # The same weekday twice in the forecast week: score that day's best.
            payload = _answer(
                route, window, depart=datetime.fromisoformat(best["departure"])
            )
    except NoForecast as exc:
        raise NoForecastForDay(str(exc)) from None
    except RouteError as exc:
        if exc.field == "window":  # no departure of the window in the forecast
            raise NoForecastForDay(exc.message) from None
        raise
    return _day_score(payload, day)


def best_by_day(key: CommuteKey) -> tuple[list[dict], dict]:
    """Each chosen day's best departure in the forecast week (the calendar's events)
    and the forecast it came from: ([{date, departure, expected, relative_risk}],
    forecast)."""
    payload = _answer(key.route(), key.window())
    first = payload["routes"][0]
    days = [
        {**d, "duration_min": first["duration_min"]}
        for d in payload["departures"]["best_by_day"]
    ]
    return days, payload["forecast"]


def route_anchor(graph, point: tuple[float, float], mode: str) -> tuple:
    """Where a commute's point meets the street network, to SHARE_M: the junction
    its street reaches first when that is within SHARE_M, else its stretch of the
    street (SHARE_M long); the point itself when it snaps nowhere."""
    snap = graph.snap(point[0], point[1], mode) if mode in graph.modes else None
    if snap is None:
        return ("point", point)
    length = float(graph.length_m[snap.edge])
    from_source = snap.fraction * length
    if from_source <= length - from_source:
        vertex, along = graph.source[snap.edge], from_source
    else:
        vertex, along = graph.target[snap.edge], length - from_source
    if snap.distance_m + along <= SHARE_M:
        return ("junction", int(graph.vertex_osm[vertex]))
    return ("street", int(graph.edge_ids[snap.edge]), int(from_source // SHARE_M))


class ScoreBook:
    """Scores shared by every subscription of one planning batch: one per route
    (``route_anchor`` of each point), mode, window hours and day."""

    def __init__(self):
        self._scores: dict[tuple, DayScore | Exception] = {}
        self._anchors: dict[tuple, tuple] = {}
        self._graph = None
        self.calls = 0

    def share_key(self, key: CommuteKey) -> tuple:
        # A day's score does not depend on the subscription's other days.
        return (
            tuple(self._anchor(p, key.mode) for p in key.points),
            key.mode,
            key.first_hour,
            key.last_hour,
        )

    def _anchor(self, point: tuple[float, float], mode: str) -> tuple:
        found = self._anchors.get((point, mode))
        if found is None:
            graph = self._street_graph()
            found = (
                ("point", point) if graph is None else route_anchor(graph, point, mode)
            )
            self._anchors[(point, mode)] = found
        return found

    def _street_graph(self):
        from streets.services.street_graph import NoNetwork, street_graph

        if self._graph is None:
            try:
                self._graph = street_graph()
            except NoNetwork:  # no network: the rounded points alone (drawn lines)
                self._graph = False
        return self._graph or None

    def day(self, key: CommuteKey, day: date) -> DayScore:
        share = (self.share_key(key), day)
        found = self._scores.get(share)
        if found is None:
            self.calls += 1
            try:
                found = score_day(replace(key, days=()), day)
            except (NoForecastForDay, RouteError) as exc:
                found = exc
            self._scores[share] = found
        if isinstance(found, Exception):
            raise found
        return found


def local_day(moment: datetime) -> date:
    return moment.astimezone(SEATTLE).date()
