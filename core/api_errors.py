"""One error format for every /api/v1/ answer that is not a success.

Every 4xx and 5xx of the API, whoever refuses the request (a view, DRF, a middleware,
Django's URL resolver), has this JSON body::

    {"status": 400, "code": "invalid_parameter", "parameter": "dow",
     "detail": "dow: days mon..sun (or 0 = Monday .. 6 = Sunday)"}

``parameter`` names the query parameter or body field at fault, or is null when the
request as a whole is refused (404, 405, 411, 413, 415, 429, 503); ``retry_after``
(seconds, also in the Retry-After header) comes with 429 and 503. The OpenAPI schema
describes it once (component ``ApiError``) and lists it under every status an
operation can answer (core.schema_hooks).

Views raise `ApiError` (or a subclass such as crimes' FilterError and commutes'
RouteError); DRF's own exceptions and database outages are translated by
`drf_exception_handler`; `not_found` and `server_error` are Django's handler404 and
handler500, JSON under /api/ and the site's pages elsewhere.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
# A request every value of which the schema allows, refused for a rule the schema can
# state only in words: OpenAPI 3.0 has no keyword for a rule between parameters (end
# before start), for the city's outline (a point inside the box lat/lon allow, but in
# the lake) or for what the data holds (a departure outside the forecast week).
# 400 stays for what the schema's keywords refuse (a type, a pattern, a range).
UNPROCESSABLE = 422
JSON = "application/json"
# How long a client should wait before retrying after a service outage (seconds).
OUTAGE_RETRY_AFTER_S = 30
# Exceptions that mean "PostgreSQL is unreachable", not "this request is wrong".
DATABASE_DOWN = (OperationalError, InterfaceError)

# Status -> the code a client can switch on, for errors that have no better one.
DEFAULT_CODES = {
    400: "invalid_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    411: "length_required",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}
DESCRIPTIONS = {
    400: "A bad parameter or body field, named in `parameter` and `detail`.",
    404: "Nothing here (an unknown path, or no stored forecast for the request).",
    405: "The method is not allowed on this path.",
    406: "None of the Accept header's media types can be produced.",
    411: "The request body was sent in chunks; send it with a Content-Length.",
    413: "The request body is larger than the limit in `detail`.",
    415: "The request body is not JSON, or not in UTF-8 (or UTF-16/32 with a byte "
    "order mark); `detail` names the media type or charset.",
    422: "Every value is one the schema allows, but the request breaks a rule the "
    "schema states in words (the operation's description), named in `parameter` "
    "and `detail`.",
    429: "Too many requests from this address; retry after `retry_after` seconds.",
    503: "A service this request needs (the database, the task queue, a forecast) "
    "is unavailable; retry after `retry_after` seconds.",
}


def error_body(
    status: int,
    detail: str,
    parameter: str | None = None,
    code: str | None = None,
    retry_after: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": status,
        "code": code or DEFAULT_CODES.get(status, "error"),
        "parameter": parameter,
        "detail": detail,
    }
    if retry_after is not None:
        body["retry_after"] = int(retry_after)
    return body


def _headers(body: dict[str, Any]) -> dict[str, str]:
    if "retry_after" in body:
        return {"Retry-After": str(body["retry_after"])}
    return {}


class ApiError(Exception):
    """A request the API refuses, with what and where."""

    status = 400
    code = "invalid_parameter"
    # A 5xx that is the design working (e.g. work_slots.Busy), logged where it is
    # raised: Django's request log leaves it out.
    quiet = False

    def __init__(
        self,
        detail: str,
        parameter: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter
        # Another status than the class's, without a code: that status's own code.
        own = status is None or status == self.status
        self.status = status or self.status
        self.code = code or (self.code if own else DEFAULT_CODES.get(status, self.code))
        self.retry_after = retry_after

    def as_dict(self) -> dict[str, Any]:
        return error_body(
            self.status, self.detail, self.parameter, self.code, self.retry_after
        )

    def response(self) -> Response:
        """A DRF response (views that answer instead of raising)."""
        body = self.as_dict()
        return Response(
            body, status=self.status, headers=_headers(body), content_type=JSON
        )


def json_error(
    status: int,
    detail: str,
    parameter: str | None = None,
    code: str | None = None,
    retry_after: int | None = None,
) -> JsonResponse:
    """The same body as a plain Django response (middleware, handler404/500)."""
    body = error_body(status, detail, parameter, code, retry_after)
    return JsonResponse(body, status=status, headers=_headers(body))


def _first_message(detail: Any) -> tuple[str | None, str]:
    """(field, message) of the first error in a DRF ValidationError's detail."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            _, message = _first_message(value)
            name = None if field in ("non_field_errors", "detail") else str(field)
            return name, message
        return None, "invalid request"
    if isinstance(detail, list | tuple):
        return _first_message(detail[0]) if detail else (None, "invalid request")
    return None, str(detail)


