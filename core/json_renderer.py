"""The API's JSON renderer: DRF's JSONRenderer, with its encoding done by orjson.

A new routed commute's answer is ~140 KB of JSON (three routes, 168 departures each,
their stretches' geometry); the standard library's encoder took 4.6 ms of a web
worker for it, orjson 0.4 ms, for the same bytes (benchmarks/commute_answers.py's 36
answers; docs/benchmarks.md, "Fast routing"). What DRF's encoder does for the types
JSON lacks (datetimes with "Z", dates, Decimals, lazy strings, numpy scalars and
arrays, ...) still does it: those values are handed to its ``default``. Anything
orjson refuses (a dict key that is not a string, an integer beyond 64 bits) and a
client asking for ``indent`` are rendered by DRF itself, so nothing changes but the
speed. Two differences, both valid JSON of the same values: a float's exponent is
written without padding (``1e-5`` where the standard library writes ``1e-05``), and a
NaN or infinity is ``null`` (DRF's strict mode raised, a 500).
"""

from __future__ import annotations

import orjson
from rest_framework.renderers import JSONRenderer

# Types orjson would write its own way are handed to DRF's encoder instead.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(
                data, default=self.encoder_class().default, option=_OPTIONS
            )
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF does: JSON that is also a JavaScript string literal's subset.
        if b"\xe2\x80\xa8" in body or b"\xe2\x80\xa9" in body:
            body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(
                b"\xe2\x80\xa9", b"\\u2029"
            )
        return body
