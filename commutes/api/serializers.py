"""Request/response shapes of the commute API (documentation for drf-spectacular).

Validation itself lives in commutes.services.routes so the page and the API give the
same messages; these serializers describe the contract in the OpenAPI schema.
"""

from __future__ import annotations

from rest_framework import serializers

from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M
from commutes.services.routes import DAYS, MODE_SPEED_KMH
from predictions.models import Category


class WindowSerializer(serializers.Serializer):
    start = serializers.CharField(default="00:00", help_text="HH:MM, Seattle time")
    end = serializers.CharField(default="23:59", help_text="HH:MM, not before start")
    days = serializers.JSONField(
        default="all",
        help_text=f"all, weekdays, weekends or a list of {', '.join(DAYS)}",
    )


class ScoreRequestSerializer(serializers.Serializer):
    route = serializers.JSONField(
        required=False,
        help_text="GeoJSON LineString (or Feature), EPSG:4326, at most 200 points.",
    )
    start = serializers.ListField(
        child=serializers.FloatField(),
        required=False,
        help_text="[lon, lat]; with end (and waypoints) instead of route.",
    )
    end = serializers.ListField(child=serializers.FloatField(), required=False)
    waypoints = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        required=False,
        help_text="[[lon, lat], ...] between start and end, in order.",
    )
    mode = serializers.ChoiceField(
        choices=list(MODE_SPEED_KMH),
        default="walk",
        help_text=(
            "walk, bike and drive are routed along the streets (OpenStreetMap). "
            "transit is not offered (no transit data yet): it is a 400 naming mode."
        ),
    )
    window = WindowSerializer(required=False)
    category = serializers.ChoiceField(
        choices=Category.values, default=Category.ALL.value
    )
    depart = serializers.CharField(
        required=False,
        help_text=(
            "ISO local time (Seattle; an explicit offset is honoured), inside the "
            "forecast week, e.g. 2021-12-21T08:00. The alternatives and each route's "
            "`expected` are for this departure. Default: the shortest route's best "
            "departure in `window`."
        ),
    )


class DepartureSerializer(serializers.Serializer):
    departure = serializers.DateTimeField(help_text="Seattle local time, on the hour")
    expected = serializers.FloatField(
        help_text="Expected reported incidents in the corridor during the trip"
    )
    typical = serializers.FloatField(
        help_text="Same for an average corridor of the same area and duration"
    )
    relative_risk = serializers.FloatField(allow_null=True)


class DeparturesSerializer(serializers.Serializer):
    window = WindowSerializer()
    candidates = serializers.IntegerField()
    best = DepartureSerializer(many=True)
    best_by_day = serializers.ListField(child=serializers.DictField())
    worst = DepartureSerializer()


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
    typical = serializers.FloatField()
    relative_risk = serializers.FloatField(allow_null=True)
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
        help_text='index, name ("E Pine St between Broadway and 10th Ave E"), '
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
