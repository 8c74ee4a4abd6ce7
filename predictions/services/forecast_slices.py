"""Forecast answers cut from the stored weeks in this process's memory (issue 16).

Before, every new variant of a forecast answer (``hours``, ``start``, ``category``,
``encoding``, ``format``) read its rows, formatted up to 1.7 million numbers and
gzipped ~13 MB: 5-9 s of a worker, and ~13 MB more in Redis, per variant.

Now the stored rows are read in blocks of BLOCK_HOURS consecutive hours (aligned to
multiples of BLOCK_HOURS since the epoch), once per process and version of the
forecasts, and each hour of a block is rendered once, when first asked for, per
encoding: its JSON text and that text compressed on its own (a raw deflate stream
ended by a sync flush: byte-aligned, no reference to anything before it). An answer
is then a join: its head (made per answer, a few KB), the rows of its hours, its
tail; and its gzip is a gzip header, the deflate pieces of the same parts in the same
order, an empty final block and the CRC-32 and length of the text (RFC 1951 3.2.3,
RFC 1952: concatenated sync-flushed pieces are one valid deflate stream). No number
is formatted and nothing large is compressed per answer.

GeoJSON answers one Feature per cell with that cell's hours, so its rows are cells.
Its numbers are written "%.5e": the same six significant digits as the compact
answer's "%.6g" (the same values), and always 11 characters for 0 <= v < 1e100, so a
block keeps its numbers as one fixed-width text matrix (cells x hours) and an answer's
hours are a column slice of it. Each cell's Feature up to its first number is padded
with leading spaces (JSON whitespace) to one width per grid, so an answer is a few
numpy copies of whole columns into one buffer: no Python loop over the ~10,000 cells
(that loop and its ~20,000 pieces took 30-100 ms per answer; issue 16). Those bodies
are not compressed here (a column slice is not a deflate piece); core.compression
gzips those under its size cap, and nginx compresses in front.

Blocks live in one LRU per process bounded in bytes (FORECAST_MEMORY_MB), keyed on
the versions of the forecasts and the grid (core.cache), so a write, activation,
delete or grid rebuild is seen at once, as by forecast_store.load_forecast.
"""

from __future__ import annotations

import base64
import json
import struct
import threading
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection

from core.cache import ProcessLRU, VersionedCache, bypassed
from core.local_time import SEATTLE, local_iso
from predictions.services.cells import grid_arrays
from predictions.services.forecast_store import DTYPE, SCOPES, NoForecast

BLOCK_HOURS = 168
# Compression level of the pieces (what gzip.compress used before: 5).
LEVEL = 5
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # mtime 0: same bytes always
FINAL_BLOCK = b"\x03\x00"  # an empty final deflate block (fixed Huffman)
HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def deflated(text: bytes) -> bytes:
    """``text`` as a stand-alone, byte-aligned piece of a raw deflate stream."""
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return packer.compress(text) + packer.flush(zlib.Z_SYNC_FLUSH)


COMMA = (b",", deflated(b","))


def gzip_of(parts: list[tuple[bytes, bytes]]) -> bytes:
    """The gzip member of the text ``b"".join(raw for raw, _ in parts)``, made from
    each part's deflated piece (no compression here, only the CRC)."""
    crc, size = 0, 0
    for raw, _ in parts:
        crc = zlib.crc32(raw, crc)
        size += len(raw)
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return b"".join([GZIP_HEADER, *(z for _, z in parts), FINAL_BLOCK, trailer])


