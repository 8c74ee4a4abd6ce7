"""Files every machine reaches: admin uploads and model checkpoints, in PostgreSQL.

Web processes, trainers and forecast workers may each run on a different machine;
they share PostgreSQL and Redis only (DESIGN, "Many machines"), so no file is handed
from one to another through a local disk. A file is a ``core_storedfile`` row (name,
size, SHA-256) and its bytes in ``core_storedfilechunk`` rows of CHUNK_BYTES, written
and read one chunk at a time: a 500 MB upload never sits whole in a process's memory.

Why PostgreSQL rather than S3-compatible storage (django-storages): PostgreSQL is
already what every process shares and backs up, with no second service to run,
secure and reach from every machine; a file commits in the same transaction as the
row that names it (a model version exists if and only if its checkpoint does; an
import run and its upload likewise). Why a chunk table rather than large objects: a
file goes with its rows (large objects outlive them unless vacuumlo runs), and dumps,
restores and permissions are a table's.

A process that needs a file on its own disk (the importer reads a path, torch loads a
checkpoint from one) fetches it: `local_copy` to a temporary file that is deleted
afterwards (uploads: read once), `cached_copy` into a folder keyed by the content
hash (checkpoints: each machine fetches a version once).

`DatabaseStorage` is Django's default storage (settings.STORAGES), so FileFields
(crimes.ImportRun.upload) store through it. The functions use plain SQL, so that data
migrations can call them too.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import psycopg
from django.core.files import File
from django.core.files.storage import Storage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.deconstruct import deconstructible

log = logging.getLogger(__name__)

# 4 MiB: few round trips for a big file, little memory per process.
CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Stored:
    id: int
    name: str
    size: int
    sha256: str


def info(name: str) -> Stored | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, name, size, sha256 FROM core_storedfile WHERE name = %s", [name]
        )
        row = cursor.fetchone()
    return Stored(*row) if row else None


def exists(name: str) -> bool:
    return info(name) is not None


def save(name: str, chunks: Iterable[bytes]) -> Stored:
    """Store the bytes of ``chunks`` (any sizes) as ``name``, which must be new."""
    digest = hashlib.sha256()
    size = seq = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_storedfile (name, size, sha256, created_at)"
            " VALUES (%s, 0, '', %s) RETURNING id",
            [name, timezone.now()],
        )
        file_id = cursor.fetchone()[0]
        with _binary_cursor() as binary:
            for chunk in _rechunk(chunks):
                digest.update(chunk)
                size += len(chunk)
                binary.execute(
                    "INSERT INTO core_storedfilechunk (file_id, seq, data)"
                    " VALUES (%s, %s, %b)",
                    [file_id, seq, chunk],
                )
                seq += 1
        cursor.execute(
            "UPDATE core_storedfile SET size = %s, sha256 = %s WHERE id = %s",
            [size, digest.hexdigest(), file_id],
        )
    return Stored(file_id, name, size, digest.hexdigest())


def save_path(name: str, path: Path) -> Stored:
    with open(path, "rb") as fh:
        return save(name, _read_chunks(fh))


def adopt(name: str, path: Path) -> bool:
    """Store the local file ``path`` as ``name`` unless ``name`` is stored already
    (files from before this store, moved by a migration or by the first process
    that has them); False when neither has it."""
    if exists(name):
        return True
    if not path.is_file():
        return False
    save_path(name, path)
    log.info("stored %s from %s", name, path)
    return True


def chunks(name: str) -> Iterator[bytes]:
    """The bytes of ``name``, one chunk (one query) at a time."""
    stored = info(name)
    if stored is None:
        raise FileNotFoundError(f"no stored file {name!r}")
    seq = 0
    while True:
        with _binary_cursor() as cursor:
            cursor.execute(
                "SELECT data FROM core_storedfilechunk WHERE file_id = %s AND seq = %s",
                [stored.id, seq],
                binary=True,
            )
            row = cursor.fetchone()
        if row is None:
            return
        yield bytes(row[0])
        seq += 1


def _binary_cursor() -> psycopg.Cursor:
    """A cursor on Django's connection (so in its transaction) that binds parameters
    on the server and moves bytea in binary: Django's own cursor interpolates them
    into the SQL text, a chunk as twice its size in hex (14 MB/s stored, against
    37 MB/s in binary: docs/benchmarks.md, "Files in PostgreSQL")."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def delete(name: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM core_storedfilechunk WHERE file_id IN"
            " (SELECT id FROM core_storedfile WHERE name = %s)",
            [name],
        )
        cursor.execute("DELETE FROM core_storedfile WHERE name = %s", [name])


