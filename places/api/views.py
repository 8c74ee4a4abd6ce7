"""Place API: the typeahead over the place index."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ApiError
from core.params import ascii_int, int_schema
from places.services.index import ensure_fresh
from places.services.search import search_places

MAX_PLACES = 20
# Longer than any address; a NUL byte would make PostgreSQL refuse the query (a 500).
MAX_QUERY_CHARS = 200


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
        ],
        responses={200: OpenApiTypes.OBJECT},
        summary="Address typeahead: SPD hundred blocks, intersections of the streets",
        description=(
            "A GeoJSON FeatureCollection of Points, best match first (pg_trgm word "
            "similarity, then how often the address appears). `source` spd: SPD's "
            "hundred blocks and intersections at the mean location of their "
            "incidents; `source` streets: where two streets of the OpenStreetMap "
            'network meet ("broadway & e pine"), preferred over SPD\'s spelling of '
            "the same junction. Built from our own data: works offline."
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
        ensure_fresh()
        matches = search_places(q, limit)
        return Response(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [m.lon, m.lat]},
                        "properties": {
                            "name": m.name,
                            "kind": m.kind,
                            "incidents": m.incidents,
                            "score": m.score,
                            "source": m.source,
                        },
                    }
                    for m in matches
                ],
            }
        )
