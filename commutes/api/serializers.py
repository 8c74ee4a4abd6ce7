"""Request/response shapes of the commute API (documentation for drf-spectacular).

Validation itself lives in commutes.services.routes so the page and the API give the
same messages; these serializers describe the answer in the OpenAPI schema (the
request body is commutes.api.schema).
"""

from __future__ import annotations

from rest_framework import serializers

from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M
from commutes.services.routes import DAYS


class WindowSerializer(serializers.Serializer):
    start = serializers.CharField(default="00:00", help_text="HH:MM, Seattle time")
    end = serializers.CharField(default="23:59", help_text="HH:MM, not before start")
    days = serializers.JSONField(
        default="all",
        help_text=f"all, weekdays, weekends or a list of {', '.join(DAYS)}",
    )


class DepartureSerializer(serializers.Serializer):
    departure = serializers.DateTimeField(help_text="Seattle local time, on the hour")
    expected = serializers.FloatField(
        help_text="Expected reported incidents in the corridor during the trip"
    )
    typical = serializers.FloatField(
        allow_null=True,
        help_text="The median of similar trips (same mode, length within 20%, "
        "same departure hour) from the forecast run's random trips; null before "
        "the worker has built them, or with fewer than 30 similar trips",
    )
    relative_risk = serializers.FloatField(
        allow_null=True, help_text="expected / typical"
    )


class DeparturesSerializer(serializers.Serializer):
    window = WindowSerializer()
    candidates = serializers.IntegerField()
    best = DepartureSerializer(many=True)
    best_by_day = serializers.ListField(child=serializers.DictField())
    worst = DepartureSerializer()


class SimilarTripsSerializer(serializers.Serializer):
    percentile = serializers.IntegerField(
        allow_null=True,
        help_text="0-100: the share of similar trips (same mode, length within "
        "20%, same departure hour; random routed trips across the city, stored "
        "with the forecast run) expecting fewer reported incidents, ties counting "
        "half; 50 is an ordinary trip of its kind. Null with fewer than 30 "
        "similar trips",
    )
    n = serializers.IntegerField(help_text="How many similar trips")
    median_expected = serializers.FloatField(allow_null=True)


class RouteWordsSerializer(serializers.Serializer):
    standing = serializers.CharField(
        allow_null=True,
        help_text='e.g. "quieter than 70% of similar bike trips leaving at 8 am"',
    )
    one_in_n = serializers.CharField(
        allow_null=True,
        help_text='e.g. "About 1 reported incident within '
        f'{CORRIDOR_HALF_WIDTH_M:.0f} m of your way in every 40 trips like this"',
    )
    alternative = serializers.CharField(
        allow_null=True,
        help_text='e.g. "+3 min, avoids the busiest blocks of Broadway"; null for '
        "the shortest",
    )
    best_time = serializers.CharField(
        allow_null=True,
        help_text='e.g. "Leave at 8:40 rather than 8:00: 20% fewer", or that any '
        "time in the window is about the same when the difference is within the "
        "model's measured error (its calibration on the model card)",
    )


class VsShortestSerializer(serializers.Serializer):
    time = serializers.FloatField(help_text="duration / the shortest's duration")
    expected = serializers.FloatField(
        allow_null=True,
        help_text="expected incidents / the shortest's, for `depart`",
    )


class GeoLineSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["LineString"])
    coordinates = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        help_text="[lon, lat] positions, EPSG:4326",
    )


class RouteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["shortest", "alternative", "as_drawn"],
        help_text=(
            "shortest (by time for the mode), alternative (slower, fewer expected "
            "reported incidents), or as_drawn (a client's `route`, not routed)"
        ),
    )
    along = serializers.ChoiceField(
        choices=["streets", "straight_line", "drawn"],
        help_text=(
            "How the geometry was made: streets (routed) or drawn (a client's "
            "`route`); straight_line is no longer produced (it was transit's)"
        ),
    )
    along_label = serializers.CharField()
    geometry = GeoLineSerializer(help_text="GeoJSON LineString along the streets")
    length_m = serializers.FloatField()
    duration_min = serializers.FloatField()
    expected = serializers.FloatField(
        help_text="Expected reported incidents in the corridor for `depart`"
    )
    typical = serializers.FloatField(
        allow_null=True, help_text="The median of similar trips, for `depart`"
    )
    relative_risk = serializers.FloatField(allow_null=True)
    similar_trips = SimilarTripsSerializer(
        allow_null=True,
        help_text="The route among similar random trips, for `depart`; null until "
        "the worker has built them for the forecast run (and for transit)",
    )
    expected_within_100m = serializers.FloatField(
        allow_null=True,
        help_text=f"The part of `expected` within {CORRIDOR_HALF_WIDTH_M:.0f} m of "
        "the route itself (each cell's forecast times the share of the cell that "
        "near the route)",
    )
    words = RouteWordsSerializer()
    vs_shortest = VsShortestSerializer()
    comparison = serializers.CharField(
        allow_null=True,
        help_text='e.g. "+6% time, −31% expected reported incidents"; null for the '
        "shortest",
    )
    streets = serializers.ListField(
        child=serializers.CharField(), help_text="Street names in travel order"
    )
    corridor_cells = serializers.IntegerField()
    summary = serializers.DictField()
    timeline = DepartureSerializer(many=True, help_text="168 departure hours")
    departures = DeparturesSerializer()
    segments = serializers.DictField(
        help_text="GeoJSON FeatureCollection of named stretches, ranked"
    )
    riskiest_segment = serializers.DictField(
        allow_null=True,
        help_text="The stretch to watch: the riskiest beyond the first and last "
        '200 m. index, name ("E Pine St between Broadway and 10th Ave E"), '
        "recent_history (the last 12 months of data within "
        f"{CORRIDOR_HALF_WIDTH_M:.0f} m)",
    )


class DepartSerializer(serializers.Serializer):
    departure = serializers.DateTimeField(help_text="Seattle local time")
    chosen = serializers.ChoiceField(choices=["given", "best_in_window"])


class SnapSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="start, waypoints or end")
    given = serializers.ListField(child=serializers.FloatField())
    snapped = serializers.ListField(
        child=serializers.FloatField(),
        help_text="Nearest point on the nearest street the mode may use",
    )
    distance_m = serializers.FloatField(help_text="At most 300 m")


class ScoreResponseSerializer(serializers.Serializer):
    route = serializers.DictField(help_text="GeoJSON Feature: the route, its length…")
    forecast = serializers.DictField()
    summary = serializers.DictField()
    timeline = DepartureSerializer(many=True, help_text="168 departure hours")
    departures = DeparturesSerializer()
    segments = serializers.DictField(
        help_text="GeoJSON FeatureCollection of ~250 m stretches, ranked"
    )
    riskiest_segment = serializers.DictField(allow_null=True)
    depart = DepartSerializer()
    routes = RouteSerializer(
        many=True,
        help_text="Shortest first, then up to two alternatives (the fields above "
        "are the shortest's)",
    )
    snapped = SnapSerializer(
        many=True, allow_null=True, help_text="null when not routed"
    )
    note = serializers.CharField()