def hour_index(moment: datetime) -> int:
    return int((moment - EPOCH).total_seconds() // 3600)


@dataclass
class Block:
    """The stored rows of one (model version, category) in hours [first, first + N)
    (epoch hours), and their renderings, each made when first asked for."""

    key: tuple | None  # (version id, category, index, signature) in the LRU; None:
    # not kept (read inside core.cache.uncached())
    first: int
    present: np.ndarray  # (BLOCK_HOURS,) bool
    run_ids: np.ndarray  # (BLOCK_HOURS,) int64, 0 where absent
    values: np.ndarray  # (BLOCK_HOURS, n_cells) float32, zeros where absent
    rows: dict = field(default_factory=dict)  # encoding -> [(text, deflated) | None]
    numbers: np.ndarray | None = None  # GeoJSON: (n_cells, N * width) uint8 text
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def size(self) -> int:
        total = self.values.nbytes + self.run_ids.nbytes
        for pieces in self.rows.values():
            total += sum(len(p[0]) + len(p[1]) for p in pieces if p)
        if self.numbers is not None:
            total += self.numbers.nbytes
        return total

    def hour_rows(self, encoding: str, a: int, e: int) -> list[tuple[bytes, bytes]]:
        """(text, deflated) of hours a..e-1 (present ones), rendered if new."""
        with self.lock:
            rows = self.rows.setdefault(encoding, [None] * BLOCK_HOURS)
            made = False
            for h in range(a, e):
                if rows[h] is None:
                    rows[h] = _render_row(self.values[h], encoding)
                    made = True
            found = rows[a:e]
        if made and self.key is not None:
            _memory().put(self.key, self, self.size())  # account for the new bytes
        return found

    def number_matrix(self) -> tuple[np.ndarray, int]:
        """Per cell (row), its numbers for every hour of the block as GeoJSON text,
        each ``width`` bytes with its comma ("1.23457e-02,"; absent hours as 0)."""
        with self.lock:
            made = self.numbers is None
            if made:
                self.numbers = _number_matrix(self.values)
            found = self.numbers
        if made and self.key is not None:
            _memory().put(self.key, self, self.size())
        return found, found.shape[1] // BLOCK_HOURS


# "%.5e" of a number in [0, 1e100): 11 characters, and a comma.
NUMBER = "%.5e,"
NUMBER_WIDTH = 12


def _number_matrix(values: np.ndarray) -> np.ndarray:
    """(hours, cells) float32 -> (cells, hours * width) uint8 text, read-only."""
    columns = values.T
    # By 2,048 cells (~340,000 numbers): bounded temporaries.
    fast = [_scientific(columns[lo : lo + 2048]) for lo in range(0, len(columns), 2048)]
    if fast and all(part is not None for part in fast):
        matrix = np.concatenate(fast)
        matrix.setflags(write=False)
        return matrix
    texts = []
    for lo in range(0, columns.shape[0], 1024):  # bounded temporary lists
        flat = columns[lo : lo + 1024].ravel().tolist()
        texts.append(((NUMBER * len(flat)) % tuple(flat)).encode())
    text = b"".join(texts)
    width = NUMBER_WIDTH
    if len(text) != columns.size * width:
        # A negative or huge number is wider: right-align all to the widest.
        items = [f"{v:.5e}" for v in columns.ravel().tolist()]
        width = max(map(len, items)) + 1
        text = "".join(item.rjust(width - 1) + "," for item in items).encode()
    matrix = np.frombuffer(text, np.uint8).reshape(columns.shape[0], -1)
    return matrix  # frombuffer of bytes: read-only already


# A number's 12 bytes as three 4-byte words, each looked up in a table (one gather per
# word instead of dividing out each digit): "d.dd", "ddde", "+dd," (the exponent).
HEAD_WORDS = np.frombuffer(
    "".join(f"{i // 100}.{i // 10 % 10}{i % 10}" for i in range(1000)).encode(),
    np.uint32,
)
TAIL_WORDS = np.frombuffer(
    "".join(f"{i:03d}e" for i in range(1000)).encode(), np.uint32
)
EXPONENT_WORDS = np.frombuffer(
    "".join(f"{k:+03d}," for k in range(-99, 100)).encode(), np.uint32
)


def _scientific(columns: np.ndarray) -> np.ndarray | None:
    """What ``NUMBER % v`` writes for each value, computed by numpy: (cells,
    hours * 12) uint8, or None unless every value is finite in [+0, 1e99).

    Python formats ~1.5 million numbers a second here (a block's 1.7 million took 1.2
    s of a cold GeoJSON answer under load). The six digits are round(v * 10^(5 - e))
    in float64, whose error (~1e-10 of a unit) decides the rounding only when the
    exact value is within that of a half: any value within 1e-6 of one (exact ties
    such as 65/64 among them) is written by Python instead, so every byte is the
    same as the format's (tests/predictions/test_forecast_slices.py compares them).
    """
    v = columns.astype(np.float64).ravel()
    if (
        v.size == 0
        or not np.isfinite(v).all()
        or np.signbit(v).any()
        or v.max() >= 1e99
    ):
        return None
    positive = v > 0
    exponent = np.zeros(v.size, np.int64)
    exponent[positive] = np.floor(np.log10(v[positive])).astype(np.int64)
    scaled = v * 10.0 ** (5 - exponent)
    # log10 may be one off next to a power of ten: put the mantissa in [1e5, 1e6).
    low = positive & (scaled < 99999.5)
    high = scaled >= 999999.5
    exponent += high.astype(np.int64) - low.astype(np.int64)
    scaled = np.where(low | high, v * 10.0 ** (5 - exponent), scaled)
    digits = np.rint(scaled).astype(np.int64)
    fraction = scaled - np.floor(scaled)
    python = (np.abs(fraction - 0.5) < 1e-6) | (
        positive & ((digits < 100000) | (digits > 999999))
    )
    digits = np.clip(digits, 0, 999999).astype(np.int32)
    words = np.empty((v.size, 3), np.uint32)
    words[:, 0] = HEAD_WORDS[digits // 1000]
    words[:, 1] = TAIL_WORDS[digits % 1000]
    words[:, 2] = EXPONENT_WORDS[np.clip(exponent, -99, 99) + 99]
    out = words.view(np.uint8)  # (v.size, 12), each number's bytes in order
    out[~positive] = np.frombuffer(b"0.00000e+00,", np.uint8)
    for i in np.flatnonzero(python).tolist():
        out[i] = np.frombuffer((NUMBER % v[i]).encode(), np.uint8)
    return out.reshape(columns.shape[0], -1)


def _render_row(values: np.ndarray, encoding: str) -> tuple[bytes, bytes]:
    if encoding == "q8":
        from predictions.services.payloads import quantise

        text = b'"' + base64.b64encode(quantise(values).tobytes()) + b'"'
    else:
        # %-formatting of a whole row at once: 4x faster than np.char.mod, same text.
        text = (
            "[" + ("%.6g," * values.size % tuple(values.tolist()))[:-1] + "]"
        ).encode()
    return text, deflated(text)


_BLOCKS = None
_BLOCKS_LOCK = threading.Lock()


def _memory() -> ProcessLRU:
    global _BLOCKS
    with _BLOCKS_LOCK:
        if _BLOCKS is None:
            _BLOCKS = ProcessLRU(max_bytes=settings.FORECAST_MEMORY_MB * 1024 * 1024)
        return _BLOCKS


def clear() -> None:
    _memory().clear()


# Per version of the forecasts: each block's signature (rows, newest run, sum of the
# rows' totals). Blocks are kept under their signature, so a bump that does not touch
# a block's rows (a new run for other hours, another category's rows) keeps it.
_SIGNATURES = VersionedCache("forecast-block-signature", SCOPES, local=512)


def _signature(version_id: int, category: str, index: int) -> tuple:
    start = EPOCH + index * BLOCK_HOURS * HOUR
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*), max(forecast_run_id), sum(total)"
            " FROM predictions_forecastvalues WHERE model_version_id = %s"
            " AND category = %s AND hour_start >= %s AND hour_start < %s",
            [version_id, category, start, start + BLOCK_HOURS * HOUR],
        )
        count, run_id, total = cur.fetchone()
    ids = grid_arrays()["cell_ids"]
    return (count, run_id, total, ids.size, int(ids.sum()) if ids.size else 0)


