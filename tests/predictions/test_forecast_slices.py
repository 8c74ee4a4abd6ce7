"""Issue 16: forecast answers are cut from the stored weeks in memory. Every variant
says exactly what the stored rows say, gzips to its own body, reads no rows once its
week is in memory, and nothing large is kept in Redis."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import cache
from core.local_time import local_iso
from predictions.services import forecast_slices, payloads
from predictions.services.forecast_store import load_forecast
from tests.predictions.conftest import store_synthetic_week

pytestmark = pytest.mark.django_db
# Two weeks from a time that is not a block boundary, so answers cross blocks.
START = datetime(2022, 1, 5, 13, tzinfo=UTC)
URL = "/api/v1/forecasts/"


@pytest.fixture
def weeks(grid):
    forecast_slices.clear()
    store_synthetic_week(START, hours=336)
    return START


def get(client, params: dict, gz: bool = False):
    headers = {"HTTP_ACCEPT_ENCODING": "gzip"} if gz else {}
    response = client.get(URL, params, **headers)
    assert response.status_code == 200, response.content
    body = response.content
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return response, json.loads(body)


VARIANTS = [
    {"hours": 168},
    {"hours": 1},
    {"hours": 30, "category": "person"},
    {"hours": 200, "category": "property"},  # across a block boundary
    {"hours": 400},  # more than is stored: the stored hours come back
]


@pytest.mark.parametrize("offset_h", [0, 77])
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("encoding", ["float", "q8"])
def test_every_variant_is_what_the_rows_say(client, weeks, variant, offset_h, encoding):
    start = weeks + timedelta(hours=offset_h)
    params = {**variant, "start": start.isoformat(), "encoding": encoding}
    plain, doc = get(client, params)
    zipped, doc_gz = get(client, params, gz=True)
    assert zipped["Content-Encoding"] == "gzip" and doc_gz == doc
    week = load_forecast(
        variant.get("category", "all"), start, min(variant["hours"], 672)
    )
    assert doc["hours"] == week.hours == min(variant["hours"], 336 - offset_h)
    assert doc["start"] == doc["hour_starts"][0] == local_iso(week.hour_starts[0])
    assert len(doc["hour_starts"]) == len(doc["values"]) == week.hours
    assert doc["forecast_run"] == week.forecast_run_id
    assert doc["cell_ids"] == week.cell_ids.tolist()
    totals = week.values.sum(axis=1)
    assert doc["city_total"] == [round(float(t), 3) for t in totals]
    if encoding == "q8":
        import base64

        rows = [np.frombuffer(base64.b64decode(r), np.uint8) for r in doc["values"]]
        assert np.array_equal(np.stack(rows), payloads.quantise(week.values))
    else:
        assert np.allclose(np.array(doc["values"]), week.values, rtol=1e-5, atol=0)


def test_geojson_is_the_same_cut(client, weeks):
    start = weeks + timedelta(hours=100)  # 100 + 100 hours crosses the block end
    _, doc = get(
        client, {"start": start.isoformat(), "hours": 100, "format": "geojson"}
    )
    week = load_forecast("all", start, 100)
    assert doc["type"] == "FeatureCollection"
    assert doc["metadata"]["hour_starts"] == [local_iso(h) for h in week.hour_starts]
    assert len(doc["features"]) == week.cell_ids.size
    got = np.array([f["properties"]["expected"] for f in doc["features"]])
    assert got.shape == (week.cell_ids.size, 100)
    assert np.allclose(got, week.values.T, rtol=1e-5, atol=0)
    assert [f["id"] for f in doc["features"]] == week.cell_ids.tolist()
    # The same numbers as the compact answer's, exactly (six significant digits).
    _, compact = get(client, {"start": start.isoformat(), "hours": 100})
    assert got.T.tolist() == compact["values"]


def test_geojson_numbers_are_the_formats_bytes():
    # numpy writes the numbers (forecast_slices._scientific); every byte must be what
    # "%.5e," writes: log-uniform values, exact decimal ties (k/64), every float32
    # next to 1.0, powers of ten and their float32 neighbours, zeros, subnormals.
    rng = np.random.default_rng(16)
    powers = np.array([10.0**k for k in range(-40, 38)], np.float32)
    band = np.arange(
        np.float32(0.999).view(np.int32), np.float32(1.001).view(np.int32)
    ).view(np.float32)
    values = np.concatenate(
        [
            10.0 ** rng.uniform(-12, 3, 50_000),
            rng.integers(0, 2**12, 2_000) / 64.0,
            band,
            powers,
            np.nextafter(powers, np.float32(0)),
            np.nextafter(powers, np.float32(np.inf)),
            [0.0, 1e-45, 9.999995, 9.9999949, 9.9999951, 1.015625, 3.4e38],
        ]
    ).astype(np.float32)
    values = np.resize(values, (forecast_slices.BLOCK_HOURS, -(-values.size // 168)))
    flat = values.T.ravel().tolist()
    expected = ((forecast_slices.NUMBER * len(flat)) % tuple(flat)).encode()
    assert forecast_slices._number_matrix(values).tobytes() == expected


def test_geojson_numbers_of_any_width_stay_in_their_columns():
    # Negative numbers are wider than "%.5e" of [0, 1e100): all are right-aligned.
    values = np.zeros((forecast_slices.BLOCK_HOURS, 3), np.float32)
    values[0] = [0.5, -1.5e-7, 0]
    values[5, 2] = 123.456
    matrix = forecast_slices._number_matrix(values)
    width = matrix.shape[1] // forecast_slices.BLOCK_HOURS
    assert width == 13
    rows = [json.loads(b"[" + bytes(row)[:-1] + b"]") for row in matrix]
    assert np.array_equal(np.array(rows, np.float32), values.T)


def test_a_new_variant_of_a_week_in_memory_reads_no_rows(client, weeks):
    get(client, {"start": weeks.isoformat(), "hours": 168})
    for params in (
        {"start": (weeks + timedelta(hours=5)).isoformat(), "hours": 24},
        {"start": (weeks + timedelta(hours=9)).isoformat(), "hours": 100},
        {"start": weeks.isoformat(), "hours": 168, "encoding": "q8"},
    ):
        with CaptureQueriesContext(connection) as queries:
            get(client, params)
        rows_read = [q["sql"] for q in queries if "values FROM" in q["sql"]]
        assert rows_read == [], rows_read


def test_a_large_answer_is_not_kept_in_redis(client, weeks, settings):
    # Before: each variant's body and its gzip were kept in Redis for a day (13-33 MB
    # for the full grid). Now no forecast answer is kept there, whatever its size.
    settings.CACHE_MAX_ENTRY_BYTES = 64 * 1024
    client_redis = cache.redis_client()
    get(client, {"start": weeks.isoformat(), "hours": 1, "encoding": "q8"})
    before = set(client_redis.scan_iter("*"))
    for hours in (24, 168, 300):
        for gz in (False, True):
            get(client, {"start": weeks.isoformat(), "hours": hours}, gz=gz)
    new = set(client_redis.scan_iter("*")) - before
    sizes = {k: client_redis.memory_usage(k) or 0 for k in new}
    assert all(size < 4 * 1024 for size in sizes.values()), sizes


def test_the_weeks_in_memory_are_bounded(client, weeks, settings, monkeypatch):
    memory = cache.ProcessLRU(max_bytes=8 * 1024 * 1024)
    monkeypatch.setattr(forecast_slices, "_BLOCKS", memory)
    for category in ("all", "person", "property"):
        for offset in (0, 168):
            start = (weeks + timedelta(hours=offset)).isoformat()
            get(client, {"start": start, "hours": 168, "category": category})
            assert memory._bytes <= 8 * 1024 * 1024
    assert len(memory._data) < 6  # older blocks were let go


def test_gzip_of_pieces_is_a_plain_gzip_stream():
    texts = [b'{"a":[', b"1,2,3", b",", b"4.5e-06", b"]}"]
    parts = [(t, forecast_slices.deflated(t)) for t in texts]
    packed = forecast_slices.gzip_of(parts)
    assert gzip.decompress(packed) == b"".join(texts)
    assert forecast_slices.gzip_of(parts) == packed  # the same bytes every time
