"""Bodies in charsets the site does not read, NUL in paths and queries, chunked
bodies (core.charsets, core.request_text, core.json_body, core.request_limits).

Before: a Content-Type charset was looked up in Python's codec registry, so
``charset=bz2`` decompressed the body (794 bytes became 1.08 GB of text),
``rot13``/``zlib`` answered 500, any form in another charset was a 500 with a 68 KB
traceback, ``/history/area/beat/%00/`` a PostgreSQL DataError (500), and a chunked
body was read as empty.
"""

from __future__ import annotations

import bz2
import codecs
import json
import logging
import socket
import tracemalloc

import pytest

from tests import localstack
from tests.conftest import _database_url_for

pytestmark = pytest.mark.django_db

SCORE = "/api/v1/commutes/score/"
LOGIN = "/admin/login/"
# A field only a parsed body can name: the answer proves the text was decoded.
BAD_MODE = {"start": [-122.3331, 47.6097], "end": [-122.3035, 47.6553], "mode": "x"}
REGISTRY_ONLY = ["bz2", "zlib", "rot13", "base64", "hex", "uu", "quopri", "zip"]


def bomb(expanded: int) -> bytes:
    """bz2 of "[" and `expanded` spaces: a few hundred bytes (794 for 1.08 GB)."""
    compressor = bz2.BZ2Compressor(9)
    out = compressor.compress(b"[")
    chunk = b" " * 10_000_000
    for _ in range(expanded // len(chunk)):
        out += compressor.compress(chunk)
    return out + compressor.flush()


@pytest.fixture
def lookups(monkeypatch):
    """Every name codecs.lookup is asked for while the test runs (a spy: the real
    lookup still answers)."""
    seen: list[str] = []
    real = codecs.lookup

    def spy(name):
        seen.append(name)
        return real(name)

    monkeypatch.setattr(codecs, "lookup", spy)
    return seen


def post(client, path: str, body: bytes, content_type: str, **extra):
    # generic(): client.post() would re-encode the bytes in the named charset.
    return client.generic("POST", path, body, content_type=content_type, **extra)


@pytest.mark.parametrize("charset", REGISTRY_ONLY + ["latin-1", "cp1252", "utf-7"])
def test_a_json_body_in_another_charset_is_a_415_naming_it(client, lookups, charset):
    response = post(client, SCORE, b"{}", f"application/json; charset={charset}")
    assert response.status_code == 415, response.content
    body = response.json()
    assert body["code"] == "unsupported_media_type" and body["parameter"] is None
    assert repr(charset) in body["detail"] and "UTF-8" in body["detail"]
    assert charset not in [str(name).lower() for name in lookups]


def test_a_bz2_bomb_is_refused_without_being_expanded(client):
    body = bomb(100_000_000)
    assert len(body) < 200
    tracemalloc.start()
    try:
        response = post(client, SCORE, body, "application/json; charset=bz2")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 415
    assert peak < 20_000_000, f"{peak / 1e6:.0f} MB while refusing {len(body)} bytes"


@pytest.mark.parametrize("charset", ["bz2", "rot13", "utf-16"])
def test_a_get_with_an_odd_charset_header_still_reads_its_query_as_utf8(
    client, lookups, charset
):
    response = client.get(
        "/api/v1/places/",
        {"q": "pine", "limit": "٣"},
        CONTENT_TYPE=f"text/plain; charset={charset}",
    )
    body = response.json()
    assert response.status_code == 400 and body["parameter"] == "limit", body
    assert charset not in lookups


@pytest.mark.parametrize(
    ("charset", "encoded"),
    [
        (None, codecs.BOM_UTF16_LE + json.dumps(BAD_MODE).encode("utf-16-le")),
        ("utf-16", codecs.BOM_UTF16_BE + json.dumps(BAD_MODE).encode("utf-16-be")),
        ("UTF-32", codecs.BOM_UTF32_LE + json.dumps(BAD_MODE).encode("utf-32-le")),
        ("utf-8", codecs.BOM_UTF8 + json.dumps(BAD_MODE).encode()),
        ("utf8", json.dumps(BAD_MODE).encode()),
    ],
)
def test_json_in_utf8_or_utf16_32_with_a_bom_is_read(client, charset, encoded):
    content_type = "application/json" + (f"; charset={charset}" if charset else "")
    response = post(client, SCORE, encoded, content_type)
    body = response.json()
    assert response.status_code == 400 and body["parameter"] == "mode", body


@pytest.mark.parametrize(
    ("charset", "encoded", "says"),
    [
        ("utf-16", json.dumps(BAD_MODE).encode("utf-16-le"), "byte order mark"),
        ("utf-32", json.dumps(BAD_MODE).encode("utf-8"), "byte order mark"),
        ("utf-8", codecs.BOM_UTF16_LE + "{}".encode("utf-16-le"), "not utf-8"),
        (None, '{"mode": "caf\xe9"}'.encode("latin-1"), "utf-8"),
    ],
)
def test_json_not_in_its_charset_is_a_400_saying_so(client, charset, encoded, says):
    content_type = "application/json" + (f"; charset={charset}" if charset else "")
    response = post(client, SCORE, encoded, content_type)
    body = response.json()
    assert response.status_code == 400 and body["code"] == "malformed_body", body
    assert says in body["detail"]


@pytest.mark.parametrize("charset", ["utf-16", "latin-1", "bz2", "rot13"])
@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=b"],
)
def test_a_form_in_another_charset_is_a_400_page_logged_in_one_line(
    client, caplog, lookups, charset, content_type
):
    form = "username=a&password=b".encode("utf-16" if charset == "utf-16" else "ascii")
    with caplog.at_level(logging.INFO):
        response = post(client, LOGIN, form, f"{content_type}; charset={charset}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"UTF-8" in response.content and charset.encode() in response.content
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None and len(records[0].getMessage()) < 200
    assert charset not in lookups


def test_a_form_in_utf8_still_reaches_the_login_form(client):
    response = post(
        client,
        LOGIN,
        b"username=a&password=b",
        "application/x-www-form-urlencoded; charset=UTF-8",
    )
    # Read and checked: the login form answers, with the wrong password.
    assert response.status_code == 200
    assert b"enter the correct username and password" in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/history/area/beat/%00/",
        "/history/area/beat/K1%00/",
        "/history/area/neighborhood/a%00b/",
        "/forecast/%00",
        "/history/area/beat/%01/",
    ],
)
def test_a_nul_or_control_character_in_a_page_path_is_a_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/areas/%00/", "/api/v1/%00"])
def test_a_nul_in_an_api_path_is_a_404_in_the_error_format(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/history/", "start=%00", "start"),
        ("/forecast/", "when=2021%00", "when"),
        ("/commute/", "from=a%00b", "from"),
        ("/history/area/beat/K1/", "end=x%00", "end"),
    ],
)
def test_a_nul_in_a_page_query_is_a_400_page_naming_it(client, path, query, name):
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert f"{name}: a NUL character".encode() in response.content


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/api/v1/forecasts/", "format=%00", "format"),
        ("/api/v1/models/", "x=%00", "x"),
        ("/api/v1/meta/", "a=1&b=%00", "b"),
    ],
)
def test_a_nul_in_an_api_query_is_a_400_naming_it(client, path, query, name):
    response = client.get(f"{path}?{query}")
    body = response.json()
    assert response.status_code == 400 and body["parameter"] == name, body


