"""Serializers of the history API.

IncidentFeatureSerializer turns incidents into GeoJSON features. The others describe
the JSON the aggregation endpoints return (built in crimes.services.history_queries
and cached as bytes), so the OpenAPI schema is exact enough to generate a client from.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from crimes.models import Incident
from crimes.services.history_queries import INCIDENT_FIELDS


class IncidentFeatureSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = Incident
        geo_field = "location"
        id_field = "offense_id"
        fields = INCIDENT_FIELDS


class IncidentPageSerializer(serializers.Serializer):
    type = serializers.CharField(help_text='Always "FeatureCollection".')
    count = serializers.IntegerField(help_text="Incidents matching the filters.")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    features = IncidentFeatureSerializer(many=True)


class GridSerializer(serializers.Serializer):
    cell_size = serializers.IntegerField(help_text="Cell edge in metres.")
    srid = serializers.IntegerField(help_text="SRID of the grid (EPSG:32610).")
    origin = serializers.ListField(
        child=serializers.FloatField(), help_text="Grid origin (x0, y0) in metres."
    )
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Incidents matching the filters.")
    located = serializers.IntegerField(help_text="Of those, on the map.")
    unlocated = serializers.IntegerField(help_text="Of those, without a location.")
    outside_grid = serializers.IntegerField()
    max = serializers.IntegerField(help_text="Largest count of one cell.")
    cells = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Cell ids (row * 10000 + col), parallel to lon/lat/counts.",
    )
    lon = serializers.ListField(
        child=serializers.FloatField(), help_text="Cell centre longitudes."
    )
    lat = serializers.ListField(
        child=serializers.FloatField(), help_text="Cell centre latitudes."
    )
    counts = serializers.ListField(child=serializers.IntegerField())


class TimeseriesSerializer(serializers.Serializer):
    interval = serializers.ChoiceField(choices=["hour", "day", "week", "month"])
    start = serializers.DateField()
    end = serializers.DateField()
    timezone = serializers.CharField()
    buckets = serializers.ListField(
        child=serializers.CharField(),
        help_text="Bucket starts, Seattle local clock (YYYY-MM-DDTHH:MM).",
    )
    counts = serializers.ListField(child=serializers.IntegerField())
    total = serializers.IntegerField()


class ProfileSerializer(serializers.Serializer):
    days = serializers.ListField(child=serializers.CharField())
    hours = serializers.ListField(child=serializers.IntegerField())
    matrix = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="7 rows (Monday first) of 24 hourly counts, Seattle local time.",
    )
    by_hour = serializers.ListField(child=serializers.IntegerField())
    by_day = serializers.ListField(child=serializers.IntegerField())
    total = serializers.IntegerField()
    note = serializers.CharField()


LABEL_DOC = (
    "The name the site shows, in sentence case; unique in its list (a group under "
    'two categories says which, e.g. "Homicide (justifiable, not a crime)"). '
)


class GroupCountSerializer(serializers.Serializer):
    group = serializers.CharField(help_text="Offense parent group as in the data.")
    category = serializers.CharField(help_text="Crime-against category as in the data.")
    label = serializers.CharField(help_text=LABEL_DOC)
    count = serializers.IntegerField()


class CategoryCountSerializer(serializers.Serializer):
    category = serializers.CharField(help_text="As in the data, e.g. NOT_A_CRIME.")
    label = serializers.CharField(help_text='e.g. "Not a crime".')
    count = serializers.IntegerField()


class GroupsSerializer(serializers.Serializer):
    groups = GroupCountSerializer(many=True)
    categories = CategoryCountSerializer(many=True)
    total = serializers.IntegerField()


class AreaPropertiesSerializer(serializers.Serializer):
    kind = serializers.CharField()
    code = serializers.CharField(
        help_text="The value the SPD records use (beat code, MCPP name in capitals); "
        "what the beat / mcpp filters and area page URLs take."
    )
    name = serializers.CharField(
        help_text="The name people know: a beat's neighbourhoods (largest share of "
        "its land first, from the Neighborhood Map Atlas), an MCPP area in title case."
    )
    label = serializers.CharField(
        help_text='What lists show, unique per kind: "Beat U1: Ravenna, Roosevelt, '
        'University Heights (North precinct)", "SLU/Cascade".'
    )
    precinct = serializers.CharField(help_text="SPD precinct code (N, E, S, W, SW).")
    precinct_label = serializers.CharField(help_text='e.g. "North precinct".')
    outside = serializers.BooleanField(
        help_text="A buffer or water beat (99, H1-H3): no neighbourhood; listed "
        "under the collection's `outside` group."
    )
    count = serializers.IntegerField()
    area_km2 = serializers.FloatField()
    per_km2_per_year = serializers.FloatField(
        allow_null=True,
        help_text="Reported incidents per km² per year over the selected days: the "
        "fair comparison between areas of different sizes (null for outside areas).",
    )


class AreaFeatureSerializer(serializers.Serializer):
    type = serializers.CharField(help_text='Always "Feature".')
    id = serializers.CharField()
    geometry = serializers.JSONField(
        allow_null=True, help_text="GeoJSON MultiPolygon (EPSG:4326) or null."
    )
    properties = AreaPropertiesSerializer()


class RecordCodeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="As the records write it (upper case).")
    label = serializers.CharField()
    count = serializers.IntegerField()


class OutsideSerializer(serializers.Serializer):
    label = serializers.CharField(
        help_text='"Outside a beat / location unknown" (or "an MCPP area").'
    )
    note = serializers.CharField(help_text="What that group means, in one sentence.")
    count = serializers.IntegerField(
        help_text="Incidents in outside areas plus those naming no current area."
    )
    codes = RecordCodeSerializer(
        many=True, help_text="Codes records hold that name no current area."
    )


class AreasSerializer(serializers.Serializer):
    type = serializers.CharField(help_text='Always "FeatureCollection".')
    kind = serializers.ChoiceField(choices=["beat", "mcpp"])
    start = serializers.DateField()
    end = serializers.DateField()
    total = serializers.IntegerField()
    unmatched = serializers.IntegerField(
        help_text="Incidents whose record names no current area."
    )
    outside = OutsideSerializer()
    features = AreaFeatureSerializer(many=True)


class CategoryOptionSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="For the `category` filter.")
    label = serializers.CharField()
    count = serializers.IntegerField()


class GroupOptionSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="For the `group` filter, as in the data.")
    category = serializers.CharField()
    label = serializers.CharField(help_text=LABEL_DOC)
    count = serializers.IntegerField()


class MetaSerializer(serializers.Serializer):
    data_version = serializers.IntegerField()
    source = serializers.DictField()
    total = serializers.IntegerField()
    with_location = serializers.IntegerField()
    first_offense = serializers.DateTimeField(allow_null=True)
    last_offense = serializers.DateTimeField(allow_null=True)
    last_reported = serializers.DateTimeField(allow_null=True)
    last_modified = serializers.DateTimeField()
    last_import = serializers.DictField(allow_null=True)
    default_start = serializers.DateField()
    default_end = serializers.DateField()
    categories = CategoryOptionSerializer(many=True)
    groups = GroupOptionSerializer(many=True)
    beats = serializers.ListField(child=serializers.CharField())
    mcpps = serializers.ListField(child=serializers.CharField())
    grid = serializers.DictField()
    timezone = serializers.CharField()
    export_max_rows = serializers.IntegerField()
