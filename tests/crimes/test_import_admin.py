"""The admin import: upload form, size limit, live status, rejected rows as CSV, the
Celery task on a real worker, and nobody but staff getting near it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from crimes.models import ImportRun, Incident
from crimes.services.importing import import_file
from tests.conftest import wait_for
from tests.data_files import ROBBERY_EXPORT
from tests.spd_rows import portal_row, slice_lines

ADD = "admin:crimes_importrun_add"


def _upload(tmp_path: Path, rows: int = 1000) -> Path:
    """The first `rows` rows of the real robbery export and one bad row after them."""
    lines = slice_lines(ROBBERY_EXPORT, rows + 1)
    assert len(lines) == rows + 1, "the export fixture is shorter than asked"
    bad = portal_row(
        **{"Offense ID": "77", "Report DateTime": "02/30/2020 01:00:00 PM"}
    )
    path = tmp_path / "upload.csv"
    path.write_bytes(b"".join(lines) + bad.encode() + b"\n")
    return path


@pytest.fixture
def staff_without_perms(db) -> User:
    return User.objects.create_user("clerk", password="pw-0123456789", is_staff=True)


@pytest.fixture
def plain_user(db) -> User:
    return User.objects.create_user("visitor", password="pw-0123456789")


@pytest.fixture
def a_run(db, tmp_path) -> ImportRun:
    return import_file(_upload(tmp_path, rows=20))


def _urls(run: ImportRun) -> list[str]:
    return [
        reverse(ADD),
        reverse("admin:crimes_importrun_changelist"),
        reverse("admin:crimes_importrun_change", args=[run.pk]),
        reverse("admin:crimes_importrun_status", args=[run.pk]),
        reverse("admin:crimes_importrun_rejects", args=[run.pk]),
        reverse("admin:crimes_incident_changelist"),
    ]


def test_anonymous_and_non_staff_get_the_login_page(client, plain_user, a_run):
    for user in (None, plain_user):
        if user:
            client.force_login(user)
        for url in _urls(a_run):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response.url.startswith(reverse("admin:login")), url
        response = client.post(reverse(ADD), {"upload": io.BytesIO(b"x")})
        assert response.status_code == 302
    assert ImportRun.objects.count() == 1


def test_staff_without_permission_is_refused(client, staff_without_perms, a_run):
    client.force_login(staff_without_perms)
    for url in _urls(a_run):
        assert client.get(url).status_code == 403, url


def test_staff_with_view_permission_sees_status_and_rejects(client, a_run):
    user = User.objects.create_user("viewer", password="pw-0123456789", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_importrun"))
    client.force_login(user)
    status = client.get(reverse("admin:crimes_importrun_status", args=[a_run.pk]))
    assert status.json()["status"] == "succeeded"
    assert client.get(reverse(ADD)).status_code == 403  # may look, not import


def test_upload_over_the_size_limit_is_refused_clearly(
    admin_client, settings, tmp_path
):
    settings.IMPORT_UPLOAD_MAX_BYTES = 1000
    path = _upload(tmp_path, rows=50)
    with open(path, "rb") as f:
        response = admin_client.post(reverse(ADD), {"upload": f})
    assert response.status_code == 200
    text = response.content.decode()
    assert "uploads are limited to" in text and "IMPORT_UPLOAD_MAX_BYTES" in text
    assert ImportRun.objects.count() == 0


def test_admin_pages_render(admin_client, a_run):
    for url in _urls(a_run):
        assert admin_client.get(url).status_code == 200, url
    page = admin_client.get(
        reverse("admin:crimes_importrun_change", args=[a_run.pk])
    ).content.decode()
    assert "Download 1 rows as CSV" in page
    incident = Incident.objects.first()
    assert (
        admin_client.get(
            reverse("admin:crimes_incident_change", args=[incident.pk])
        ).status_code
        == 200
    )
    assert admin_client.get(reverse("admin:crimes_area_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:crimes_incident_add")).status_code == 403


@pytest.mark.worker
def test_upload_is_imported_by_the_worker_end_to_end(
    transactional_db, celery_worker, client, tmp_path
):
    admin = User.objects.create_superuser("ops", "ops@example.com", "pw-0123456789")
    client.force_login(admin)
    path = _upload(tmp_path, rows=1000)
    with open(path, "rb") as f:
        response = client.post(reverse(ADD), {"upload": f, "dry_run": ""})
    run = ImportRun.objects.get()
    change_url = reverse("admin:crimes_importrun_change", args=[run.pk])
    assert response.status_code == 302 and response.url == change_url
    assert (run.source, run.file_name, run.created_by) == (
        "upload",
        "upload.csv",
        admin,
    )
    page = client.get(change_url).content.decode()
    status_url = reverse("admin:crimes_importrun_status", args=[run.pk])
    assert f'data-status-url="{status_url}"' in page
    assert "js/import_progress.js" in page

    def finished():
        data = client.get(status_url).json()
        return data if data["done"] else None

    status = wait_for(finished, timeout=90, message="the worker never finished")
    try:
        assert status["status"] == "succeeded", status["error"]
        assert status["progress"] == 1.0
        assert (status["rows_read"], status["inserted"], status["rejected"]) == (
            1001,
            1000,
            1,
        )
        assert Incident.objects.filter(source="upload").count() == 1000
        response = client.get(reverse("admin:crimes_importrun_rejects", args=[run.pk]))
        assert response["Content-Type"] == "text/csv"
        rows = list(
            csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))
        )
        assert rows[0] == ["line_number", "reason", "raw"]
        assert rows[1][:2] == [
            "1002",
            "bad report time '02/30/2020 01:00:00 PM': no such date 2020-02-30",
        ]
        final_page = client.get(change_url).content.decode()
        assert "Download 1 rows as CSV" in final_page
    finally:
        run.refresh_from_db()
        run.upload.delete(save=False)
