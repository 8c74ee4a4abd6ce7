"""Commute API: score a route by departure hour."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from commutes.api.schema import SCORE_REQUEST_REF
from commutes.api.serializers import ScoreResponseSerializer
from commutes.services.commute import commute_answer
from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M
from commutes.services.routes import (
    ROUTED_MODES,
    RouteError,
    parse_depart,
    parse_route,
    parse_window,
)
from core import cache, throttling
from core.api_errors import ApiError
from core.local_time import SEATTLE
from core.work_slots import Slots
from predictions.models import Category

# A forecast run is precomputed hourly: a client may try again in a few minutes.
NO_FORECAST_RETRY_S = 300
# What a commute costs in the anonymous throttle, in tokens (a cached read is 1;
# core.throttling.spend): the web workers' CPU per request against a cached forecast
# read, measured by benchmarks/bench_load.py (phase 0; docs/benchmarks.md,
# "Cost-aware throttle"). Routed along the streets: the shortest route, three
# searches for alternatives, up to three routes scored for 168 departures.
ROUTED_TOKENS = 40
DRAWN_TOKENS = 8
# A routed commute answered from the cache (snapping, the lookup, the JSON): 10x a
# cached read's CPU in the same benchmark.
CACHED_ROUTE_TOKENS = 10
# Routing runs in a few threads per process at most (core.work_slots; settings).
ROUTING = Slots(
    "routing",
    settings.ROUTING_SLOTS,
    settings.ROUTING_QUEUE,
    settings.ROUTING_WAIT_S,
)


@contextmanager
def _charged(request, routed: bool, computed: list[bool]):
    """Around a commute that is scored (not a cached answer): it costs what scoring
    it costs (core.throttling.spend), and routing waits for a slot."""
    computed.append(True)
    throttling.spend(request, (ROUTED_TOKENS if routed else DRAWN_TOKENS) - 1)
    with ROUTING.hold() if routed else nullcontext():
        yield


class CommuteScoreView(APIView):
    # Public and anonymous: no session, so no CSRF token is needed and nothing about
    # the visitor is read or stored.
    authentication_classes: list = []

    @extend_schema(
        request={"application/json": SCORE_REQUEST_REF},
        responses={
            200: ScoreResponseSerializer,
            400: OpenApiResponse(
                description="The body field at fault, named: what the schema "
                "refuses (`mode` transit is a 400: no transit data yet)."
            ),
            422: OpenApiResponse(
                description="The body field at fault, named: values the schema "
                "allows that a rule in its words refuses: a point outside Seattle "
                "(code outside_seattle) or more than 300 m from a street the mode "
                "may use, no route to a point, a longitude or latitude out of range, "
                "a route of zero length or over 40 km, `start`/`end` contradicting "
                "`route`, a window ending before it starts or holding no departure "
                "on the hour, `depart` outside the forecast week."
            ),
            429: OpenApiResponse(
                description="Too many requests from this address: a commute "
                f"routed along the streets counts as {ROUTED_TOKENS} requests in "
                f"the API's rate, a drawn one as {DRAWN_TOKENS}; retry "
                "after `retry_after` seconds."
            ),
            503: OpenApiResponse(
                description="No forecast, or no street network, is stored yet; or "
                "the server is busy routing (code busy); retry after `retry_after` "
                "seconds."
            ),
        },
        summary="Expected reported incidents along a route, by departure hour",
        description=(
            "Give `start` and `end` (and optional `waypoints`) as [lon, lat]: walk, "
            "bike and drive are routed along Seattle's streets (each point snaps to "
            "the nearest street the mode may use, within 300 m), and `routes` "
            "holds the shortest route by time plus up to two alternatives that take "
            "longer (at most 30%) and pass fewer expected reported incidents for "
            "`depart`. Transit is not offered (no transit data yet): mode transit "
            "is a 400. A GeoJSON LineString given as `route` is scored as drawn "
            "(no routing). "
            "For each route and each departure hour of the forecast week: the "
            "expected reported incidents in the cells within "
            f"~{CORRIDOR_HALF_WIDTH_M:.0f} m during the trip, "
            "the median of similar trips (random trips across the city of the same "
            "mode, length within 20% and departure hour) and their ratio; for "
            "`depart`, the route's percentile among those trips (`similar_trips`) "
            "and its figures in words (`words`); the best departures in `window`, "
            "and the route's stretches ranked (GeoJSON; along the streets they are "
            "named), with the stretch to watch beyond the first and last 200 m. "
            "The top-level fields "
            "repeat the shortest route's. 400 names the field the schema refuses; "
            "422 the field that breaks a rule the schema states in words (a point "
            "too far from a street, no route, outside the city, over 40 km, a "
            "window or depart the forecast week cannot answer); 503 when no "
            "forecast or street network is stored, "
            "or when every routing slot is busy. A routed commute counts as "
            f"{ROUTED_TOKENS} requests in the API's rate (a drawn one as "
            f"{DRAWN_TOKENS}): it costs about that much more than a cached read."
        ),
        tags=["commutes"],
    )
    def post(self, request, *args, **kwargs):
        data = request.data
        if not isinstance(data, dict):
            raise ApiError("send a JSON object", code="malformed_body")
        # Read-only: every cache it reads keys on one reading of the versions.
        with cache.pinned():
            return self._score(request, data)

    def _score(self, request, data: dict) -> Response:
        from predictions.services.forecast_store import NoForecast
        from streets.services.street_graph import NoNetwork

        category = data.get("category", Category.ALL.value)
        try:
            if category not in Category.values:
                raise RouteError(
                    "category", f"category must be one of {', '.join(Category.values)}"
                )
            route = parse_route(data)
            window = parse_window(data.get("window"))
            depart = parse_depart(data.get("depart"), SEATTLE)
            routed = not route.drawn and route.mode in ROUTED_MODES
            computed: list[bool] = []
            result = commute_answer(
                route,
                window,
                category,
                depart,
                computing=lambda: _charged(request, routed, computed),
            )
            if not computed:  # a cached answer
                throttling.spend(request, CACHED_ROUTE_TOKENS - 1)
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
