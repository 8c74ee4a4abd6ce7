"""Waypoints on the commute page keep their own names (issue 21): names were kept by
position, so removing a waypoint moved the next one's label onto the wrong point."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser_checks import LAPTOP, PHONE, axe_violations, horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

# Start and destination from a link (as the home page sends them), named.
COMMUTE = (
    "/commute/?start=47.60970,-122.33310&end=47.65530,-122.30350&mode=bike"
    "&sname=Downtown&ename=University+District"
)


def _add_waypoint(page, text: str) -> str:
    before = page.locator("#waypoint-list li").count()
    page.fill("#via-input", text)
    page.wait_for_selector("#via-options li[role='option']:not([aria-disabled])")
    page.keyboard.press("Enter")  # the first suggestion
    page.wait_for_function(
        "(n) => document.querySelectorAll('#waypoint-list li').length === n",
        arg=before + 1,
    )
    return page.locator("#waypoint-list li").last.inner_text()


def _via_points(page) -> list[str]:
    query = parse_qs(urlsplit(page.url).query)
    return query.get("via", [""])[0].split(";") if "via" in query else []


def test_removing_a_waypoint_leaves_the_others_their_names(
    browser, live_server, page, commute_data
):
    page.set_viewport_size(LAPTOP)
    page.goto(live_server.url + COMMUTE)
    page.wait_for_selector("#commute-map[data-ready='1']", timeout=15000)
    first = _add_waypoint(page, "capitol hill")
    second = _add_waypoint(page, "space needle")
    assert "Capitol Hill" in first and "Space Needle" in second
    both = _via_points(page)
    assert len(both) == 2

    page.click("#waypoint-list li:first-child button")
    page.wait_for_function(
        "() => document.querySelectorAll('#waypoint-list li').length === 1"
    )
    # The one left is the Space Needle, by its point and by its name.
    assert _via_points(page) == both[1:]
    left = page.locator("#waypoint-list li").inner_text()
    assert "Space Needle" in left and "Capitol Hill" not in left
    assert (
        page.get_attribute("#waypoint-list li button", "aria-label")
        == "Remove waypoint 1"
    )
    page.wait_for_selector("#best-times li.best-time", timeout=20000)
    assert axe_violations(page) == []
    assert horizontal_overflow(page) == 0

    assert page.errors == []

    # The link, opened on a phone: the scored commute with its one waypoint reads.
    phone = browser.new_context(viewport=PHONE).new_page()
    try:
        phone.goto(page.url)
        phone.wait_for_selector("#best-times li.best-time", timeout=20000)
        assert phone.locator("#waypoint-list li").count() == 1
        # Sideways scroll is checked on the form only: the scored results' cards
        # still widen to the riskiest table on a phone (the phone layout's own fix).
        assert phone.evaluate(
            "() => document.getElementById('commute-form')"
            ".getBoundingClientRect().right <= window.innerWidth"
        )
        assert axe_violations(phone) == []
    finally:
        phone.context.close()
