"""core.compression: the gzip of large API answers, its effort by size."""

from __future__ import annotations

import gzip
import json
import random

from core.compression import LARGE_BYTES, MID_BYTES, _level, compressed


def _json_of(size: int) -> bytes:
    rng = random.Random(size)
    rows, body = [], b""
    while len(body) < size:
        rows.extend(
            {"lon": rng.uniform(-122.4, -122.2), "n": rng.random()} for _ in range(500)
        )
        body = json.dumps(rows).encode()
    return body


def test_every_size_band_round_trips_and_shrinks():
    for size in (2_000, MID_BYTES + 1, LARGE_BYTES + 1):
        body = _json_of(size)
        packed = compressed(body)
        assert gzip.decompress(packed) == body
        assert len(packed) < len(body) / 2


def test_less_effort_for_larger_bodies():
    # Level 6 below 64 KB, 4 for a commute's answer (~140 KB), 1 from 1 MB.
    assert [_level(s) for s in (MID_BYTES - 1, MID_BYTES, LARGE_BYTES)] == [6, 4, 1]
    body = _json_of(MID_BYTES * 2)
    assert compressed(body) == gzip.compress(body, compresslevel=4, mtime=0)
