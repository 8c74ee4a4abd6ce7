"""The history filters' vocabulary in the OpenAPI schema (a postprocessing hook).

`group`, `beat` and `mcpp` take the values the data holds (anything else is a 400
"unknown value"), so the schema served at /api/v1/schema/ lists them as an enum, read
when the schema is asked for (meta/ lists the same). Generated without a request
(``manage.py spectacular``) or with the database down, the schema keeps the text rule
and says where the list is.
"""

from __future__ import annotations

from core.api_errors import API_PREFIX, DATABASE_DOWN
from core.params import text_schema
from crimes.services.filters import (
    MAX_TEXT,
    MAX_VALUES,
    OFFENSE_CODES_PATTERN,
    read_as_sent,
)

# OpenApiParameter extension: which Vocabulary field lists the parameter's values.
VOCABULARY = "x-vocabulary"
# A free-text filter, repeated: each value as sent is text (crimes.services.filters).
TEXT_LIST = {"type": "array", "items": text_schema(MAX_TEXT), "maxItems": MAX_VALUES}
OFFENSE_CODES = {
    "type": "array",
    "items": {
        "type": "string",
        "maxLength": MAX_TEXT,
        "pattern": OFFENSE_CODES_PATTERN,
    },
    "maxItems": MAX_VALUES,
}


def vocabulary_enums(result, generator, request, public):
    """Each parameter marked VOCABULARY gets the data's values as its items' enum."""
    vocabulary = _vocabulary() if request is not None else None
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                field = parameter.pop(VOCABULARY, None)
                if field is None or vocabulary is None:
                    continue
                name = parameter["name"]
                values = sorted(
                    v for v in getattr(vocabulary, field) if read_as_sent(name, v)
                )
                # An empty value is "not given", the one value an empty list takes.
                items = {"type": "string", "enum": values or [""]}
                parameter["schema"] = {**parameter["schema"], "items": items}
    return result


def _vocabulary():
    from crimes.services.history_queries import history_state

    try:
        return history_state().vocabulary
    except DATABASE_DOWN:
        return None
