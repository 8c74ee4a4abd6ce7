"""The history page in the system Chromium (Playwright), over real SPD rows."""

from __future__ import annotations

import csv
import io

import pytest

from core.local_time import SEATTLE
from crimes.models import Area
from tests.spd_rows import delete_imported, incident_rows, load_spd

pytestmark = pytest.mark.browser
URL = "/history/?start=2021-01-01&end=2021-12-31"


@pytest.fixture
def loaded(transactional_db, django_db_blocker):
    """Committed rows the live server can see; boundaries put back after the flush."""
    from django.conf import settings

    from crimes.boundaries import load_boundaries

    if not Area.objects.exists():
        load_boundaries(Area, settings.BOUNDARIES_DIR)
    yield incident_rows(load_spd(every=20))
    delete_imported()


@pytest.fixture(autouse=True, scope="module")
def _restore_boundaries(django_db_blocker):
    # The live server's transactional_db flushes every table after each test, the
    # migration's boundaries too; put them back for the tests that run after these.
    # Module scope: torn down after the last flush (a function-scoped fixture would
    # run before pytest-django's own teardown).
    yield
    from django.conf import settings

    from crimes.boundaries import load_boundaries

    with django_db_blocker.unblock():
        if not Area.objects.exists():
            load_boundaries(Area, settings.BOUNDARIES_DIR)


def wait_ready(page, query_part: str = ""):
    page.wait_for_function(
        "q => { const m = document.getElementById('map');"
        " return m.dataset.loading === '0' && (m.dataset.query || '').includes(q); }",
        arg=query_part,
        timeout=20000,
    )
    return page.locator("#map").get_attribute("data-total")


def set_and_change(page, selector: str, js: str):
    page.eval_on_selector(
        selector,
        "(el, js) => { (new Function('el', js))(el);"
        " el.dispatchEvent(new Event('change', {bubbles: true})); }",
        js,
    )


def test_history_page_filters_cells_and_export(
    live_server, page, loaded, artifacts_dir
):
    page.goto(live_server.url + URL)
    page.wait_for_selector(
        "body[data-history-ready='1']", state="attached", timeout=30000
    )
    total = wait_ready(page)
    assert int(total) > 3000
    assert int(page.locator("#map").get_attribute("data-cells")) > 50
    assert (
        "reported incidents, not all crime" in page.locator("#data-note").inner_text()
    )
    assert page.locator("#legend li").count() >= 3
    assert page.locator("#profile-table td").count() == 7 * 24
    page.screenshot(path=str(artifacts_dir / "history.png"), full_page=True)

    # Each filter changes the heat layer (its total) and the URL.
    seen = {total}
    steps = [
        ("input[name=category][value=person]", "el.checked = true", "category=person"),
        ("#f-group", "el.value = 'ASSAULT OFFENSES'", "group=ASSAULT"),
        ("#f-hour-from", "el.value = '8'", "hour_from=8"),
        ("input[name=dow][value=sat]", "el.checked = true", "dow=sat"),
        ("#f-start", "el.value = '2021-06-01'", "start=2021-06-01"),
    ]
    for selector, js, part in steps:
        set_and_change(page, selector, js)
        new_total = wait_ready(page, part)
        assert part in page.url
        assert new_total not in seen, f"{part} did not change the heat layer"
        seen.add(new_total)

    # A shared link reopens the same selection.
    shared = page.url
    page.goto(shared)
    assert wait_ready(page, "dow=sat") == new_total
    assert page.locator("input[name=dow][value=sat]").is_checked()

    # Beats choropleth.
    set_and_change(page, "input[name=view][value=beat]", "el.checked = true")
    page.wait_for_function(
        "() => document.getElementById('map').dataset.cellSize === 'beat'",
        timeout=20000,
    )
    assert "view=beat" in page.url
    set_and_change(page, "input[name=view][value=heat]", "el.checked = true")
    page.wait_for_function(
        "() => document.getElementById('map').dataset.cellSize !== 'beat'",
        timeout=20000,
    )

    # Back to a broad selection, click the busiest cell: popup with groups and chart.
    page.goto(live_server.url + URL)
    wait_ready(page)
    point = page.evaluate(
        """() => { const s = window.historyPage; let best = null;
        s.layer.eachLayer(l => {
          if (!best || l.cellCount > best.cellCount) best = l; });
        const p = s.map.latLngToContainerPoint(best.getCenter());
        return {x: p.x, y: p.y, id: best.cellId, n: best.cellCount}; }"""
    )
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_selector(".cell-popup[data-ready='1']", timeout=20000)
    popup = page.locator(".cell-popup")
    # Named as people know it (a place, or "This 600 m square"), never by a cell id.
    assert str(point["id"]) not in popup.inner_text()
    assert " m square" in popup.inner_text()
    assert popup.locator("canvas").count() == 1
    assert popup.locator("table.mini tr").count() >= 1
    page.wait_for_selector(".cell-popup ol.incidents li", timeout=20000)
    assert popup.locator("ol.incidents li").count() == min(5, point["n"])

    # Export the current selection (a small one): the file has exactly its rows.
    set_and_change(page, "#f-group", "el.value = 'ROBBERY'")
    wait_ready(page, "group=ROBBERY")
    expected = int(page.locator("#map").get_attribute("data-total"))
    with page.expect_download() as info:
        page.click("#export-csv")
    text = open(info.value.path(), encoding="utf-8").read()
    records = list(csv.DictReader(io.StringIO(text)))
    assert len(records) == expected > 0
    assert {r["offense_parent_group"] for r in records} == {"ROBBERY"}
    assert page.errors == []


def test_phone_layout(live_server, browser, loaded, artifacts_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server.url + URL)
    page.wait_for_selector(
        "body[data-history-ready='1']", state="attached", timeout=30000
    )
    # Filters fold away so the map is on the first screen; nothing scrolls sideways.
    assert page.locator("#filters-panel").get_attribute("open") is None
    map_box = page.locator("#map").bounding_box()
    assert map_box["width"] <= 390 and map_box["y"] < 844
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("#filters-panel summary")
    assert page.locator("#f-start").is_visible()
    page.screenshot(path=str(artifacts_dir / "history-phone.png"), full_page=True)
    assert errors == []
    context.close()


def test_area_page(live_server, page, loaded):
    page.goto(
        live_server.url + "/history/area/beat/K3/?start=2021-01-01&end=2021-12-31"
    )
    page.wait_for_selector(
        "body[data-history-ready='1']", state="attached", timeout=30000
    )
    wait_ready(page, "beat=K3")
    assert "K3" in page.locator("h1").inner_text()
    expected = sum(
        1
        for r in loaded
        if r["beat"] == "K3"
        and r["offense_start"]
        and r["offense_start"].astimezone(SEATTLE).year == 2021
    )
    assert int(page.locator("#map").get_attribute("data-total")) == expected
    assert page.locator("#trend-chart").is_visible()
    assert page.errors == []
