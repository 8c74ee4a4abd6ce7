"""Place API: the typeahead (forward search) and the reverse lookup."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ApiError
from core.params import (
    ascii_int,
    coordinate,
    coordinate_list,
    coordinates_pattern,
    int_schema,
    is_text,
    number_schema,
    text_schema,
)
from places.api.serializers import (
    PlaceCollectionSerializer,
    ReverseCollectionSerializer,
    kinds_described,
)
from places.models import Place
from places.services.index import ensure_fresh
from places.services.reverse import reverse
from places.services.search import MATCH_WORDS, cached_search

MAX_PLACES = 20
# Longer than any address, and short enough that the longest query, percent-encoded
# (12 bytes a character at most), fits gunicorn's 4 KiB request line with the other
# parameters; a NUL byte would make PostgreSQL refuse the query (a 500).
MAX_QUERY_CHARS = 200
KIND_LABELS = dict(Place.Kind.choices)


def _coordinate(request, name: str, low: float, high: float) -> float:
    """``lat`` / ``lon`` read as forecasts/point reads them (core.params.coordinate),
    with its words."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        raise ApiError(f"{name}: is required", name)
    value = coordinate(raw, text=True)
    if value is None or not low <= value <= high:
        raise ApiError(f"{name}: a number from {low} to {high}", name)
    return value


# lon,lat: core.params' bounded pattern, which the reader applies (spaces allowed
# around each number; the schema's pattern is the whole rule).
NEAR_PATTERN = coordinates_pattern("lon", "lat")
NEAR_WORDS = "lon,lat of the map's view in degrees (EPSG:4326), e.g. -122.33,47.61"


def _near(request) -> tuple[float, float] | None:
    """``near=lon,lat``: two plain decimals on the globe (NEAR_PATTERN), else a 400
    naming ``near``."""
    raw = request.query_params.get("near")
    if raw is None:
        return None
    values = coordinate_list(raw, NEAR_PATTERN)
    if values is None:
        raise ApiError(
            f"near: {NEAR_WORDS}; lon a number from -180 to 180, lat from -90 to 90",
            "near",
        )
    lon, lat = values
    return lon, lat


def _feature(lon: float, lat: float, properties: dict) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


class PlaceSearchView(APIView):
    authentication_classes: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                text_schema(MAX_QUERY_CHARS),
                required=True,
                description=f"What was typed: at most {MAX_QUERY_CHARS} characters "
                "(percent-encoded, any such query fits the HTTP server's request "
                "line), no control characters",
            ),
            OpenApiParameter(
                "limit",
                int_schema(1, MAX_PLACES),
                description=f"1..{MAX_PLACES}, default 8",
            ),
            OpenApiParameter(
                "near",
                {"type": "string", "pattern": NEAR_PATTERN},
                description="lon,lat of the map's view: nearer places of an equal "
                "match come first",
            ),
        ],
        responses={200: PlaceCollectionSerializer},
        summary="Place search: addresses, intersections, streets, areas, landmarks",
        description=(
            "A GeoJSON FeatureCollection of Points, best first: exact name, then "
            "prefix, then a word's start, then the words anywhere, then typos "
            "(pg_trgm word similarity); among exact names a place before a street of "
            "the same name; then nearness to `near`, then prominence. A house number "
            '("1520 Broadway E", also with ", Seattle, WA 98122") puts the address '
            "first, placed along the street from SPD's hundred blocks; a number the "
            "street does not have answers no features and a `message` "
            '("no 9900 block on Broadway E; nearest: 3100 block"), as does a query '
            'nothing fits ("No match in Seattle for ..."). Intersections in any '
            'order and spelling ("pine & broadway", "E Pine/Broadway"). Kinds: '
            + kinds_described()
            + ". Built from the site's own data: works offline."
        ),
        tags=["places"],
    )
    def get(self, request, *args, **kwargs):
        q = request.query_params.get("q")
        if q is None:
            raise ApiError("q: is required", "q")
        if not is_text(q, MAX_QUERY_CHARS):
            raise ApiError(
                f"q: text of at most {MAX_QUERY_CHARS} characters, no control "
                "characters",
                "q",
            )
        limit = ascii_int(request.query_params.get("limit", "8"))
        if limit is None or not 1 <= limit <= MAX_PLACES:
            raise ApiError(f"limit: an integer from 1 to {MAX_PLACES}", "limit")
        near = _near(request)
        result = cached_search(q, limit, near, ensure_fresh())
        body = {
            "type": "FeatureCollection",
            "features": [
                _feature(
                    m.lon,
                    m.lat,
                    {
                        "name": m.name,
                        "kind": m.kind,
                        "kind_label": KIND_LABELS[m.kind],
                        "match": MATCH_WORDS[m.match],
                        "incidents": m.incidents,
                        "score": m.score,
                        "source": m.source,
                        "licence": m.licence,
                        "also_known_as": m.alias,
                    },
                )
                for m in result.matches
            ],
        }
        if result.message:
            body["message"] = result.message
        return Response(body)


class PlaceReverseView(APIView):
    authentication_classes: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "lat", number_schema(-90, 90), required=True, description="Latitude"
            ),
            OpenApiParameter(
                "lon", number_schema(-180, 180), required=True, description="Longitude"
            ),
        ],
        responses={
            200: ReverseCollectionSerializer,
            400: OpenApiResponse(description="lat or lon missing or not a number"),
        },
        summary="Reverse lookup: the name of a point",
        description=(
            "A FeatureCollection with one Point feature at the given point, named as "
            'a person would say it: "at Capitol Hill Station" (within 120 m of a '
            'light rail station), "at Space Needle" (within 60 m of a landmark, '
            "school, college, library, hospital or park known by its point, and "
            "nearer it than any street; "
            '"at Black Lives Memorial Garden, in Cal Anderson Park" in a park), '
            '"in Cal Anderson Park" (inside a park), else '
            '"near 15XX Broadway, at E Pine St" (the nearest street within 150 m, '
            "its hundred block from SPD's blocks, the nearest cross street), else "
            '"in <neighbourhood>". Outside Seattle: no features and a `message`.'
        ),
        tags=["places"],
    )
    def get(self, request, *args, **kwargs):
        lat = _coordinate(request, "lat", -90, 90)
        lon = _coordinate(request, "lon", -180, 180)
        ensure_fresh()
        found = reverse(lon, lat)
        if found is None:
            return Response(
                {
                    "type": "FeatureCollection",
                    "features": [],
                    "message": f"({lat}, {lon}) is outside Seattle",
                }
            )
        return Response(
            {
                "type": "FeatureCollection",
                "features": [
                    _feature(
                        lon,
                        lat,
                        {
                            "name": found.name,
                            "kind": found.kind,
                            "kind_label": KIND_LABELS[found.kind],
                            "street": found.street,
                            "block": found.block,
                            "cross_street": found.cross_street,
                            "place": found.place,
                            "neighbourhood": found.neighbourhood,
                        },
                    )
                ],
            }
        )
