"""core.file_store: files in PostgreSQL, streamed in chunks, fetched by content hash;
and the migrations that move the files from before into it."""

from __future__ import annotations

import hashlib
import importlib
import os

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core import file_store
from core.models import StoredFile, StoredFileChunk
from crimes.models import ImportRun
from predictions.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(file_store, "CHUNK_BYTES", 1000)


def test_a_file_is_stored_in_chunks_and_read_back_the_same(small_chunks, tmp_path):
    body = os.urandom(4500)
    pieces = [body[i : i + 333] for i in range(0, len(body), 333)]
    stored = file_store.save("imports/a.csv.gz", pieces)
    assert stored.size == 4500 and stored.sha256 == hashlib.sha256(body).hexdigest()
    sizes = StoredFileChunk.objects.order_by("seq").values_list("seq", "data")
    assert [(seq, len(data)) for seq, data in sizes] == [
        (0, 1000),
        (1, 1000),
        (2, 1000),
        (3, 1000),
        (4, 500),
    ]
    assert b"".join(file_store.chunks("imports/a.csv.gz")) == body
    with file_store.local_copy("imports/a.csv.gz") as path:
        assert path.name.endswith(".csv.gz") and path.read_bytes() == body
    assert not path.exists()
    cached = file_store.cached_copy("imports/a.csv.gz", tmp_path)
    assert cached == tmp_path / f"{stored.sha256}.csv.gz"
    assert cached.read_bytes() == body
    file_store.delete("imports/a.csv.gz")
    assert not StoredFile.objects.exists() and not StoredFileChunk.objects.exists()


def test_a_copy_that_does_not_match_its_hash_is_refused(tmp_path):
    file_store.save("models/m.pt", [b"weights"])
    StoredFileChunk.objects.update(data=b"changed")
    with pytest.raises(OSError, match="SHA-256"):
        file_store.cached_copy("models/m.pt", tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half written is left


def test_uploads_go_through_the_default_storage_into_postgresql(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    run = ImportRun.objects.create(source="upload", file_name="x.csv")
    run.upload.save("x.csv", ContentFile(b"header\nrow\n"))
    assert StoredFile.objects.get(name=run.upload.name).size == 11
    assert list(tmp_path.rglob("*")) == []
    assert default_storage.open(run.upload.name).read() == b"header\nrow\n"
    again = ImportRun.objects.create(source="upload", file_name="x.csv")
    again.upload.save("x.csv", ContentFile(b"other"))
    assert again.upload.name != run.upload.name  # never overwritten
    run.upload.delete(save=False)
    assert not default_storage.exists(run.upload.name or "imports/x.csv")


def test_the_migrations_move_the_files_from_before_into_postgresql(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    upload = settings.MEDIA_ROOT / "imports/2026/11/old.csv"
    checkpoint = settings.ARTIFACTS_DIR / "models/neural-old.pt"
    for path, body in ((upload, b"an old upload"), (checkpoint, b"old weights")):
        path.parent.mkdir(parents=True)
        path.write_bytes(body)
    ImportRun.objects.create(source="upload", upload="imports/2026/11/old.csv")
    ImportRun.objects.create(source="upload", upload="imports/2026/11/gone.csv")
    ModelVersion.objects.create(
        kind="neural", checkpoint="models/neural-old.pt", data_until="2021-11-01T00:00Z"
    )
    crimes = importlib.import_module("crimes.migrations.0007_uploads_to_database")
    predictions = importlib.import_module(
        "predictions.migrations.0003_checkpoints_to_database"
    )
    crimes.move_uploads(apps, None)
    predictions.move_checkpoints(apps, None)
    crimes.move_uploads(apps, None)  # run again: nothing changes
    assert b"".join(file_store.chunks("imports/2026/11/old.csv")) == b"an old upload"
    assert b"".join(file_store.chunks("models/neural-old.pt")) == b"old weights"
    assert StoredFile.objects.count() == 2  # the missing one is left as it was
    assert upload.exists() and checkpoint.exists()  # nothing deleted
