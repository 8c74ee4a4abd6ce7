"""Place API: the typeahead (forward search) and the reverse lookup."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ApiError
from core.params import ascii_float, ascii_int, int_schema, number_schema
from places.api.serializers import (
    PlaceCollectionSerializer,
    ReverseCollectionSerializer,
    kinds_described,
)
from places.models import Place
from places.services.index import ensure_fresh
from places.services.reverse import reverse
from places.services.search import MATCH_WORDS, search

MAX_PLACES = 20
# Longer than any address; a NUL byte would make PostgreSQL refuse the query (a 500).
MAX_QUERY_CHARS = 200
KIND_LABELS = dict(Place.Kind.choices)


def _coordinate(request, name: str, low: float, high: float, required: bool):
    raw = request.query_params.get(name)
    if raw is None and not required:
        return None
    value = ascii_float(raw or "")
    if value is None or not low <= value <= high:
        raise ApiError(f"{name}: a number from {low} to {high}", name)
    return value


def _near(request) -> tuple[float, float] | None:
    raw = request.query_params.get("near")
    if raw is None:
        return None
    lon, _, lat = raw.partition(",")
    lon_v, lat_v = ascii_float(lon.strip()), ascii_float(lat.strip())
    if (
        lon_v is None
        or lat_v is None
        or not (-180 <= lon_v <= 180 and -90 <= lat_v <= 90)
    ):
        raise ApiError("near: lon,lat of the map's view, e.g. -122.33,47.61", "near")
    return lon_v, lat_v


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
                {"type": "string", "maxLength": MAX_QUERY_CHARS},
                required=True,
                description="What was typed",
            ),
            OpenApiParameter(
                "limit",
                int_schema(1, MAX_PLACES),
                description=f"1..{MAX_PLACES}, default 8",
            ),
            OpenApiParameter(
                "near",
                {"type": "string", "pattern": r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$"},
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
        if len(q) > MAX_QUERY_CHARS or not q.isprintable():
            raise ApiError(
                f"q: printable text of at most {MAX_QUERY_CHARS} characters", "q"
            )
        limit = ascii_int(request.query_params.get("limit", "8"))
        if limit is None or not 1 <= limit <= MAX_PLACES:
            raise ApiError(f"limit: an integer from 1 to {MAX_PLACES}", "limit")
        near = _near(request)
        ensure_fresh()
        result = search(q, limit, near)
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
            'light rail station), "in Cal Anderson Park" (inside a park), else '
            '"near 15XX Broadway, at E Pine St" (the nearest street within 150 m, '
            "its hundred block from SPD's blocks, the nearest cross street), else "
            '"in <neighbourhood>". Outside Seattle: no features and a `message`.'
        ),
        tags=["places"],
    )
    def get(self, request, *args, **kwargs):
        lat = _coordinate(request, "lat", -90, 90, True)
        lon = _coordinate(request, "lon", -180, 180, True)
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
