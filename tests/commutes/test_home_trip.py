"""The home page leads with the commute: "Where are you going?" opens the scored
commute, and its map shows this hour's busiest places from the active forecast."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser_checks import OffsiteRequests

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _pick(page, box: str, text: str) -> str:
    page.fill(f"#trip-{box}", text)
    page.wait_for_selector(f"#trip-{box}-options li")
    page.keyboard.press("Enter")
    return page.input_value(f"#trip-{box}")


def test_where_are_you_going_opens_the_scored_commute(live_server, page, commute_data):
    offsite = OffsiteRequests(page, live_server.url)
    page.goto(live_server.url + "/")
    assert page.inner_text("h1") == "Where are you going?"
    assert _pick(page, "start", "broadway & e pine") == "BROADWAY / E PINE ST"
    # The destination typed and not picked: the search's first answer is taken.
    page.fill("#trip-end", "university way ne / ne 45th")
    page.click("#trip-go")
    page.wait_for_url("**/commute/?*", timeout=15000)
    query = parse_qs(urlparse(page.url).query)
    assert query["sname"] == ["BROADWAY / E PINE ST"]
    lat, lon = map(float, query["start"][0].split(","))
    assert abs(lat - 47.615) < 0.003 and abs(lon + 122.321) < 0.003
    assert "45TH" in query["ename"][0]
    # The commute page scores it at once from the URL.
    page.wait_for_selector("#best-times li.best-time", timeout=30000)
    assert offsite.urls == []
    assert page.errors == []


def test_home_map_shows_this_hours_busiest_places(live_server, page, commute_data):
    page.goto(live_server.url + "/")
    page.wait_for_selector("#map[data-heat='1']", timeout=30000)
    # The forecast's hour said with its date and year, and the data's range too.
    when = page.inner_text("#busiest-when")
    assert "2021" in when and "expected in the whole city" in when
    # ... in the one way every page writes a day: "Mon 27 Dec 2021, 12:00 AM".
    day = r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} 2021, "
    assert re.search(day, when), when
    assert "Top 1%" in page.inner_text("#legend-classes")
    assert "per km² per hour" in page.inner_text("#legend-classes")
    assert "reported to the Seattle Police Department" in page.inner_text("#data-range")
    # Drawn at once on a canvas over the preview; into MapLibre, under its labels,
    # once someone reaches for the map.
    assert page.get_attribute("#map", "data-streets") == "preview"
    page.hover("#map")
    page.wait_for_selector("#map[data-streets='vector']", timeout=30000)
    page.wait_for_function(
        "() => CrimeMap.baseMap('map').querySourceFeatures('heat-4').length > 50",
        timeout=30000,
    )  # the city's 600 m squares are on the map


def test_an_empty_trip_says_what_is_missing(live_server, page):
    page.goto(live_server.url + "/")
    page.click("#trip-go")
    assert page.inner_text("#trip-error") == "Where do you start?"
    assert urlparse(page.url).path == "/"
