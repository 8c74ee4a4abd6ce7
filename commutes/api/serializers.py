"""Request/response shapes of the commute API (documentation for drf-spectacular).

Validation itself lives in commutes.services.routes so the page and the API give the
same messages; these serializers describe the contract in the OpenAPI schema.
"""

from __future__ import annotations

from rest_framework import serializers

from commutes.services.routes import DAYS, MODE_SPEED_KMH

_CATEGORIES = ("all", "person", "property")


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
    mode = serializers.ChoiceField(choices=list(MODE_SPEED_KMH), default="walk")
    window = WindowSerializer(required=False)
    category = serializers.ChoiceField(choices=_CATEGORIES, default="all")


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
    note = serializers.CharField()
