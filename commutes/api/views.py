"""Commute API: score a route by departure hour; the offline address typeahead."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from commutes.api.serializers import ScoreRequestSerializer, ScoreResponseSerializer
from commutes.services.commute import score_commute
from commutes.services.places import ensure_fresh, search_places
from commutes.services.routes import (
    RouteError,
    parse_depart,
    parse_route,
    parse_window,
)
from core.api_errors import ApiError
from core.local_time import SEATTLE
from core.params import ascii_int, int_schema

MAX_PLACES = 20
# Longer than any address; a NUL byte would make PostgreSQL refuse the query (a 500).
MAX_QUERY_CHARS = 200
# A forecast run is precomputed hourly: a client may try again in a few minutes.
NO_FORECAST_RETRY_S = 300
CATEGORIES = ("all", "person", "property")


class CommuteScoreView(APIView):
    # Public and anonymous: no session, so no CSRF token is needed and nothing about
    # the visitor is read or stored.
    authentication_classes: list = []

    @extend_schema(
        request=ScoreRequestSerializer,
        responses={
            200: ScoreResponseSerializer,
            400: OpenApiResponse(description="The body field at fault, named."),
            503: OpenApiResponse(
                description="No forecast, or no street network, is stored yet."
            ),
        },
        summary="Expected reported incidents along a route, by departure hour",
        description=(
            "Give `start` and `end` (and optional `waypoints`) as [lon, lat]: walk, "
            "bike and drive are routed along Seattle's streets (each point snaps to "
            "the nearest street the mode may use, within 300 m), and `routes` "
            "holds the shortest route by time plus up to two alternatives that take "
            "longer (at most 30%) and pass fewer expected reported incidents for "
            "`depart`. Transit is a straight line at its door-to-door speed. A "
            "GeoJSON LineString given as `route` is scored as drawn (no routing). "
            "For each route and each departure hour of the forecast week: the "
            "expected reported incidents in the cells within ~100 m during the trip, "
            "the same for a typical route of that length and mode, their ratio, the "
            "best departures in `window`, and the route's stretches ranked "
            "(GeoJSON; along the streets they are named). The top-level fields "
            "repeat the shortest route's. 400 names the field at fault (a point "
            "too far from a street, no route, outside the city, over 40 km, a bad "
            "window or depart); 503 when no forecast or street network is stored."
        ),
        tags=["commutes"],
    )
    def post(self, request, *args, **kwargs):
        from commutes.services.street_graph import NoNetwork
        from predictions.services.forecast_store import NoForecast

        data = request.data
        if not isinstance(data, dict):
            raise ApiError("send a JSON object", code="malformed_body")
        category = data.get("category", "all")
        try:
            if category not in CATEGORIES:
                raise RouteError(
                    "category", f"category must be one of {', '.join(CATEGORIES)}"
                )
            route = parse_route(data)
            window = parse_window(data.get("window"))
            depart = parse_depart(data.get("depart"), SEATTLE)
            result = score_commute(route, window, category, depart)
        except RouteError as exc:
            return exc.response()
        except NoForecast as exc:
            raise ApiError(
                f"no forecast available: {exc}",
                status=503,
                code="no_forecast",
                retry_after=NO_FORECAST_RETRY_S,
            ) from None
        except NoNetwork as exc:
            raise ApiError(str(exc), status=503, code="no_street_network") from None
        return Response(result)


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
        tags=["commutes"],
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