def _suffix(name: str) -> str:
    """``.csv.gz`` of ``imports/2026/12/spd.csv.gz``: readers go by it."""
    return "".join(Path(name).suffixes[-2:])


def _write(stored: Stored, fh: BinaryIO) -> None:
    digest = hashlib.sha256()
    for chunk in chunks(stored.name):
        digest.update(chunk)
        fh.write(chunk)
    if digest.hexdigest() != stored.sha256:
        raise OSError(f"stored file {stored.name!r} does not match its SHA-256")


@contextmanager
def local_copy(name: str, legacy_root: Path | None = None) -> Iterator[Path]:
    """A temporary local file with the bytes of ``name``, deleted afterwards. A file
    not in the store but under ``legacy_root`` (from before it) is used in place."""
    stored = info(name)
    if stored is None:
        legacy = Path(legacy_root) / name if legacy_root else None
        if legacy is not None and legacy.is_file():
            yield legacy
            return
        raise FileNotFoundError(f"the stored file {name!r} is gone")
    fd, temp = tempfile.mkstemp(prefix="cp-stored-", suffix=_suffix(name))
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(stored, fh)
        yield Path(temp)
    finally:
        Path(temp).unlink(missing_ok=True)


def cached_copy(name: str, cache_dir: Path) -> Path:
    """``cache_dir/<sha256><suffix>``, fetched from the store when this machine does
    not have it yet (a new name with the same bytes costs nothing)."""
    stored = info(name)
    if stored is None:
        raise FileNotFoundError(f"no stored file {name!r}")
    target = Path(cache_dir) / f"{stored.sha256}{_suffix(name)}"
    if target.is_file() and target.stat().st_size == stored.size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".fetching-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(stored, fh)
        os.replace(temp, target)  # atomic: a reader never sees half a file
    finally:
        Path(temp).unlink(missing_ok=True)
    log.info("fetched %s (%d bytes) into %s", name, stored.size, target)
    return target


def _read_chunks(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK_BYTES):
        yield chunk


def _rechunk(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """CHUNK_BYTES pieces (the last shorter) from pieces of any size."""
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        while len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer[:CHUNK_BYTES])
            del buffer[:CHUNK_BYTES]
    if buffer:
        yield bytes(buffer)


@deconstructible
class DatabaseStorage(Storage):
    """Django storage on the file store. Files are not served (no URL); open()
    gives a temporary copy (in memory up to a chunk, then on disk)."""

    def _save(self, name: str, content) -> str:
        save(name, content.chunks(CHUNK_BYTES))
        return name

    def _open(self, name: str, mode: str = "rb") -> File:
        if any(flag in mode for flag in "wa+"):
            raise ValueError("stored files are written with save(), not open()")
        stored = info(name)
        if stored is None:
            raise FileNotFoundError(f"no stored file {name!r}")
        spool = tempfile.SpooledTemporaryFile(max_size=CHUNK_BYTES)
        _write(stored, spool)
        spool.seek(0)
        return File(spool, name=name)

    def exists(self, name: str) -> bool:
        return exists(name)

    def delete(self, name: str) -> None:
        delete(name)

    def size(self, name: str) -> int:
        stored = info(name)
        if stored is None:
            raise FileNotFoundError(f"no stored file {name!r}")
        return stored.size

    def url(self, name: str) -> str:
        raise NotImplementedError("stored files are not served over HTTP")
