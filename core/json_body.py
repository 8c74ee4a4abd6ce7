"""The API's one body parser: JSON, strict, and bounded in depth.

It is the only entry of DEFAULT_PARSER_CLASSES, so a body of any other content type
(a multipart upload, a form) is refused with 415 before it is read. Python's json
module recurses once per nesting level, so a 2 KB body nested 1,000 deep raised
RecursionError (a 500); here it is a 400 like any other malformed body. The text is
decoded with the codec core.charsets names for the Content-Type's charset (UTF-8, or
UTF-16/32 with a byte order mark), never with one looked up from the client's string.
"""

from __future__ import annotations

import json

from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser

from core import charsets

MAX_JSON_DEPTH = 32


def _depth_exceeds(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return False


class JSONBodyParser(JSONParser):
    """DRF's JSON parser (strict: no NaN), with a bound on nesting depth."""

    def parse(self, stream, media_type=None, parser_context=None):
        charset = charsets.charset_of(media_type)
        if not charsets.readable(charset, json=True):
            # core.request_text refuses these first; a parser must not trust that.
            raise UnsupportedMediaType(media_type)
        try:
            text = charsets.decode_json(stream.read(), charset)
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(
                f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels"
            ) from None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError too
            raise ParseError(f"JSON parse error - {exc}") from None
        if _depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(
                f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels"
            )
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
