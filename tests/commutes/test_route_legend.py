"""The commute page's routes on the map and in the list (issue 19 item 4): each route
its own key, colour and dash, one legend, the list and the map picked together, and
a chart that marks the window and the best departure. And its "Today" is the
forecast's first day, named by its date when that is not today (item 6)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

URL = "/commute/?start=47.61540,-122.32080&end=47.66120,-122.31300&mode=bike"


def _wait_pick(page, index: str) -> None:
    page.wait_for_function(
        f"() => document.getElementById('commute-map').dataset.pick === '{index}'"
    )


def _styles(page) -> list[dict]:
    return page.evaluate("window.commutePage.routeStyles()")


def _chart_lines(page) -> list[list[str]]:
    """Each line of the departure chart: [label, colour]."""
    return page.evaluate(
        "() => Chart.getChart('timeline-chart').data.datasets"
        ".map(d => [d.label, d.borderColor])"
    )


def test_routes_keyed_coloured_and_picked_together(live_server, page, commute_data):
    scored = []
    page.on(
        "response",
        lambda r: scored.append(r.json()) if "/commutes/score/" in r.url else None,
    )
    page.goto(live_server.url + URL)
    page.wait_for_selector("#best-times li.best-time", timeout=30000)
    answer = scored[-1]
    n = len(answer["routes"])
    assert n >= 2
    # Each route its own colour and dash; the picked one (the shortest) on top, wider.
    styles = _styles(page)
    assert len(styles) == n
    assert len({s["color"] for s in styles}) == n
    assert len({str(s["dashArray"]) for s in styles}) == n
    assert styles[-1]["weight"] > max(s["weight"] for s in styles[:-1])
    shortest_colour = styles[-1]["color"]
    # Keys S, 1, 2 on the map, in the list and in the legend, alike.
    keys = page.locator(".route-choice .route-key").all_inner_texts()
    assert keys == ["S"] + [str(i) for i in range(1, n)]
    assert sorted(page.locator(".map-badge").all_inner_texts()) == sorted(keys)
    legend = page.inner_text("#map-legend")
    assert "S · Shortest by time" in legend and "1 · Alternative 1" in legend
    assert "Stretch to watch" in legend
    assert page.locator("#map-legend svg").count() == n

    # A click in the list highlights that route on the map ...
    page.click(".route-choice[data-index='1']")
    _wait_pick(page, "1")
    styles = _styles(page)
    assert styles[-1]["color"] != shortest_colour
    assert styles[-1]["weight"] > max(s["weight"] for s in styles[:-1])
    assert "picked" in page.get_attribute(".map-badge.route-key-1", "class")
    # ... and the chart follows it: its line in the route's colour, named by its key.
    assert _chart_lines(page)[0] == ["Route 1", styles[-1]["color"]]
    assert ["Route S (shortest)", shortest_colour] in _chart_lines(page)
    # ... and a click on the map's key picks it in the list.
    page.click(".map-badge.route-key-0")
    _wait_pick(page, "0")
    pressed = page.locator(".route-choice").evaluate_all(
        "bs => bs.map(b => b.getAttribute('aria-pressed'))"
    )
    assert pressed[:2] == ["true", "false"]
    assert _styles(page)[-1]["color"] == shortest_colour
    assert _chart_lines(page)[0] == ["Route S", shortest_colour]

    # The chart: the window's hours shaded, the best departure marked once.
    marks = page.evaluate(
        "() => Object.fromEntries(Chart.getChart('timeline-chart').data.datasets"
        ".map(d => [d.label.split(' (')[0], d.data.map(x => x !== null)]))"
    )
    departures = answer["routes"][0]["departures"]
    assert sum(marks["Your window"]) == departures["candidates"]
    assert sum(marks["Best time to leave"]) == 1
    timeline = [r["departure"] for r in answer["routes"][0]["timeline"]]
    best_at = timeline.index(departures["best"][0]["departure"])
    assert marks["Best time to leave"][best_at]
    assert marks["Your window"][best_at]

    # The forecast week is old: "Today" is its first day, by its date and year.
    assert (
        page.inner_text(".view-toggle button[data-view='today']") == "Mon 20 Dec 2021"
    )
    assert page.inner_text(".view-toggle button[data-view='tomorrow']") == (
        "Tue 21 Dec 2021"
    )
    assert "2021" in page.inner_text("#best-times")  # dates with their year
    assert page.errors == []