# --- chunked bodies, through gunicorn (the test client always sends a length) ------


@pytest.fixture(scope="module")
def web(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings

    tmp = tmp_path_factory.mktemp("request-text")
    env = localstack.site_env(
        _database_url_for(settings.DATABASES["default"]["NAME"]),
        settings.REDIS_URL,
        API_ANON_RATE="100000/minute",
        LOG_LEVEL="WARNING",
    )
    port = localstack.free_port()
    proc = localstack.gunicorn(env, port, tmp / "web.log", workers=1)
    yield port
    proc.stop()


def raw_request(port: int, head: str, body: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"


def test_a_chunked_json_body_is_a_411_not_read_as_empty(web):
    answer = raw_request(
        web,
        f"POST {SCORE} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
        "Transfer-Encoding: chunked\nConnection: close\n",
        chunked(json.dumps(BAD_MODE).encode()),
    )
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 411 " in status_line, answer[:300]
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["code"] == "length_required" and "Content-Length" in body["detail"]


def test_a_chunked_form_is_a_411(web):
    answer = raw_request(
        web,
        f"POST {LOGIN} HTTP/1.1\nHost: 127.0.0.1\n"
        "Content-Type: application/x-www-form-urlencoded\n"
        "Transfer-Encoding: chunked\nConnection: close\n",
        chunked(b"username=a&password=b"),
    )
    assert b" 411 " in answer.partition(b"\r\n")[0], answer[:300]


def test_a_bz2_bomb_through_gunicorn_is_a_415(web):
    body = bomb(100_000_000)
    answer = raw_request(
        web,
        f"POST {SCORE} HTTP/1.1\nHost: 127.0.0.1\n"
        "Content-Type: application/json; charset=bz2\n"
        f"Content-Length: {len(body)}\nConnection: close\n",
        body,
    )
    assert b" 415 " in answer.partition(b"\r\n")[0], answer[:300]
