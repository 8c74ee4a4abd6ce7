"""What scoring a commute finds, as values: ``score_commute`` returns a CommuteScore.

Plain, typed and free of JSON: numbers are unrounded (the API rounds them when it
renders them, ``commute_payload``), times are aware datetimes in Seattle time, and
what can be derived from these fields (means, ratios' words, the route's speed) is
derived, not stored. A CommuteScore is what the answers cache keeps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from commutes.services.routes import Window


@dataclass(frozen=True)
class HourScore:
    """A trip leaving at ``departure``: expected reported incidents in its corridor
    while it lasts, the median of similar trips (same mode, length within 20%, same
    hour: commutes.services.trip_reference) and their ratio (nan where there is no
    reference for the hour, or its median is 0)."""

    departure: datetime  # aware, Seattle time
    expected: float
    typical: float
    relative_risk: float


@dataclass(frozen=True)
class BestDepartures:
    """The departures on the hour inside the window: the lowest and the highest."""

    window: Window
    candidates: int  # departures on the hour inside the window with a score
    best: tuple[HourScore, ...]  # lowest expected first, at most BEST_COUNT
    best_by_day: tuple[HourScore, ...]  # each day's lowest, by date
    worst: HourScore


@dataclass(frozen=True)
class StretchScore:
    """A stretch of a route: ~250 m of a straight line, or a named street stretch."""

    geometry: dict  # GeoJSON LineString, EPSG:4326
    from_m: float  # metres along the route
    to_m: float
    cells: int  # forecast cells within the corridor's half width of it
    expected_per_hour: float  # week-average expected reported incidents per hour
    relative_risk: float  # vs an average corridor of its area (nan without cells)
    rank: int  # 1 = the riskiest of the route
    name: str | None = None  # "E Pine St between Broadway and 10th Ave E"


@dataclass(frozen=True)
class StretchToWatch:
    """The route's riskiest stretch beyond its first and last 200 m (nobody can
    avoid their own start or destination block) and the last 12 months of data
    near it."""

    index: int  # into RouteScore.stretches
    name: str | None
    # stretch_history.recent_history's answer; None when not asked for
    # (score_commute(history=False))
    recent_history: dict | None


@dataclass(frozen=True)
class SimilarTrips:
    """Where a route stands among random trips of its mode within 20% of its length
    leaving in the same hour (commutes.services.trip_reference)."""

    percentile: float | None  # 0-100: share expecting fewer; None when n is small
    n: int
    median_expected: float | None


@dataclass(frozen=True)
class BestLeave:
    """Within the window on the best day, the departure (to 10 minutes) expecting
    the fewest reported incidents and the one expecting the most."""

    best: datetime  # aware, Seattle time
    best_expected: float
    other: datetime
    other_expected: float


@dataclass(frozen=True)
class RouteScore:
    """One route, scored for every departure hour of the forecast week."""

    kind: str  # shortest, alternative, as_drawn
    along: str  # streets, straight_line, drawn
    coords: list[list[float]]  # [lon, lat] vertices, EPSG:4326
    length_m: float
    duration_h: float
    streets: tuple[str, ...]  # names in travel order (empty off the streets)
    corridor_cells: int
    timeline: tuple[HourScore, ...]  # one per departure hour
    departures: BestDepartures
    stretches: tuple[StretchScore, ...]
    to_watch: StretchToWatch | None  # None when no stretch expects anything
    at_depart: HourScore  # the trip leaving at the commute's departure
    vs_shortest_time: float  # duration / the shortest route's
    vs_shortest_expected: float  # at_depart.expected / the shortest's (nan if 0)
    similar_trips: SimilarTrips | None = None  # None without a reference
    # at_depart's expected count that falls within the corridor's half width of
    # the way itself (the cells' forecast times the share of each that does:
    # corridor.area_shares)
    expected_within: float = float("nan")
    avoids: str | None = None  # an alternative: the street whose busiest blocks
    #   of the shortest route it leaves out
    best_leave: BestLeave | None = None

    @property
    def mean_expected(self) -> float | None:
        if not self.timeline:
            return None
        return float(np.mean([h.expected for h in self.timeline]))

    @property
    def mean_relative_risk(self) -> float | None:
        finite = [
            h.relative_risk for h in self.timeline if math.isfinite(h.relative_risk)
        ]
        return float(np.mean(finite)) if finite else None


@dataclass(frozen=True)
class ForecastUsed:
    category: str
    model_version_id: int
    forecast_run_id: int
    start: datetime  # aware, Seattle time: the first departure hour
    # The model's measured error (its decile calibration error on the model card,
    # 0.05 = 5%); None when the version has no backtest.
    measured_error: float | None = None


@dataclass(frozen=True)
class Snapped:
    """Where a given point joined the street network."""

    field: str  # start, waypoints or end
    given: tuple[float, float]  # lon, lat
    snapped: tuple[float, float]  # lon, lat on the nearest street the mode may use
    distance_m: float


@dataclass(frozen=True)
class CommuteScore:
    """Everything the page and the API show for one commute."""

    mode: str
    routes: tuple[RouteScore, ...]  # the shortest first, then up to 2 alternatives
    forecast: ForecastUsed
    depart: datetime  # aware, Seattle time: the departure alternatives are for
    depart_chosen: str  # given, or best_in_window (the shortest's best)
    snapped: tuple[Snapped, ...] | None = None  # None when not routed

    @property
    def shortest(self) -> RouteScore:
        return self.routes[0]
