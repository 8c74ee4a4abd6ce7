"""Read-only forecast API. Views parse and validate; bodies come from precomputed
rows via predictions.services (a request never runs the model)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import UNPROCESSABLE, ApiError
from core.fast_path import Cacheable
from core.json_renderer import FastJSONRenderer
from core.local_time import as_aware, local_iso
from core.params import (
    EARLIEST,
    LATEST,
    ascii_int,
    blank_is_absent,
    coordinate,
    datetime_schema,
    int_schema,
    number_schema,
)
from core.throttling import AnonWindowThrottle
from crimes.services.neighbourhoods import neighbourhood_at
from predictions.models import Category, ModelVersion
from predictions.services import payloads
from predictions.services.cells import cell_at, in_city
from predictions.services.forecast_store import (
    MAX_HOURS,
    SCOPES,
    NoForecast,
    load_forecast,
)
from predictions.services.headline_metrics import headline

# Ids are PostgreSQL integers: a larger number is no id, not a database error.
MAX_ID = 2**31 - 1
# A GeoJSON answer carries every cell's values as a feature: a week at most.
MAX_GEOJSON_HOURS = 168
# The bounding box of the city limits (the schema's limits; the view then checks
# the point against the city itself).
SEATTLE_LAT = (47.48, 47.74)
SEATTLE_LON = (-122.46, -122.22)


class GeoJSONRenderer(FastJSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


def _hours(request, default: int = 168) -> int:
    raw = request.query_params.get("hours")
    if raw in (None, ""):
        return default
    value = ascii_int(raw)
    if value is None or not 1 <= value <= MAX_HOURS:
        raise ValidationError({"hours": f"an integer from 1 to {MAX_HOURS}"})
    return value


def _start(request) -> datetime | None:
    raw = request.query_params.get("start")
    if raw in (None, ""):
        return None
    message = (
        f"an ISO 8601 time from {EARLIEST.year} to {LATEST.year - 1} "
        "(naive = Seattle local time)"
    )
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError({"start": message}) from None
    # Check the year before any zone arithmetic: 9999-12-31T23:00 overflows there.
    if not EARLIEST.year <= moment.year < LATEST.year:
        raise ValidationError({"start": message})
    return as_aware(moment)


def _category(request) -> str:
    value = request.query_params.get("category") or Category.ALL
    if value not in Category.values:
        raise ValidationError({"category": f"must be one of {Category.values}"})
    return value


def _model(request) -> int | None:
    raw = request.query_params.get("model")
    if raw in (None, ""):
        return None
    value = ascii_int(raw)
    if value is None or not 1 <= value <= MAX_ID:
        raise ValidationError({"model": "a model version id (see models/)"})
    return value


def _coordinate(request, name: str, lo: float, hi: float) -> float:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        raise ValidationError({name: "is required"})
    value = coordinate(raw, text=True)
    if value is None or not lo <= value <= hi:
        raise ValidationError({name: f"a number from {lo} to {hi}"})
    return value


COMMON = blank_is_absent(
    [
        OpenApiParameter(
            "start",
            datetime_schema(),
            description="First hour (ISO 8601; naive = Seattle local). Default: the "
            "current hour when precomputed, else the newest forecast run's start.",
        ),
        OpenApiParameter(
            "hours",
            int_schema(1, MAX_HOURS),
            description=f"1..{MAX_HOURS}, default 168",
        ),
        OpenApiParameter("category", OpenApiTypes.STR, enum=Category.values),
        OpenApiParameter(
            "model", int_schema(1, MAX_ID), description="model version id (see models/)"
        ),
    ]
)


class ForecastGridView(APIView):
    """The forecast cells: ids and WGS84 centres in the order of every value array."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, *args, **kwargs):
        etag, body = payloads.grid_body()
        if request.headers.get("If-None-Match") == etag:
            return HttpResponseNotModified(headers={"ETag": etag})
        resp = HttpResponse(body, content_type="application/json")
        resp["ETag"] = etag
        resp["Cache-Control"] = "public, max-age=3600"
        return resp


NO_FORECAST = OpenApiResponse(
    description="No forecast is stored for that start, hours, category or model "
    "(code no_forecast)."
)
OUTSIDE_SEATTLE = OpenApiResponse(
    description="The point is inside the box `lat` and `lon` allow but outside "
    "Seattle's city limits, which have the only forecast cells (code "
    "outside_seattle, parameter lat)."
)
NOT_ACCEPTABLE = OpenApiResponse(
    description="The Accept header names neither application/json nor "
    "application/geo+json."
)


