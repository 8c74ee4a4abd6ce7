"""The Content-Security-Policy header (core.csp): on every answer, with a nonce that
is new per request and the same one the templates get (tests/commutes/
test_csp_every_page.py loads every page under it in Chromium)."""

from __future__ import annotations

import re

import pytest

from core import csp

pytestmark = pytest.mark.django_db

ANSWERS = [
    "/",
    "/history/",
    "/commute/",
    "/model-card/",
    "/admin/login/",
    "/api/v1/docs/",
    "/api/v1/docs/?script=",
    "/api/v1/schema/",
    "/api/v1/meta/",
    "/api/v1/no-such-thing/",
    "/no-such-page/",
    "/history/area/beat/%00/",
    "/history/?start=%00",
]


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("path", ANSWERS)
def test_every_answer_carries_the_policy(client, path):
    policy = directives(client.get(path))
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    script = policy["script-src"].split()
    # 'self', and this request's nonce when the answer rendered a template.
    assert script[0] == "'self'" and all(s.startswith("'nonce-") for s in script[1:])
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["style-src"].split()[0] == "'self'"
    # ES modules and a service worker from the site itself are allowed.
    assert policy["worker-src"] == "'self' blob:" and policy["manifest-src"] == "'self'"


def test_the_nonce_is_new_per_request_and_the_one_templates_get(client):
    first, second = client.get("/api/v1/docs/"), client.get("/api/v1/docs/")
    nonces = [
        re.search(r"'nonce-([^']+)'", r["Content-Security-Policy"]).group(1)
        for r in (first, second)
    ]
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 22
    # drf-spectacular's page gets it through the site's context processor.
    assert f'<style nonce="{nonces[0]}">' in first.content.decode()
    assert "<script>" not in first.content.decode()


def test_an_answer_that_rendered_no_template_has_no_nonce(client):
    # So the API's fast path replays the view's own header, byte for byte.
    first, second = client.get("/api/v1/meta/"), client.get("/api/v1/meta/")
    assert "nonce-" not in first["Content-Security-Policy"]
    assert first["Content-Security-Policy"] == second["Content-Security-Policy"]
    assert "nonce-" in client.get("/history/")["Content-Security-Policy"]


def test_no_page_has_an_inline_script_without_the_nonce(client):
    for path in ["/", "/history/", "/forecast/", "/commute/", "/model-card/"]:
        html = client.get(path).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert (
                "src=" in tag or 'type="application/json"' in tag or "nonce=" in tag
            ), (path, tag)
        assert " style=" not in html, path


def test_a_tile_server_is_allowed_for_images_only(settings, client):
    settings.MAP_TILES_URL = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    policy = directives(client.get("/"))
    assert "https://*.tile.example.org" in policy["img-src"]
    assert "example" not in policy["script-src"] + policy["connect-src"]
    settings.MAP_TILES_URL = ""
    assert "example" not in client.get("/")["Content-Security-Policy"]
    assert csp.tiles_origin("") == ""
