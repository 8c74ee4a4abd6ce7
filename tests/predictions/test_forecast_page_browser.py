"""The forecast page in the system Chromium: slider, category, cell click, no errors."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.local_time import SEATTLE
from tests.predictions.conftest import ensure_grid, store_synthetic_week

pytestmark = [pytest.mark.browser]
START = datetime(2021, 12, 6, 0, 0, tzinfo=SEATTLE)


def test_forecast_page_slider_category_and_cell(
    live_server, transactional_db, page, artifacts_dir
):
    ensure_grid()
    store_synthetic_week(START)
    page.goto(live_server.url + "/forecast/")
    page.wait_for_selector('#map[data-forecast-ready="1"]', timeout=30000)
    assert "Forecast week: Mon 6 Dec 2021" in page.inner_text("#forecast-age")
    first = page.inner_text("#hour-label")
    assert "Dec" in first
    # Slider: hour 30 shows another hour, instantly (no new request needed).
    page.eval_on_selector(
        "#hour-slider",
        "el => { el.value = '30'; el.dispatchEvent(new Event('input')); }",
    )
    assert page.get_attribute("#map", "data-hour") == "30"
    assert page.inner_text("#hour-label") != first
    legend = page.inner_text("#legend-classes")
    assert "Top 1%" in legend and "per km² per hour" in legend
    # Play advances the hour.
    page.click("#play-button")
    page.wait_for_function(
        "() => document.getElementById('map').dataset.hour !== '30'", timeout=5000
    )
    page.click("#play-button")
    # Category switch loads that week once.
    page.select_option("#category-select", "person")
    page.wait_for_selector(
        '#map[data-category="person"][data-forecast-ready="1"]', timeout=20000
    )
    # Click 2nd Ave and Bell St: the panel names the place as people know it (its
    # neighbourhood), shows its week, and no cell id appears anywhere on the page.
    point = page.evaluate(
        "() => { const p = forecastPage.map.latLngToContainerPoint("
        "[47.6142, -122.3467]); return [p.x, p.y]; }"
    )
    page.locator("#map").click(position={"x": point[0], "y": point[1]})
    page.wait_for_selector('#cell-panel[data-ready="1"]', timeout=20000)
    assert "long-run level" in page.inner_text("#cell-drivers")
    assert page.inner_text("#cell-title").startswith("Belltown")
    assert "Cell" not in page.inner_text("#content")
    clicked = page.evaluate("forecastPage.cell")
    cell_id = str(page.evaluate(f"forecastPage.grid.ids[{clicked}]"))
    assert cell_id not in page.inner_text("body")
    page.screenshot(path=str(artifacts_dir / "forecast.png"))
    assert page.errors == []
    page.goto(live_server.url + "/model-card/")
    assert "Known limits" in page.inner_text("#limits")
    assert page.errors == []
