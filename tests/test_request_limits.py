"""Bodies are refused before they are read; uploads stop at their limit; temporary
and failed files do not stay behind (core.request_limits, crimes.admin)."""

from __future__ import annotations

import io
import os
import time

import pytest
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.urls import reverse

from core import request_limits
from crimes.models import ImportRun
from crimes.services import importing

pytestmark = pytest.mark.django_db
ADD = reverse("admin:crimes_importrun_add")


@pytest.fixture
def upload_tmp(settings, tmp_path):
    """Uploads spool to disk from the first byte, into a folder the test watches."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    os.makedirs(settings.FILE_UPLOAD_TEMP_DIR)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    return tmp_path / "uploads"


@pytest.fixture
def written(monkeypatch):
    """Bytes the temporary-file handler wrote, per file (instrumentation only)."""
    sizes: list[int] = []
    original = TemporaryFileUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        if not sizes or start == 0:
            sizes.append(0)
        sizes[-1] += len(raw_data)
        return original(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", counting)
    return sizes


def multipart(client, path: str, size: int, **extra):
    return client.post(path, {"upload": io.BytesIO(b"y" * size)}, **extra)


def test_a_multipart_body_to_the_api_is_refused_unread(client, upload_tmp, written):
    response = multipart(client, "/api/v1/commutes/score/", 2_000_000)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert response["Connection"] == "close"
    assert written == [] and list(upload_tmp.iterdir()) == []
    # Under the size limit it is still not JSON: 415, and still never spooled.
    small = multipart(client, "/api/v1/commutes/score/", 1000)
    assert small.status_code == 415 and written == []


def test_anonymous_posts_cannot_send_an_upload_sized_body(client, upload_tmp, written):
    for path in (ADD, "/admin/login/", "/history/"):
        response = multipart(client, path, 3_000_000)
        assert response.status_code == 413, path
    assert written == [] and list(upload_tmp.iterdir()) == []


def test_a_staff_upload_stops_at_the_limit_while_streaming(
    admin_client, settings, upload_tmp, written
):
    settings.IMPORT_UPLOAD_MAX_BYTES = 200_000
    response = multipart(admin_client, ADD, 900_000)
    assert response.status_code == 200
    text = response.content.decode()
    assert "More than 195.3" in text and "uploads are limited to" in text
    assert ImportRun.objects.count() == 0
    # Never more than the limit on disk, and the partial file is gone.
    assert written and max(written) <= settings.IMPORT_UPLOAD_MAX_BYTES
    assert list(upload_tmp.iterdir()) == []


def test_the_staff_limit_is_the_header_limit_too(admin_client, settings, upload_tmp):
    settings.IMPORT_UPLOAD_MAX_BYTES = 100_000
    big = request_limits.FORM_OVERHEAD_BYTES + 200_000
    assert multipart(admin_client, ADD, big).status_code == 413


def test_stale_upload_temp_files_are_removed(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    old, fresh = tmp_path / "old.upload", tmp_path / "fresh.upload"
    old.write_bytes(b"x" * 1000)
    fresh.write_bytes(b"x")
    stale = time.time() - request_limits.STALE_TEMP_AGE_S - 60
    os.utime(old, (stale, stale))
    assert request_limits.remove_stale_temp_files() == 1
    assert not old.exists() and fresh.exists()


def test_a_failed_import_deletes_its_uploaded_file():
    from django.core.files.base import ContentFile

    from core import file_store

    run = ImportRun.objects.create(source=ImportRun.Source.UPLOAD, file_name="x.csv")
    run.upload.save("x.csv", ContentFile(b"not an SPD file\n"))
    name = run.upload.name
    assert file_store.exists(name)  # uploads are stored in PostgreSQL
    importing.claim(run.pk)
    with pytest.raises(importing.ImportFailed):
        with file_store.local_copy(name) as path:
            importing.run_import(ImportRun.objects.get(pk=run.pk), path)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and run.error
    assert not file_store.exists(name) and run.upload.name == ""