class FormatParameterNegotiation(DefaultContentNegotiation):
    """DRF answers an unknown ``?format=`` with a bare 404; here it is a 400 that
    names the parameter, like every other bad parameter."""

    def filter_renderers(self, renderers, format):
        kept = [r for r in renderers if r.format == format]
        if not kept:
            known = ", ".join(r.format for r in renderers)
            raise ValidationError({"format": f"one of {known}"})
        return kept


# The forecast answer depends on these request headers (the format on Accept, gzip on
# Accept-Encoding): the fast path keys on them and every answer names them in Vary.
FORECAST_VARY = ("Accept", "Accept-Encoding")


def _cacheable(resp: HttpResponse, etag: str) -> HttpResponse:
    """A forecast answer's caching headers; a 304 carries its 200's (RFC 9110
    15.4.5)."""
    resp["ETag"] = etag
    resp["Cache-Control"] = "public, max-age=300"
    patch_vary_headers(resp, FORECAST_VARY)
    return resp


class ForecastView(APIView):
    """Hourly forecast grids: expected reported incidents per cell per hour.

    Compact JSON by default (`cell_ids` once, `values[hour][cell]` in the same order;
    `encoding=q8` gives base64 uint8 log-levels per hour, see `q8`). GeoJSON with
    `format=geojson` or `Accept: application/geo+json`. ETag from the versions of the
    forecasts and the grid and what was asked.
    """

    renderer_classes = [FastJSONRenderer, GeoJSONRenderer]
    content_negotiation_class = FormatParameterNegotiation
    throttle_classes = [AnonWindowThrottle]
    # Warm anonymous reads: core.fast_path answers before the view;
    # hourly: without `start` the answer starts at the current hour.
    fast_path = Cacheable(SCOPES, vary=FORECAST_VARY, hourly=True)

    @extend_schema(
        parameters=[
            *COMMON,
            *blank_is_absent(
                [
                    OpenApiParameter(
                        "hours",
                        int_schema(1, MAX_HOURS),
                        description=f"1..{MAX_HOURS}, default 168; at most "
                        f"{MAX_GEOJSON_HOURS} in GeoJSON (`format=geojson` or "
                        "`Accept: application/geo+json`), else a 422 naming hours",
                    ),
                    OpenApiParameter(
                        "encoding", OpenApiTypes.STR, enum=payloads.ENCODINGS
                    ),
                    OpenApiParameter(
                        "format", OpenApiTypes.STR, enum=["json", "geojson"]
                    ),
                ]
            ),
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            404: NO_FORECAST,
            422: OpenApiResponse(
                description=f"`hours` over {MAX_GEOJSON_HOURS} in GeoJSON "
                "(parameter hours)."
            ),
            406: NOT_ACCEPTABLE,
        },
    )
    def get(self, request, *args, **kwargs):
        encoding = request.query_params.get("encoding") or "float"
        if encoding not in payloads.ENCODINGS:
            raise ValidationError({"encoding": f"must be one of {payloads.ENCODINGS}"})
        fmt = request.accepted_renderer.format
        hours = _hours(request)
        if fmt == "geojson" and hours > MAX_GEOJSON_HOURS:
            raise ApiError(
                f"hours: at most {MAX_GEOJSON_HOURS} with format=geojson",
                "hours",
                status=UNPROCESSABLE,
            )
        try:
            etag, answer = payloads.forecast_body(
                _category(request),
                _start(request),
                hours,
                encoding,
                fmt,
                _model(request),
            )
        except NoForecast as exc:
            raise ApiError(str(exc), status=404, code="no_forecast") from None
        if request.headers.get("If-None-Match") == etag:
            return _cacheable(HttpResponseNotModified(), etag)
        # GeoJSON is not compressed here (gzipped() is None; see forecast_slices).
        gz = (
            answer.gzipped()
            if "gzip" in request.headers.get("Accept-Encoding", "")
            else None
        )
        use_gzip = gz is not None
        resp = HttpResponse(
            gz if use_gzip else answer.body(),
            content_type=GeoJSONRenderer.media_type
            if fmt == "geojson"
            else "application/json",
        )
        if use_gzip:
            resp["Content-Encoding"] = "gzip"
        return _cacheable(resp, etag)


