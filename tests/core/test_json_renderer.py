"""The API's JSON renderer (core.json_renderer): orjson's speed, DRF's output."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from core.json_renderer import FastJSONRenderer
from core.local_time import SEATTLE

VALUES = {
    "text": "Pike St & 3rd Ave — café",
    "separators": "a\u2028b\u2029c",
    "numbers": [0, -1, 2**62, 0.1, 47.6062, -122.3321, 1234.5678, True, None],
    "utc": datetime(2021, 12, 2, 8, 0, tzinfo=UTC),
    "seattle": datetime(2021, 12, 2, 8, 0, 30, 123456, tzinfo=SEATTLE),
    "naive": datetime(2021, 12, 2, 8, 0),  # noqa: DTZ001 - DRF writes it as is
    "day": date(2021, 12, 2),
    "clock": time(7, 30),
    "span": timedelta(minutes=90),
    "money": Decimal("1.25"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "lazy": gettext_lazy("Commute"),
    "numpy": {"float": np.float64(0.25), "int": np.int64(7), "array": np.arange(3)},
    "tuple": (1, 2),
    "nested": [{"a": [{"b": 1.5}]}],
}


def test_the_same_bytes_as_drf():
    assert FastJSONRenderer().render(VALUES) == JSONRenderer().render(VALUES)


def test_what_orjson_refuses_drf_renders():
    # Non-string keys and integers beyond 64 bits: DRF's encoder takes them.
    for data in ({1: "one", "two": 2}, {"big": 2**70}):
        assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_a_value_no_encoder_knows_is_still_an_error():
    with pytest.raises(TypeError):
        FastJSONRenderer().render({"x": object()})


def test_indent_asked_for_is_honoured():
    media = "application/json; indent=2"
    fast = FastJSONRenderer().render(VALUES, media, {})
    assert fast == JSONRenderer().render(VALUES, media, {})
    assert b"\n  " in fast


def test_nothing_renders_as_an_empty_body():
    assert FastJSONRenderer().render(None) == b""


def test_a_float_is_the_same_number_and_nan_is_null():
    data = {"small": 1e-05, "large": 1e16, "nan": float("nan")}
    assert json.loads(FastJSONRenderer().render(data)) == {
        "small": 1e-05,
        "large": 1e16,
        "nan": None,
    }


def test_every_api_answer_renders_with_it():
    from django.conf import settings

    from predictions.api.views import GeoJSONRenderer

    renderers = settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]
    assert renderers == ["core.json_renderer.FastJSONRenderer"]
    assert issubclass(GeoJSONRenderer, FastJSONRenderer)
