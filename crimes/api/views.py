"""History API views: parse the shared filters, answer from the versioned cache.

Each view only says which extra parameters it takes and which service function makes
its body; HistoryView does validation (400 naming the parameter), conditional
requests (ETag / Last-Modified, 304) and the shared cache of bodies (core.cache),
keyed on the request and the versions of the data and areas.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from core import cache
from core.api_errors import UNPROCESSABLE
from core.fast_path import Cacheable
from core.params import blank_is_absent, date_schema, int_schema
from core.throttling import AnonWindowThrottle, ExportThrottle
from crimes.api import serializers as s
from crimes.api.schema import OFFENSE_CODES, TEXT_LIST, VOCABULARY
from crimes.models import CrimeAgainst
from crimes.services import history_export, history_queries
from crimes.services.filters import (
    BBOX_PATTERN,
    DOW_VALUES,
    FilterError,
    HistoryFilters,
    parse_bool,
    parse_choice,
    parse_filters,
    parse_int,
)

MAX_PAGE_SIZE = 500
# Deep pages are slow OFFSET scans and nobody reads them: past this, use the export.
MAX_OFFSET = 10_000
# JSON bodies of history answers, shared by every process.
BODIES = cache.VersionedCache("history-body", history_queries.SCOPES, shared=True)


def dumps(payload: Any) -> bytes:
    """Compact JSON: the page's data is measured in bytes."""
    return json.dumps(payload, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


class JsonOnly(BaseContentNegotiation):
    """These views always answer JSON; `?format=` is not a content switch here.

    DRF's default negotiation answers an unknown `format` with a 404 before the view
    runs; here every unexpected parameter must get the same 400 naming it.
    """

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# --- OpenAPI parameters (one definition per filter, shared by every endpoint) -------

FILTER_PARAMETERS = blank_is_absent(
    [
        OpenApiParameter(
            "start",
            date_schema(),
            description="First day, Seattle local, 2000-01-01 to 2099-12-31 "
            "(default: 12 months before the end).",
        ),
        OpenApiParameter(
            "end",
            date_schema(),
            description="Last day, inclusive (default: the last day with data).",
        ),
        OpenApiParameter(
            "category",
            OpenApiTypes.STR,
            many=True,
            explode=True,
            enum=[v.lower() for v in CrimeAgainst.values],
            description="Crime-against category (repeat or comma-separate).",
        ),
        OpenApiParameter(
            "group",
            TEXT_LIST,
            explode=True,
            description="Offense parent group as in the data, e.g. LARCENY-THEFT "
            "(repeat for several; see meta/ for the list).",
            extensions={VOCABULARY: "groups"},
        ),
        OpenApiParameter(
            "offense_code",
            OFFENSE_CODES,
            explode=True,
            description="NIBRS offense code, e.g. 13A or 240 (repeat or "
            "comma-separate; a code the data does not have matches nothing).",
        ),
        OpenApiParameter(
            "hour_from",
            int_schema(0, 23),
            description="First local hour 0-23 (a range past midnight wraps: 22 to 4).",
        ),
        OpenApiParameter(
            "hour_to", int_schema(0, 23), description="Last local hour 0-23."
        ),
        OpenApiParameter(
            "dow",
            OpenApiTypes.STR,
            many=True,
            explode=True,
            enum=list(DOW_VALUES),
            description="Local day of week, mon..sun or 0 (Monday) to 6 (Sunday); "
            "repeat or comma-separate.",
        ),
        OpenApiParameter(
            "beat",
            TEXT_LIST,
            explode=True,
            description="SPD beat code as in the data (repeat or comma-separate; "
            "see meta/ for the list).",
            extensions={VOCABULARY: "beats"},
        ),
        OpenApiParameter(
            "mcpp",
            TEXT_LIST,
            explode=True,
            description="MCPP neighborhood as in the data (repeat for several; see "
            "meta/ for the list).",
            extensions={VOCABULARY: "mcpps"},
        ),
        OpenApiParameter(
            "bbox",
            {"type": "string", "pattern": BBOX_PATTERN},
            description="min_lon,min_lat,max_lon,max_lat (EPSG:4326), plain "
            "decimals; two opposite corners, in either order.",
        ),
        OpenApiParameter(
            "cell",
            int_schema(0, 10**9),
            description="Only this grid cell (row * 10000 + col at cell_size).",
        ),
        OpenApiParameter(
            "cell_size",
            OpenApiTypes.INT,
            enum=[150, 300, 600, 1200],
            description="Cell edge in metres (default 150).",
        ),
    ]
)
# Every error answer is core.api_errors' format; its schema hook documents them all.
ERRORS = {
    400: OpenApiResponse(description="A bad parameter, named in `parameter`."),
    422: OpenApiResponse(
        description="Values the schema allows that break a rule it states in words: "
        "`end` before `start`; on incidents/, `page` * `page_size` over "
        f"{MAX_OFFSET}; on history/timeseries/, more buckets of `interval` than "
        "it answers."
    ),
    429: OpenApiResponse(description="Too many requests (anonymous throttle)."),
}


def _params(exclude: tuple[str, ...] = ()) -> list[OpenApiParameter]:
    return [p for p in FILTER_PARAMETERS if p.name not in exclude]


class HistoryView(APIView):
    """GET: validate, answer 304 when the client is current, else cached JSON."""

    content_negotiation_class = JsonOnly
    extra_params: ClassVar[tuple[str, ...]] = ()
    refused_params: ClassVar[tuple[str, ...]] = ()
    content_type: ClassVar[str] = "application/json"
    cacheable: ClassVar[bool] = True
    throttle_classes = [AnonWindowThrottle]
    # Warm anonymous reads are answered before the view: core.fast_path
    fast_path: ClassVar[Cacheable | None] = Cacheable(history_queries.SCOPES)

    def options_from(self, query, filters: HistoryFilters) -> dict[str, Any]:
        """Endpoint-specific parameters (raise FilterError on a bad one)."""
        return {}

    def producer(
        self, filters: HistoryFilters, options: dict[str, Any]
    ) -> Callable[[], Any]:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        key = cache.request_key(request)
        # Warm path: the versions and the cached answer in one Redis round trip.
        # A body is only ever stored for a query that passed validation below.
        versions, body = BODIES.lookup(key)
        state = history_queries.history_state(versions)
        # A pure function of the request and the versions: a conditional request is
        # answered without computing (or even fetching) the body.
        etag = cache.etag(key, versions)
        modified = int(state.last_modified.timestamp())
        not_modified = get_conditional_response(
            request, etag=etag, last_modified=modified
        )
        if not_modified is not None and not_modified.status_code != 304:
            return not_modified  # 412: a failed If-Match / If-Unmodified-Since
        if not_modified is not None:
            response = not_modified
        elif body is not None and self.cacheable:
            response = HttpResponse(body, content_type=self.content_type)
        else:
            query = request.query_params
            try:
                for name in self.refused_params:
                    if name in query:
                        raise FilterError(name, f"not accepted by {request.path}")
                filters = parse_filters(query, state.vocabulary, self.extra_params)
                options = self.options_from(query, filters)
            except FilterError as error:
                return error.response()
            response = self.respond(request, filters, options, key, versions)
        # A 304 carries the validators and caching headers its 200 would (RFC 9110).
        response["ETag"] = etag
        response["Last-Modified"] = http_date(modified)
        # Shared caches may keep an answer briefly; clients revalidate with the ETag.
        response["Cache-Control"] = "public, max-age=60"
        return response

    def respond(self, request, filters, options, key, versions) -> HttpResponse:
        body = dumps(self.producer(filters, options)())
        BODIES.store(key, versions, body)
        return HttpResponse(body, content_type=self.content_type)


COMMON_DOC = (
    "Filters are shared by every history endpoint and the history page. A bad "
    "parameter gets a 400 naming it; answers carry ETag and Last-Modified and are "
    "cached until the next import."
)


def _extend(summary: str, response, exclude=(), extra=()):
    return extend_schema(
        summary=summary,
        description=COMMON_DOC,
        # Every parameter is read by the filters' readers: empty is not given.
        parameters=[*_params(exclude), *blank_is_absent(list(extra))],
        responses={200: response, **ERRORS},
        tags=["history"],
    )


@_extend(
    "Reported incidents as GeoJSON, newest first (paginated)",
    s.IncidentPageSerializer,
    extra=[
        OpenApiParameter(
            "page",
            int_schema(1, MAX_OFFSET),
            description=f"1-based page; page * page_size at most {MAX_OFFSET} "
            "(else a 422).",
        ),
        OpenApiParameter(
            "page_size",
            int_schema(1, MAX_PAGE_SIZE),
            description=f"Rows per page, 1-{MAX_PAGE_SIZE} (default 50).",
        ),
    ],
)
class IncidentList(HistoryView):
    extra_params = ("page", "page_size")

    def options_from(self, query, filters):
        page_size = parse_int(query, "page_size", 1, MAX_PAGE_SIZE, 50)
        page = parse_int(query, "page", 1, MAX_OFFSET, 1)
        max_page = MAX_OFFSET // page_size
        if page > max_page:
            raise FilterError(
                "page",
                f"at most {max_page} with page_size {page_size} (page * page_size at "
                f"most {MAX_OFFSET}; the export/ endpoints give every row)",
                UNPROCESSABLE,
            )
        return {"page": page, "page_size": page_size}

    def producer(self, filters, options):
        request = self.request

        def make() -> dict:
            page, size = options["page"], options["page_size"]
            count = history_queries.incident_count(filters)
            with history_queries.no_jit():
                rows = list(
                    history_queries.incidents(filters)[(page - 1) * size : page * size]
                )
            features = s.IncidentFeatureSerializer(rows, many=True).data["features"]

            def link(number: int) -> str:
                query = request.query_params.copy()
                query["page"] = str(number)
                return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

            last = min(-(-count // size), MAX_OFFSET // size) if count else 1
            return {
                "type": "FeatureCollection",
                "count": count,
                "page": page,
                "page_size": size,
                "next": link(page + 1) if page < last else None,
                "previous": link(page - 1) if page > 1 else None,
                "features": features,
            }

        return make


@_extend(
    "Incident counts per grid cell (compact parallel arrays)",
    s.GridSerializer,
    exclude=("cell",),
)
class GridView(HistoryView):
    refused_params = ("cell",)

    def producer(self, filters, options):
        return lambda: history_queries.grid(filters)


@_extend(
    "Incident counts per hour, day, week or month (Seattle local clock)",
    s.TimeseriesSerializer,
    extra=[
        OpenApiParameter(
            "interval",
            OpenApiTypes.STR,
            enum=list(history_queries.TIMESERIES_INTERVALS),
            description="Bucket size (default month); at most "
            f"{history_queries.MAX_BUCKETS} buckets over the range, else a 422.",
        )
    ],
)
class TimeseriesView(HistoryView):
    extra_params = ("interval",)

    def options_from(self, query, filters):
        interval = parse_choice(
            query, "interval", history_queries.TIMESERIES_INTERVALS, "month"
        )
        if (
            history_queries.bucket_count(filters, interval)
            > history_queries.MAX_BUCKETS
        ):
            raise FilterError(
                "interval",
                f"{interval} buckets over {filters.days} days exceed "
                f"{history_queries.MAX_BUCKETS}; use a coarser interval or a shorter"
                " range",
                UNPROCESSABLE,
            )
        return {"interval": interval}

    def producer(self, filters, options):
        return lambda: history_queries.timeseries(filters, options["interval"])


@_extend("Incident counts by local day of week and hour of day", s.ProfileSerializer)
class ProfileView(HistoryView):
    def producer(self, filters, options):
        return lambda: history_queries.profile(filters)


@_extend("Incident counts by offense group and category", s.GroupsSerializer)
class GroupsView(HistoryView):
    def producer(self, filters, options):
        return lambda: history_queries.groups(filters)


@_extend(
    "SPD beats or MCPP areas with incident counts (GeoJSON)",
    s.AreasSerializer,
    extra=[
        OpenApiParameter(
            "kind",
            OpenApiTypes.STR,
            enum=list(history_queries.AREA_KINDS),
            description="beat or mcpp (default beat).",
        ),
        OpenApiParameter(
            "geometry",
            OpenApiTypes.BOOL,
            description="Include simplified polygons (default true).",
        ),
    ],
)
class AreasView(HistoryView):
    extra_params = ("kind", "geometry")

    def options_from(self, query, filters):
        return {
            "kind": parse_choice(query, "kind", history_queries.AREA_KINDS, "beat"),
            "geometry": parse_bool(query, "geometry", True),
        }

    def producer(self, filters, options):
        return lambda: history_queries.areas(
            filters, options["kind"], options["geometry"]
        )


@extend_schema(
    summary="What data is loaded: range, freshness, categories, groups, grid",
    description="Takes no parameters.",
    responses={200: s.MetaSerializer, **ERRORS},
    tags=["history"],
)
class MetaView(HistoryView):
    def get(self, request, *args, **kwargs):
        for name in request.query_params:
            return FilterError(name, "meta/ takes no parameters").response()
        return super().get(request, *args, **kwargs)

    def producer(self, filters, options):
        return history_queries.meta


class _ExportView(HistoryView):
    """Exports stream from PostgreSQL and are cached gzipped per data version and
    selection (crimes.services.history_export); conditional like the rest, and
    throttled twice: the API's anonymous rate and the tighter export rate."""

    fmt: ClassVar[str] = ""
    cacheable = False
    fast_path = None
    throttle_classes = [AnonWindowThrottle, ExportThrottle]

    def respond(self, request, filters, options, key, versions):
        hit = history_export.cached(self.fmt, filters, versions)
        if hit is None:
            export, body = history_export.plan(self.fmt, filters), None
        else:
            export, body = hit
        if body is None:
            response = StreamingHttpResponse(
                history_export.stream_and_cache(export, versions),
                content_type=export.content_type,
            )
        elif "gzip" in request.headers.get("Accept-Encoding", ""):
            response = HttpResponse(body, content_type=export.content_type)
            response["Content-Encoding"] = "gzip"
        else:
            response = StreamingHttpResponse(
                history_export.gunzip_chunks(body), content_type=export.content_type
            )
        patch_vary_headers(response, ["Accept-Encoding"])
        name = f"seattle-incidents-{filters.start}_{filters.end}"
        if export.capped:
            name += f"-first-{export.rows}"
        response["Content-Disposition"] = f'attachment; filename="{name}.{self.fmt}"'
        response["X-Total-Count"] = str(export.total)
        response["X-Export-Rows"] = str(export.rows)
        response["X-Export-Limit"] = str(export.limit)
        response["X-Export-Capped"] = "true" if export.capped else "false"
        return response


EXPORT_DOC = (
    "The newest rows of the selection, at most meta.export_max_rows; headers "
    "X-Total-Count, X-Export-Rows and X-Export-Capped say when the cap was hit."
)


@extend_schema(
    summary="Export the selection as CSV",
    description=EXPORT_DOC + " " + COMMON_DOC,
    parameters=FILTER_PARAMETERS,
    responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV"),
        **ERRORS,
    },
    tags=["history"],
)
class ExportCsv(_ExportView):
    fmt = "csv"
    content_type = "text/csv; charset=utf-8"


@extend_schema(
    summary="Export the selection as GeoJSON",
    description=EXPORT_DOC + " The collection carries total, limit and capped.",
    parameters=FILTER_PARAMETERS,
    responses={
        (200, "application/geo+json"): OpenApiResponse(
            OpenApiTypes.OBJECT, description="GeoJSON FeatureCollection"
        ),
        **ERRORS,
    },
    tags=["history"],
)
class ExportGeojson(_ExportView):
    fmt = "geojson"
    content_type = "application/geo+json"
