"""The commute page, server side and in the system Chromium."""

from __future__ import annotations

from urllib.parse import urlparse

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


def _chart_values(page) -> list:
    return page.evaluate(
        "Chart.getChart('timeline-chart').data.datasets[0].data.slice()"
    )


@pytest.mark.browser
def test_commute_page_in_browser(live_server, page, commute_data, artifacts_dir):
    requests, scored = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "response",
        lambda r: scored.append(r.json()) if "/commutes/score/" in r.url else None,
    )
    page.goto(live_server.url + "/commute/")
    page.wait_for_selector("#commute-map[data-ready='1']", timeout=15000)
    # The base map is the bundled streets: first the preview MapLibre drew once, then,
    # when a pointer reaches the map, MapLibre itself with the site's own tiles.
    assert page.get_attribute("#commute-map", "data-streets") == "preview"
    page.hover("#commute-map")
    page.wait_for_selector("#commute-map[data-streets='vector']", timeout=30000)
    assert "OpenStreetMap" in page.inner_text(".leaflet-control-attribution")
    # A street intersection from the network, typed as people write it.
    start = _pick(page, "start-input", "broadway & e pine")
    assert start == "BROADWAY / E PINE ST"
    # The destination by clicking the map: NE 45th St & University Way NE.
    point = page.evaluate(
        "() => { const p = window.commutePage.map.latLngToContainerPoint("
        "[47.6612, -122.3130]); return [p.x, p.y]; }"
    )
    page.select_option("#mode", "bike")
    page.locator("#commute-map").click(position={"x": point[0], "y": point[1]})
    page.wait_for_selector("#best-times li.best-time", timeout=15000)
    assert page.locator("#best-times li").count() == 3
    page.wait_for_function(
        "() => document.getElementById('timeline-chart').dataset.points === '168'"
    )

    # Several routes, drawn along the streets exactly as the API returned them.
    routes = int(page.get_attribute("#commute-map", "data-routes"))
    assert routes >= 2
    assert page.locator("#route-choices li").count() == routes
    api = [r["geometry"]["coordinates"] for r in scored[-1]["routes"]]
    drawn = page.evaluate("window.commutePage.drawnRoutes()")
    assert sorted(len(d) for d in drawn) == sorted(len(a) for a in api)
    for coords in api:
        assert any(
            all(
                abs(a[0] - b[0]) < 1e-9 and abs(a[1] - b[1]) < 1e-9
                for a, b in zip(coords, d, strict=True)
            )
            for d in drawn
            if len(d) == len(coords)
        )
    first = page.locator(".route-choice").nth(1).inner_text()
    # "+3 min, avoids the busiest blocks of Broadway" (or the percentages).
    assert " min" in first or "about the same time" in first, first
    assert "expected reported incidents" in first
    # Words against similar trips, not "x typical" against the city's average cell.
    summary = page.inner_text("#route-summary")
    assert "similar bike trips leaving at " in summary, summary
    assert "reported incident within 100 m of your way" in summary, summary
    assert "×" not in summary and "typical" not in summary
    assert "×" not in page.inner_text("#best-times")
    best_words = page.inner_text("#best-compare")
    assert best_words.startswith(("Leave at ", "Any time in your window")), best_words
    assert page.locator("#riskiest-table tbody tr").count() >= 1
    # Offense groups by their labels (crimes.names), not the source's capitals.
    first_group = page.locator("#riskiest-table tbody th").first.inner_text()
    assert first_group[:1].isupper() and not first_group.isupper(), first_group
    assert " between " in page.inner_text("#riskiest-summary")
    # The corridor's width as the API gives it (one constant, not the page's own).
    assert " within 100 m of it " in page.inner_text("#riskiest-summary")

    # Pick an alternative: the chart, the best times and the riskiest stretch follow.
    chart_before = _chart_values(page)
    best_before = page.locator("#best-times").inner_text()
    page.click(".route-choice[data-index='1']")
    page.wait_for_function(
        "() => document.getElementById('timeline-chart').dataset.route === '1'"
    )
    assert page.get_attribute("#commute-map", "data-pick") == "1"
    assert page.get_attribute(".route-choice[data-index='1']", "aria-pressed") == "true"
    assert _chart_values(page) != chart_before
    best = page.locator("#best-times").inner_text()
    assert best != best_before
    page.click(".view-toggle button[data-view='today']")
    assert page.get_attribute("#timeline-chart", "data-points") == "24"
    link = page.get_attribute("#share-link", "href")
    assert "start=" in link and "end=" in link and "mode=bike" in link
    assert "pick=1" in link
    page.screenshot(path=str(artifacts_dir / "commute.png"), full_page=True)

    # A link reopens the same routes with the same pick; recent commutes stay here.
    page.goto(live_server.url + link)
    page.wait_for_selector("#best-times li.best-time", timeout=15000)
    assert page.get_attribute("#commute-map", "data-pick") == "1"
    assert int(page.get_attribute("#commute-map", "data-routes")) == routes
    assert page.locator("#best-times").inner_text() == best
    assert page.input_value("#start-input") == start
    assert page.locator("#recent-list a").count() >= 1
    stored = page.evaluate("localStorage.getItem('crimepredict.recentCommutes')")
    assert "mode=bike" in stored

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts_dir / "commute-phone.png"), full_page=True)
    assert page.errors == []
    # Street tiles came from the site itself; no map view went anywhere else.
    assert any("/tiles/streets/" in url for url in requests)
    hosts = {urlparse(url).netloc for url in requests if url.startswith("http")}
    assert hosts == {urlparse(live_server.url).netloc}


@pytest.mark.browser
def test_places_typed_by_name_are_picked_and_scored(live_server, page, commute_data):
    page.goto(live_server.url + "/commute/")
    page.wait_for_selector("#commute-map[data-ready='1']", timeout=15000)
    page.fill("#start-input", "capitol hill")
    first = page.wait_for_selector("#start-options li")
    assert "Neighbourhood" in first.inner_text()
    page.keyboard.press("Enter")
    assert page.input_value("#start-input") == "Capitol Hill"
    assert _pick(page, "end-input", "space needle") == "Space Needle"
    page.wait_for_selector("#best-times li.best-time", timeout=20000)
    assert page.locator("#route-choices li").count() >= 1
    # A street found by its old name says so.
    page.fill("#via-input", "empire way")
    found = page.wait_for_selector("#via-options li")
    assert "Martin Luther King Jr Way" in found.inner_text()
    assert "(Empire Way S)" in found.inner_text()
    # A typo says nothing fits rather than nothing at all.
    page.fill("#via-input", "zyzzyva")
    page.wait_for_selector("#via-options li[aria-disabled='true']")
    assert "No match in Seattle" in page.inner_text("#via-options")
    # A click on the map adds a waypoint named by the reverse lookup.
    point = page.evaluate(
        "() => { const p = window.commutePage.map.latLngToContainerPoint("
        "[47.6153, -122.3208]); return [p.x, p.y]; }"
    )
    page.locator("#commute-map").click(position={"x": point[0], "y": point[1]})
    page.wait_for_function(
        "() => document.querySelector('#waypoint-list li')"
        " && /^(near|at|in) /.test(document.querySelector('#waypoint-list li')"
        ".textContent)",
        timeout=15000,
    )