def block(
    versions: tuple[int, ...], version_id: int, category: str, index: int
) -> Block:
    signature = _SIGNATURES.get(
        (version_id, category, index),
        lambda: _signature(version_id, category, index),
        versions=versions,
    )
    key = (version_id, category, index, signature)
    if bypassed():  # core.cache.uncached(): read afresh, keep nothing
        return _read_block(key, keep=False)
    found = _memory().get(key)
    if found is None:
        found = _read_block(key)
        _memory().put(key, found, found.size())
    return found


def _read_block(key: tuple, keep: bool = True) -> Block:
    version_id, category, index, _signature = key
    first = index * BLOCK_HOURS
    start = EPOCH + first * HOUR
    with connection.cursor() as cur:
        cur.execute(
            "SELECT hour_start, forecast_run_id, values FROM predictions_forecastvalues"
            " WHERE model_version_id = %s AND category = %s"
            " AND hour_start >= %s AND hour_start < %s ORDER BY hour_start",
            [version_id, category, start, start + BLOCK_HOURS * HOUR],
        )
        rows = cur.fetchall()
    n_cells = grid_arrays()["cell_ids"].size
    present = np.zeros(BLOCK_HOURS, bool)
    run_ids = np.zeros(BLOCK_HOURS, np.int64)
    values = np.zeros((BLOCK_HOURS, n_cells), np.float32)
    for hour_start, run_id, blob in rows:
        h = hour_index(hour_start.astimezone(UTC)) - first
        arr = np.frombuffer(bytes(blob), dtype=DTYPE)
        if arr.size != n_cells:
            raise NoForecast(
                f"forecast rows have {arr.size} cells but the grid has "
                f"{n_cells}: the grid changed; precompute again"
            )
        present[h] = True
        run_ids[h] = run_id or 0
        values[h] = arr
    values.setflags(write=False)
    return Block(key=key, first=first, present=present, run_ids=run_ids, values=values)


