"""Every public page, on a laptop and on a phone: nothing leaves the host, no script
error, no sideways scroll, no serious or critical axe-core finding, tap targets of
44 px; with no data at all, and with data, a model and a scored commute."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from core.local_time import SEATTLE
from tests.browser_checks import (
    LAPTOP,
    PHONE,
    OffsiteRequests,
    axe_violations,
    covered,
    document_width,
    horizontal_overflow,
    small_tap_targets,
    wider_than_screen,
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
# Broadway & E Pine to NE 45th St & University Way NE by bike: several routes, a
# riskiest stretch with its table, the chart.
SCORED_COMMUTE = (
    "/commute/?start=47.61540,-122.32080&end=47.66120,-122.31300&mode=bike"
    "&sname=BROADWAY+/+E+PINE+ST&ename=UNIVERSITY+WAY+NE+/+NE+45TH+ST"
)
# A week that ended long ago, as with the bundled 2021 extract.
FORECAST_START = datetime(2021, 12, 27, 0, 0, tzinfo=SEATTLE)


def _check(page, live_server, path, viewport) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    offsite = OffsiteRequests(page, live_server.url)
    response = page.goto(live_server.url + path, wait_until="networkidle")
    assert response.status == 200, path
    if path == SCORED_COMMUTE:
        page.wait_for_selector("#best-times li.best-time", timeout=60000)
        page.wait_for_selector("#riskiest-table tbody tr", timeout=10000)
    assert offsite.urls == [], path
    assert errors == [], path
    assert horizontal_overflow(page) == 0, (path, wider_than_screen(page))
    assert document_width(page) <= viewport["width"], path
    assert small_tap_targets(page) == [], path
    assert axe_violations(page) == [], path


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "390"])
@pytest.mark.parametrize("path", PAGES)
def test_page_reads_on_every_screen(browser, live_server, path, viewport):
    context = browser.new_context(viewport=viewport)
    try:
        _check(context.new_page(), live_server, path, viewport)
    finally:
        context.close()


@pytest.fixture
def site_with_data(transactional_db):
    """Every fourth 2021 report, the street network and an old forecast week."""
    from tests.commutes.known_forecast import store_known_forecast
    from tests.reference_data import ensure_streets
    from tests.spd_rows import load_spd

    ensure_streets()
    load_spd(every=4)
    store_known_forecast(FORECAST_START, hours=168)


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390", "1366"])
def test_pages_with_data_and_a_scored_commute_read_on_every_screen(
    browser, live_server, site_with_data, viewport
):
    # One test per screen for all pages: the data is loaded once for them.
    for path in [*PAGES, SCORED_COMMUTE]:
        context = browser.new_context(viewport=viewport)
        try:
            _check(context.new_page(), live_server, path, viewport)
        finally:
            context.close()


def test_commute_form_is_above_the_fold_and_nothing_covers_its_buttons(
    browser, live_server, site_with_data
):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(live_server.url + SCORED_COMMUTE, wait_until="networkidle")
        # Before any scrolling: the start, the destination and the score button.
        for selector in ("#start-input", "#end-input", "#score-button"):
            box = page.locator(selector).bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (
                selector,
                box,
            )
        page.wait_for_selector("#best-times li.best-time", timeout=60000)
        for selector in ("#score-button", "#clear-button", ".route-choice"):
            assert covered(page, selector) == "", selector
        page.locator("#score-button").click(trial=True, timeout=5000)
    finally:
        context.close()


def test_history_counts_against_the_records_home_counts(
    browser, live_server, site_with_data
):
    from crimes.models import Incident

    loaded = f"{Incident.objects.count():,}"
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/", wait_until="networkidle")
        assert page.inner_text("#incident-count") == loaded
        page.goto(live_server.url + "/history/")
        page.wait_for_selector("#map[data-loading='0']", timeout=60000)
        result = page.inner_text("#result")
        # "4,367 of the 17,780 reports loaded: offenses from Fri 1 Jan 2021 to ..."
        assert f" of the {loaded} reports loaded: offenses from " in result
        assert re.search(
            r"from (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d+ \w{3} \d{4} to ", result
        )
        assert f"All {loaded} records are" in page.inner_text("#window-note")
    finally:
        context.close()
