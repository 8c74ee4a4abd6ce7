"""Every page under the Content-Security-Policy in the system Chromium: no violation.

Here, not in tests/, because a scored commute needs this folder's session data (the
streets, real 2021 rows, a forecast week and an active model), which also fills the
history, area, forecast and model card pages.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser_checks import CspViolations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMUTE = "/commute/?start=47.60970,-122.33310&end=47.65530,-122.30350&mode=bike"
# (path, a selector that shows the page has done its work)
PAGES = [
    ("/", "#map .leaflet-pane"),
    ("/history/?start=2021-01-01&end=2021-12-31", "#profile-table td"),
    ("/history/area/beat/K3/?start=2021-01-01&end=2021-12-31", "main"),
    ("/forecast/", "#map .leaflet-pane"),
    (COMMUTE, "#best-times li.best-time"),
    ("/model-card/", "main"),
    ("/admin/login/", "#login-form"),
    ("/api/v1/docs/", ".swagger-ui .info"),
]


def test_no_page_breaks_the_content_security_policy(browser, live_server, commute_data):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    found = {}
    try:
        for path, ready in PAGES:
            page = context.new_page()
            csp = CspViolations(page)
            failed: list[str] = []
            page.on(
                "response",
                lambda r, failed=failed: (
                    failed.append(f"HTTP {r.status} {r.url}")
                    if r.status >= 400
                    else None
                ),
            )
            response = page.goto(live_server.url + path, wait_until="networkidle")
            assert response.status == 200, path
            assert "nonce-" in response.headers["content-security-policy"], path
            try:
                page.wait_for_selector(ready, state="attached", timeout=20000)
                page.wait_for_load_state("networkidle")
            except PlaywrightTimeout:  # a blocked script: say what blocked it
                failed.append(f"never showed {ready}")
            if seen := csp.seen(page) + failed:
                found[path] = seen
            page.close()
    finally:
        context.close()
    assert found == {}