@dataclass(frozen=True)
class Slice:
    """The hours of one answer: consecutive stored hours from its start."""

    version_id: int
    category: str
    hour_starts: list[datetime]
    run_id: int  # the newest run that wrote any row in [start, start + hours)
    parts: list[tuple[Block, int, int]]  # (block, first hour in it, end) in order

    @property
    def hours(self) -> int:
        return len(self.hour_starts)

    def values(self) -> np.ndarray:
        return np.concatenate([b.values[a:e] for b, a, e in self.parts])


def cut(
    versions: tuple[int, ...],
    version_id: int,
    category: str,
    start: datetime,
    hours: int,
) -> Slice:
    """The stored hours from ``start`` (consecutive; at most ``hours``), or NoForecast
    as forecast_store.load_forecast raises it."""
    first = hour_index(start)
    end = first + hours
    parts: list[tuple[Block, int, int]] = []
    run_id = 0
    count = 0
    gap = False
    for index in range(first // BLOCK_HOURS, (end - 1) // BLOCK_HOURS + 1):
        found = block(versions, version_id, category, index)
        a = max(first, found.first) - found.first
        e = min(end, found.first + BLOCK_HOURS) - found.first
        inside = found.present[a:e]
        if inside.any():
            run_id = max(run_id, int(found.run_ids[a:e].max()))
        count += int(inside.sum())
        if gap:
            continue
        missing = np.flatnonzero(~inside)
        stop = a + int(missing[0]) if missing.size else e
        if stop > a:
            parts.append((found, a, stop))
        gap = stop < e
    if not count:
        raise NoForecast(
            f"no {category} forecast for {start.astimezone(SEATTLE):%Y-%m-%d %H:%M}"
            f" (model version {version_id}); run precompute_forecasts first"
        )
    if not parts:
        raise NoForecast(f"no forecast row at {start.isoformat()}")
    n = sum(e - a for _, a, e in parts)
    return Slice(
        version_id=version_id,
        category=category,
        hour_starts=[start + k * HOUR for k in range(n)],
        run_id=run_id,
        parts=parts,
    )


def _doc(piece: Slice, encoding: str, totals: np.ndarray, n_cells: int) -> dict:
    return {
        "model_version": piece.version_id,
        "forecast_run": piece.run_id,
        "category": piece.category,
        "unit": "expected reported incidents per cell per hour",
        "start": local_iso(piece.hour_starts[0]),
        "hours": piece.hours,
        "hour_starts": [local_iso(h) for h in piece.hour_starts],
        "city_total": [round(float(t), 3) for t in totals],
        "city_mean": [round(float(t) / n_cells, 6) for t in totals],
        "cell_ids": None,
        "encoding": encoding,
    }


_CELL_IDS: dict = {}


def _cell_ids_part() -> tuple[bytes, bytes]:
    ids = grid_arrays()["cell_ids"]
    key = (ids.size, int(ids[0]), int(ids[-1]), int(ids.sum()))
    found = _CELL_IDS.get(key)
    if found is None:
        text = json.dumps(ids.tolist(), separators=(",", ":")).encode()
        found = (text, deflated(text))
        _CELL_IDS.clear()
        _CELL_IDS[key] = found
    return found


class Answer:
    """An answer's bytes, assembled only when asked for (a 304 needs neither)."""

    def __init__(self, parts=None, make=None) -> None:
        self._parts, self._make = parts, make

    def body(self) -> bytes:
        if self._parts is None:
            return self._make()
        return b"".join(raw for raw, _ in self._parts)

    def gzipped(self) -> bytes | None:
        """The body gzipped, or None where it is not compressed here (GeoJSON)."""
        return None if self._parts is None else gzip_of(self._parts)


def compact(piece: Slice, encoding: str, q8: dict) -> Answer:
    """The compact answer: the same text as building the whole document and
    json.dumps-ing it (rows hand-joined, as before)."""
    totals = np.concatenate([b.values[a:e].sum(axis=1) for b, a, e in piece.parts])
    n_cells = piece.parts[0][0].values.shape[1]
    doc = _doc(piece, encoding, totals, n_cells)
    if encoding == "q8":
        doc["q8"] = q8
    head = json.dumps({**doc, "values": None}, separators=(",", ":"))
    # The document around its two large lists: cell ids (per grid) and rows.
    before_ids, after_ids = head.split('"cell_ids":null', 1)
    before = (before_ids + '"cell_ids":').encode()
    middle = (after_ids[: -len("null}")] + "[").encode()
    parts = [(before, deflated(before)), _cell_ids_part(), (middle, deflated(middle))]
    for found, a, e in piece.parts:
        for row in found.hour_rows(encoding, a, e):
            if len(parts) > 3:
                parts.append(COMMA)
            parts.append(row)
    parts.append(TAIL)
    return Answer(parts)


TAIL = (b"]}", deflated(b"]}"))


def geojson(piece: Slice, geometries: list[str], cell_ids: np.ndarray) -> Answer:
    """A FeatureCollection: one Feature per cell, its hourly values as a property."""
    meta = json.dumps(
        {
            "model_version": piece.version_id,
            "forecast_run": piece.run_id,
            "category": piece.category,
            "unit": "expected reported incidents per cell per hour",
            "hour_starts": [local_iso(h) for h in piece.hour_starts],
        },
        separators=(",", ":"),
    )
    heads, ends = _feature_heads(geometries, cell_ids)
    columns = []
    for found, a, e in piece.parts:
        numbers, width = found.number_matrix()
        columns.append(numbers[:, a * width : e * width])
    # The last number's comma is not sent: "]}}," closes the Feature instead.
    columns[-1] = columns[-1][:, :-1]

    def make() -> bytes:
        start = (
            b'{"type":"FeatureCollection","metadata":'
            + meta.encode()
            + b',"features":['
        )
        pieces = [heads, *columns, ends]
        n = heads.shape[0]
        row = sum(p.shape[1] for p in pieces)
        out = np.empty(len(start) + n * row + len(END), np.uint8)
        out[: len(start)] = np.frombuffer(start, np.uint8)
        rows = out[len(start) : len(start) + n * row].reshape(n, row)
        col = 0
        for p in pieces:
            rows[:, col : col + p.shape[1]] = p
            col += p.shape[1]
        if n:
            rows[-1, -1] = ord(" ")  # no comma after the last Feature
        out[len(out) - len(END) :] = np.frombuffer(END, np.uint8)
        return out.tobytes()

    return Answer(make=make)


END = b"]}"
_HEADS: dict = {}


def _feature_heads(
    geometries: list[str], cell_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's Feature up to its first number, right-aligned with spaces to one
    width, and its end ("]}},"), per grid like the geometries: (n_cells, width) and
    (n_cells, 4) uint8."""
    key = (len(geometries), cell_ids.size, int(cell_ids.sum()) if cell_ids.size else 0)
    found = _HEADS.get(key)
    if found is None:
        heads = [
            f'{{"type":"Feature","id":{c},"geometry":{g},'
            f'"properties":{{"cell_id":{c},"expected":['.encode()
            for c, g in zip(cell_ids.tolist(), geometries, strict=True)
        ]
        width = max(map(len, heads), default=0)
        text = b"".join(head.rjust(width) for head in heads)
        found = (
            np.frombuffer(text, np.uint8).reshape(len(heads), width),
            np.frombuffer(b"]}}," * len(heads), np.uint8).reshape(len(heads), 4),
        )
        _HEADS.clear()
        _HEADS[key] = found
    return found
