"""OpenAPI shapes of the place answers (documentation: the views build the GeoJSON)."""

from __future__ import annotations

from rest_framework import serializers

from places.models import Place

# What each kind is, for the schema (every kind is documented).
KIND_NOTES = {
    "address": "a house number placed along its street (computed, never stored)",
    "block": "an SPD hundred block, at the mean location of its incidents",
    "intersection": "two streets meeting (the street network's, else SPD's)",
    "street": "a named street of the OpenStreetMap network",
    "neighbourhood": "a Neighborhood Map Atlas area (large L_HOOD or small S_HOOD)",
    "policing_area": "an SPD Micro-Community Policing Plan area",
    "station": "a light rail station",
    "park": "a park (City of Seattle boundaries where known)",
    "landmark": "an OpenStreetMap attraction, museum, viewpoint or venue",
    "school": "a Seattle Public Schools site",
    "college": "a college or university",
    "library": "a public library",
    "hospital": "a hospital",
}


# What a point can be named after (places.services.reverse).
REVERSE_KINDS = [
    "station",
    "landmark",
    "school",
    "college",
    "library",
    "hospital",
    "park",
    "address",
    "neighbourhood",
]


def kinds_described() -> str:
    return "; ".join(
        f"`{k}` ({label}): {KIND_NOTES[k]}" for k, label in Place.Kind.choices
    )


class _Point(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Point"])
    coordinates = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2
    )


class PlaceProperties(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Place.Kind.choices)
    kind_label = serializers.CharField(help_text="The kind in words")
    match = serializers.ChoiceField(
        choices=["exact", "prefix", "word start", "words", "fuzzy"]
    )
    incidents = serializers.IntegerField(help_text="SPD incidents at the address")
    score = serializers.FloatField(help_text="Trigram similarity (fuzzy matches)")
    source = serializers.ChoiceField(choices=Place.Source.choices)
    licence = serializers.CharField(help_text="Named places: the feature's licence")
    also_known_as = serializers.CharField(
        help_text="The other name that matched (OpenStreetMap's alt_name, old_name, "
        'short_name or official_name: "Empire Way S" finds Martin Luther King Jr '
        "Way S), else empty"
    )


class _PlaceFeature(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    geometry = _Point()
    properties = PlaceProperties()


class PlaceCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = _PlaceFeature(many=True)
    message = serializers.CharField(
        required=False,
        help_text="Why there are no features: no match, or a number the street lacks",
    )


class ReverseProperties(serializers.Serializer):
    name = serializers.CharField(
        help_text='"at Space Needle", "in Cal Anderson Park", '
        '"near 15XX Broadway, at E Pine St"'
    )
    kind = serializers.ChoiceField(choices=REVERSE_KINDS)
    kind_label = serializers.CharField()
    street = serializers.CharField()
    block = serializers.CharField(help_text='"15XX", or empty')
    cross_street = serializers.CharField()
    place = serializers.CharField(
        help_text="The station, landmark, school, ... or park, when at or in one"
    )
    neighbourhood = serializers.CharField()


class _ReverseFeature(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    geometry = _Point()
    properties = ReverseProperties()


class ReverseCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = _ReverseFeature(many=True)
    message = serializers.CharField(required=False, help_text="Outside Seattle")