class ForecastPointView(APIView):
    """The forecast timeline of the cell at a point, its history for the same hours
    of the week, and what drives it (long-run level vs recent activity)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "lat",
                number_schema(*SEATTLE_LAT),
                required=True,
                description=f"Latitude, {SEATTLE_LAT[0]} to {SEATTLE_LAT[1]} (the "
                "box around Seattle; a point in it outside the city limits is a 422).",
            ),
            OpenApiParameter(
                "lon",
                number_schema(*SEATTLE_LON),
                required=True,
                description=f"Longitude, {SEATTLE_LON[0]} to {SEATTLE_LON[1]} (the "
                "box around Seattle; a point in it outside the city limits is a 422).",
            ),
            *COMMON,
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            404: NO_FORECAST,
            422: OUTSIDE_SEATTLE,
        },
    )
    def get(self, request, *args, **kwargs):
        lat = _coordinate(request, "lat", *SEATTLE_LAT)
        lon = _coordinate(request, "lon", *SEATTLE_LON)
        hours = _hours(request)
        category = _category(request)
        idx = cell_at(lon, lat)
        if idx is None or not in_city(lon, lat):
            # In the box the schema gives, but the city is no box.
            raise ApiError(
                f"lat: the point ({lat}, {lon}) is outside Seattle's city limits, "
                "which have the only forecast cells",
                "lat",
                status=UNPROCESSABLE,
                code="outside_seattle",
            )
        try:
            week = load_forecast(category, _start(request), hours, _model(request))
        except NoForecast as exc:
            raise ApiError(str(exc), status=404, code="no_forecast") from None
        values = week.values[:, idx]
        history = payloads.cell_history(idx, category, week)
        return Response(
            {
                "cell_id": int(week.cell_ids[idx]),
                "neighbourhood": neighbourhood_at(lon, lat),
                "model_version": week.model_version_id,
                "forecast_run": week.forecast_run_id,
                "category": category,
                "unit": "expected reported incidents in this cell per hour",
                "hour_starts": [local_iso(h) for h in week.hour_starts],
                "expected": [round(float(v), 6) for v in values],
                "city_mean": [round(float(v), 6) for v in week.values.mean(axis=1)],
                **history,
            }
        )


class ModelVersionSerializer(serializers.ModelSerializer):
    headline = serializers.SerializerMethodField()
    backtest = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "kind",
            "is_active",
            "status",
            "data_until",
            "data_first_event",
            "n_events",
            "training_seconds",
            "device",
            "notes",
            "created_at",
            "activated_at",
            "config",
            "headline",
            "backtest",
        ]

    def get_headline(self, obj) -> dict:
        return headline(obj)

    def get_backtest(self, obj) -> dict:
        bt = (obj.metrics or {}).get("backtest", {})
        return {k: bt.get(k) for k in ("reference", "weeks", "first_origin", "summary")}


class ModelPagination(LimitOffsetPagination):
    """``limit`` 1..100 and ``offset`` 0.. as the schema says: anything else is a 400
    naming it (DRF's reader took ``offset=null`` or ``limit=true`` as the default);
    an empty value is not given."""

    default_limit = 20
    max_limit = 100

    def get_limit(self, request) -> int:
        return _page_number(request, self.limit_query_param, 1, self.max_limit) or (
            self.default_limit
        )

    def get_offset(self, request) -> int:
        return _page_number(request, self.offset_query_param, 0, MAX_ID) or 0

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": name,
                "in": "query",
                "required": False,
                "allowEmptyValue": True,
                "description": description,
                "schema": int_schema(low, high),
            }
            for name, low, high, description in (
                (self.limit_query_param, 1, self.max_limit, "Rows a page (20)."),
                (self.offset_query_param, 0, MAX_ID, "Rows to skip (0)."),
            )
        ]


def _page_number(request, name: str, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    value = ascii_int(raw)
    if value is None or not low <= value <= high:
        raise ValidationError({name: f"an integer from {low} to {high}"})
    return value


class ModelVersionList(generics.ListAPIView):
    """Model versions with their backtest metrics; `is_active` marks the one in use."""

    serializer_class = ModelVersionSerializer
    pagination_class = ModelPagination

    def get_queryset(self):
        return ModelVersion.objects.order_by("-is_active", "-created_at", "-id")
