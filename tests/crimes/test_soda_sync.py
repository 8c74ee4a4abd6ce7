"""`sync_spd` against a local SODA look-alike serving a real JSON window (475 records
with offense starts on 2019-01-01 and 02, cut from an untouched SODA API response).

The server (http.server on 127.0.0.1, in a thread) implements what the sync uses:
`$where=report_datetime >= '...'`, `$order=report_datetime,offense_id`, `$limit`,
`$offset`, and can fail a request with 503 to test the retry.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command

from crimes.models import ImportRun, Incident
from crimes.services.importing import ImportFailed
from crimes.services.soda_sync import sync
from tests.data_files import SODA_WINDOW

pytestmark = pytest.mark.django_db
WHERE = re.compile(r"^report_datetime >= '([0-9T:.\-]+)'$")


class FakeSoda:
    def __init__(self, records: list[dict]):
        self.all = sorted(
            records, key=lambda r: (r["report_datetime"], int(r["offense_id"]))
        )
        self.published = self.all
        self.requests: list[dict] = []
        self.fail_next: list[int] = []  # statuses to answer before succeeding
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/resource/tazs-3rd5.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self):
        soda = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = {
                    k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()
                }
                soda.requests.append(query)
                if soda.fail_next:
                    self._send(soda.fail_next.pop(0), b'{"error": "try later"}')
                    return
                rows = soda.published
                if "$where" in query:
                    match = WHERE.match(query["$where"])
                    if not match:
                        self._send(400, b'{"error": "bad $where"}')
                        return
                    rows = [r for r in rows if r["report_datetime"] >= match[1]]
                assert query["$order"] == "report_datetime,offense_id"
                offset, limit = int(query["$offset"]), int(query["$limit"])
                self._send(200, json.dumps(rows[offset : offset + limit]).encode())

            def _send(self, status: int, body: bytes):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def records() -> list[dict]:
    return json.loads(SODA_WINDOW.read_text())


@pytest.fixture
def soda(records):
    server = FakeSoda(records)
    yield server
    server.close()


def test_sync_pages_through_everything_and_retries_a_503(soda, records):
    soda.fail_next = []
    pages_seen = []

    def on_page(offset, count):
        pages_seen.append((offset, count))
        if offset == 0:
            soda.fail_next.append(503)  # the second page fails once

    run = sync(base_url=soda.url, page_size=100, backoff_s=0.01, on_page=on_page)
    assert run.status == "succeeded", run.error
    assert run.source == "soda" and run.file_format == "soda_json"
    assert (run.rows_read, run.inserted, run.rejected) == (475, 475, 0)
    assert Incident.objects.filter(source="soda").count() == 475
    offsets = [int(q["$offset"]) for q in soda.requests]
    assert offsets == [0, 100, 100, 200, 300, 400]  # 100 asked twice
    assert pages_seen[-1] == (400, 75)
    assert all("$where" not in q for q in soda.requests)  # nothing stored yet


def test_sync_resumes_after_the_newest_stored_report_time(soda):
    cutoff = soda.all[300]["report_datetime"]
    soda.published = [r for r in soda.all if r["report_datetime"] < cutoff]
    first = sync(base_url=soda.url, page_size=100, backoff_s=0.01)
    assert first.inserted == len(soda.published) == 300
    newest_stored = max(r["report_datetime"] for r in soda.published)

    soda.published = soda.all  # the portal publishes the rest
    soda.requests.clear()
    second = sync(base_url=soda.url, page_size=100, backoff_s=0.01)
    assert soda.requests[0]["$where"] == f"report_datetime >= '{newest_stored}'"
    # Records reported in the newest stored second come back and are unchanged.
    same_second = sum(1 for r in soda.all if r["report_datetime"] == newest_stored)
    assert second.inserted == 475 - 300
    assert second.unchanged == same_second
    assert (second.updated, second.rejected) == (0, 0)
    assert Incident.objects.count() == 475


def test_sync_command_since_and_summary(soda, settings, capsys):
    settings.SODA_BASE_URL = soda.url
    call_command("sync_spd", "--since", "2019-06-01", "--page-size", "25")
    assert soda.requests[0]["$where"] == "report_datetime >= '2019-06-01T00:00:00.000'"
    expected = sum(1 for r in soda.all if r["report_datetime"] >= "2019-06-01")
    assert expected == 40  # reported months after they happened: two pages
    assert [q["$offset"] for q in soda.requests] == ["0", "25"]
    assert Incident.objects.count() == expected
    out, _ = capsys.readouterr()
    assert f"inserted                       {expected}" in out


def test_sync_gives_up_on_a_permanent_error_and_records_it(soda):
    soda.fail_next = [400]
    with pytest.raises(ImportFailed, match="refused the query: HTTP 400"):
        sync(base_url=soda.url, page_size=100, backoff_s=0.01)
    run = ImportRun.objects.get()
    assert run.status == "failed" and "HTTP 400" in run.error
    assert Incident.objects.count() == 0


def test_sync_gives_up_after_repeated_transient_errors(soda):
    soda.fail_next = [503, 429, 502]
    with pytest.raises(ImportFailed, match="gave up after 3 attempts"):
        sync(base_url=soda.url, page_size=100, retries=2, backoff_s=0.01)
    assert len(soda.requests) == 3
    assert Incident.objects.count() == 0


def test_sync_celery_task_runs_the_same_sync(soda, settings):
    from crimes.tasks import sync_spd

    settings.SODA_BASE_URL = soda.url
    result = sync_spd.apply(kwargs={"since": "2019-12-01T00:00:00"})
    run = ImportRun.objects.get()
    assert result.get() == f"import run {run.pk}: succeeded"
    assert (
        run.inserted
        == 27
        == sum(1 for r in soda.all if r["report_datetime"] >= "2019-12-01")
    )
