"""Every public page, on a laptop and on a phone: nothing leaves the host, no script
error, no sideways scroll, and no serious or critical axe-core finding."""

from __future__ import annotations

import pytest

from tests.browser_checks import (
    LAPTOP,
    PHONE,
    OffsiteRequests,
    axe_violations,
    horizontal_overflow,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    "/",
    "/history/",
    "/forecast/",
    "/commute/",
    "/model-card/",
    "/privacy/",
    "/credits/",
    "/notes/new/?start=47.61540,-122.32080&end=47.66100,-122.31300&mode=walk",
]


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "390"])
@pytest.mark.parametrize("path", PAGES)
def test_page_reads_on_every_screen(browser, live_server, path, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    offsite = OffsiteRequests(page, live_server.url)
    try:
        response = page.goto(live_server.url + path, wait_until="networkidle")
        assert response.status == 200
        assert offsite.urls == []
        assert errors == []
        assert horizontal_overflow(page) == 0
        assert axe_violations(page) == []
    finally:
        context.close()