def describe(exc: BaseException) -> dict[str, Any] | None:
    """The error body for an exception, or None when it is a bug (a 500)."""
    if isinstance(exc, ApiError):
        return exc.as_dict()
    if isinstance(exc, DATABASE_DOWN):
        log.error("database unavailable: %s", exc)
        return error_body(
            503,
            "the database is unavailable; try again shortly",
            code="database_unavailable",
            retry_after=OUTAGE_RETRY_AFTER_S,
        )
    if isinstance(exc, Http404):
        return error_body(404, str(exc) or "not found")
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_message(exc.detail)
        detail = f"{field}: {message}" if field else message
        return error_body(400, detail, field, "invalid_parameter")
    if isinstance(exc, exceptions.ParseError):
        return error_body(400, str(exc.detail), code="malformed_body")
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, int(exc.wait or 1))
        return error_body(
            429, f"too many requests; retry in {wait} s", retry_after=wait
        )
    if isinstance(exc, exceptions.APIException):
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_body(status, str(detail), code=DEFAULT_CODES.get(status))
    return None


def drf_exception_handler(exc: Exception, context: dict) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every API error in the one format."""
    from django.core.exceptions import PermissionDenied
    from rest_framework.views import set_rollback  # lazily: it reads DRF settings

    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    body = describe(exc)
    if body is None:
        return None
    set_rollback()
    headers = _headers(body)
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    # JSON whatever the view would have rendered (GeoJSON, CSV): it is an error.
    response = Response(body, status=body["status"], headers=headers, content_type=JSON)
    if getattr(exc, "quiet", False):
        response._has_been_logged = True  # django.utils.log.log_response skips it
    return response


# --- handler404 / handler500, and outages in plain Django views --------------------


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return json_error(404, f"no API endpoint at {request.path}")
    return defaults.page_not_found(request, exception)


def unavailable_page(detail: str, retry_after: int) -> HttpResponse:
    """A 503 page that needs neither the database nor the cache to render."""
    html = render_to_string("503.html", {"detail": detail})
    return HttpResponse(html, status=503, headers={"Retry-After": str(retry_after)})


def outage_response(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    if is_api(request):
        return json_error(**body)
    retry_after = body.get("retry_after", OUTAGE_RETRY_AFTER_S)
    return unavailable_page(body["detail"], retry_after)


class OutageMiddleware:
    """A view that fails because a service is down (the database, the task queue:
    core.queue.QueueUnavailable) answers 503 with Retry-After, a page or JSON, and
    the error is logged once, not as a crash. DRF views already answer through
    drf_exception_handler; this covers pages and the admin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception):
        if not isinstance(exc, (ApiError, *DATABASE_DOWN)):
            return None
        body = describe(exc)
        if body["status"] >= 500:
            return outage_response(request, body)
        return json_error(**body) if is_api(request) else None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a service outage is a 503 with Retry-After, anything else a 500.

    Django calls it inside its ``except`` block, so the exception is at hand."""
    exc = sys.exc_info()[1]
    body = describe(exc) if exc is not None else None
    if body is not None and body["status"] >= 500:
        return outage_response(request, body)
    if is_api(request):
        return json_error(500, "internal error; it is logged and will be fixed")
    return defaults.server_error(request)


# --- OpenAPI (core.schema_hooks puts this on every operation) ------------------------

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "parameter": {"type": "string", "nullable": True},
        "detail": {"type": "string"},
        "retry_after": {"type": "integer", "minimum": 1},
    },
    "required": ["status", "code", "parameter", "detail"],
    "description": "The one error format of the API (core.api_errors): `code` is "
    "invalid_parameter, malformed_body, not_found, method_not_allowed, "
    "not_acceptable, payload_too_large, unsupported_media_type, unprocessable, "
    "outside_seattle, throttled, database_unavailable, queue_unavailable or "
    "no_forecast; `parameter` names the "
    "query parameter or body field at fault (null when the request as a whole is "
    "refused); `retry_after` (seconds) comes with 429 and 503.",
}
