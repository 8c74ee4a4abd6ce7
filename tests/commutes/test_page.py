"""The commute page, server side and in the system Chromium."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_commute_page_renders_and_is_in_the_nav(client):
    response = client.get("/commute/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="commute-map"' in body
    assert "reported incidents" in body
    assert "safety grade" not in body.lower()
    assert 'href="/commute/"' in client.get("/").content.decode()


def _pick(page, input_id: str, text: str) -> str:
    page.fill(f"#{input_id}", text)
    page.wait_for_selector(f"#{input_id.replace('input', 'options')} li")
    page.keyboard.press("Enter")  # the first suggestion is active: keyboard-usable
    return page.input_value(f"#{input_id}")


@pytest.mark.browser
def test_commute_page_in_browser(live_server, page, commute_data, artifacts_dir):
    page.goto(live_server.url + "/commute/")
    page.wait_for_selector("#commute-map[data-ready='1']", timeout=15000)
    start = _pick(page, "start-input", "e pine")
    assert "E PINE" in start
    # The destination by clicking the map: the UW campus (NE 45th St & 15th Ave NE).
    point = page.evaluate(
        "() => { const p = window.commutePage.map.latLngToContainerPoint("
        "[47.6612, -122.3126]); return [p.x, p.y]; }"
    )
    page.select_option("#mode", "bike")
    page.locator("#commute-map").click(position={"x": point[0], "y": point[1]})
    page.wait_for_selector("#best-times li.best-time", timeout=15000)
    assert page.locator("#best-times li").count() == 3
    page.wait_for_function(
        "document.getElementById('timeline-chart').dataset.points === '168'"
    )
    assert page.locator("#riskiest-table tbody tr").count() >= 1
    assert page.get_attribute("#commute-map", "data-riskiest").isdigit()
    page.click(".view-toggle button[data-view='today']")
    assert page.get_attribute("#timeline-chart", "data-points") == "24"
    best = page.locator("#best-times").inner_text()
    link = page.get_attribute("#share-link", "href")
    assert "start=" in link and "end=" in link and "mode=bike" in link
    page.screenshot(path=str(artifacts_dir / "commute.png"), full_page=True)

    # A link reopens the same commute; the recent list lives in this browser only.
    page.goto(live_server.url + link)
    page.wait_for_selector("#best-times li.best-time", timeout=15000)
    assert page.locator("#best-times").inner_text() == best
    assert page.input_value("#start-input") == start
    assert page.locator("#recent-list a").count() >= 1
    stored = page.evaluate("localStorage.getItem('crimepredict.recentCommutes')")
    assert "mode=bike" in stored

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts_dir / "commute-phone.png"), full_page=True)
    assert page.errors == []
