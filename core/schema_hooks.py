"""drf-spectacular postprocessing hooks: the schema says what the API really does.

A fuzzer (tests/test_schema_fuzz.py) holds every answer against this schema, so it
must list every status an operation can answer, in the one error format, and the
bodies as they are (a GeoJSON feature's geometry may be null).
"""

from __future__ import annotations

from core.api_errors import API_PREFIX, DESCRIPTIONS, ERROR_SCHEMA
from core.params import BLANK_IS_ABSENT

URI_TOO_LONG = (
    "The request line is longer than the HTTP server accepts (4 KiB in gunicorn, 8 "
    "KiB in nginx); refused before the application, so not in the ApiError format."
)


def describe_api(result, generator, request, public):
    """The postprocessing hook: the error answers every operation can
    give, in the one format (a view's own description of a status is kept)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ApiError"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/ApiError"}
    _nullable_feature_geometry(schemas)
    retry = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter.pop(BLANK_IS_ABSENT, False):
                    parameter["allowEmptyValue"] = True
            if "requestBody" in operation:
                # Every API body is the request itself: a POST without one is a 400.
                operation["requestBody"]["required"] = True
            responses = operation.setdefault("responses", {})
            statuses = {400, 405, 429, 503} | {
                int(s) for s in responses if s.isdigit() and int(s) >= 400
            }
            if method in ("post", "put", "patch"):
                statuses |= {411, 413, 415}
            for status in sorted(statuses):
                existing = responses.get(str(status)) or {}
                entry = {
                    "description": existing.get("description")
                    or DESCRIPTIONS.get(status, "Error."),
                    "content": {"application/json": {"schema": ref}},
                }
                if status in (429, 503):
                    entry["headers"] = retry
                responses[str(status)] = entry
            # Refused by the HTTP server (gunicorn, nginx) before the app: no body
            # in the API's format.
            responses["414"] = {"description": URI_TOO_LONG}
    return result


def _nullable_feature_geometry(schemas: dict) -> None:
    """GeoJSON allows a feature without a location (``"geometry": null``), and SPD
    records without one are kept; rest_framework_gis describes it as always present."""
    for component in schemas.values():
        properties = component.get("properties") or {}
        geometry = properties.get("geometry")
        if "properties" in properties and isinstance(geometry, dict):
            geometry["nullable"] = True
