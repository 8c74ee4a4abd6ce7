"""The area list and an area page in the system Chromium, on a laptop and a phone:
names people know, the outside group, per km² by default, the leading sentence.

Screenshots go to tests/artifacts; with UPDATE_SCREENSHOTS=1 the run imports all of
2021 (not every 20th row) and also writes small PNGs to docs/screenshots/.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest

from crimes.models import Area
from tests.browser_checks import (
    LAPTOP,
    PHONE,
    OffsiteRequests,
    axe_violations,
    horizontal_overflow,
)
from tests.spd_rows import delete_imported, incident_rows, load_spd

pytestmark = pytest.mark.browser
YEAR = "start=2021-01-01&end=2021-12-31"
UPDATE = os.environ.get("UPDATE_SCREENSHOTS") == "1"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENS = pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "390"])


@pytest.fixture
def loaded(transactional_db):
    """Committed 2021 rows the live server can see (every 20th, or all of them
    when the screenshots are being updated)."""
    yield incident_rows(load_spd(every=1 if UPDATE else 20))
    delete_imported()


def _open(browser, live_server, viewport, path):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.offsite = OffsiteRequests(page, live_server.url)
    response = page.goto(live_server.url + path)
    assert response.status == 200
    page.wait_for_selector(
        "body[data-history-ready='1']", state="attached", timeout=60000
    )
    return context, page


def _screenshot(page, name: str, artifacts_dir: Path) -> None:
    path = artifacts_dir / name
    page.screenshot(path=str(path))
    if UPDATE:
        from PIL import Image

        DOCS.mkdir(parents=True, exist_ok=True)
        # 64 colours keep a map and text readable at a fraction of the bytes.
        image = Image.open(path).convert("RGB").quantize(colors=64)
        image.save(DOCS / name, optimize=True)


def _checks(page) -> None:
    assert page.errors == []
    assert page.offsite.urls == []
    assert horizontal_overflow(page) == 0
    assert axe_violations(page) == []


@SCREENS
def test_area_list_names_areas_and_groups_what_is_outside(
    browser, live_server, loaded, viewport, artifacts_dir
):
    context, page = _open(browser, live_server, viewport, f"/history/?{YEAR}")
    try:
        page.wait_for_selector("#areas-table tbody.outside tr", timeout=30000)
        table = page.locator("#areas-table")
        links = table.locator("tbody:not(.outside) a")
        labels = links.all_inner_texts()
        beats = dict(
            Area.objects.filter(kind="beat", outside=False).values_list("label", "code")
        )
        assert sorted(labels) == sorted(beats)
        assert len(labels) == len(set(labels))
        assert not any(re.fullmatch(r"[A-Z]\d", label) for label in labels)
        # The code stays as secondary text and in the link.
        first = links.first
        code = beats[first.inner_text()]
        assert f"/history/area/beat/{code}/" in first.get_attribute("href")
        outside = table.locator("tbody.outside")
        text = outside.inner_text()
        assert "Outside a beat / location unknown" in text
        assert "beat 99 is a buffer strip" in text
        assert "Beat H3: Lake Washington (water)" in text
        assert "Location unknown (UNKNOWN)" in text
        # Densest first (to the unit the legend shows): the table follows the map.
        densities = [
            math.floor(float(v.replace(",", "")) + 0.5) if v != "–" else 0
            for v in table.locator(
                "tbody:not(.outside) td:nth-child(3)"
            ).all_inner_texts()
        ]
        assert densities == sorted(densities, reverse=True)
        options = page.eval_on_selector_all(
            "#f-group option", "os => os.map(o => o.textContent.trim())"
        )
        assert len(options) == len(set(options))
        _checks(page)
        name = "history-areas-{}.png".format(viewport["width"])
        page.locator("#areas-title").scroll_into_view_if_needed()
        _screenshot(page, name, artifacts_dir)

        # The beat map: per km² by default, raw counts when chosen; the legend says.
        if viewport["width"] == PHONE["width"]:
            page.click("#filters-panel summary")
        page.check("input[name=view][value=beat]")
        page.wait_for_function(
            "() => document.getElementById('map').dataset.cellSize === 'beat'"
            " && document.getElementById('map').dataset.loading === '0'",
            timeout=30000,
        )
        legend = page.locator("#legend strong")
        assert legend.inner_text() == "Reports per km² per year, by beat"
        page.check("input[name=measure][value=count]")
        page.wait_for_function(
            "() => document.querySelector('#legend strong').textContent"
            " === 'Reports per beat (raw counts)'",
            timeout=30000,
        )
        assert "measure=count" in page.url
        counts = [
            int(v.replace(",", ""))
            for v in table.locator(
                "tbody:not(.outside) td:nth-child(2)"
            ).all_inner_texts()
        ]
        assert counts == sorted(counts, reverse=True)
        _checks(page)
    finally:
        context.close()


@SCREENS
def test_area_page_leads_with_its_sentence_then_the_charts(
    browser, live_server, loaded, viewport, artifacts_dir
):
    area = Area.objects.get(kind="beat", code="K3")
    context, page = _open(
        browser, live_server, viewport, f"/history/area/beat/K3/?{YEAR}"
    )
    try:
        assert page.locator("h1").inner_text() == area.label
        sentence = page.locator("#area-sentence")
        text = sentence.inner_text()
        expected = sum(1 for r in loaded if r["beat"] == "K3")
        # All K3 rows are reported in 2021; a few started earlier.
        n = int(
            re.match(r"In 2021, ([\d,]+) reports in Beat K3, ", text)[1].replace(
                ",", ""
            )
        )
        assert 0.9 * expected <= n <= expected
        assert re.search(
            r"; busiest \w+day (mornings|afternoons|evenings|nights)\.$", text
        )
        box = sentence.bounding_box()
        assert box["y"] + box["height"] <= viewport["height"]  # on the first screen
        charts = page.locator(".charts").bounding_box()
        assert charts["y"] > box["y"]
        assert page.locator("#area-code").inner_text().endswith("K3")
        _checks(page)
        _screenshot(page, "area-page-{}.png".format(viewport["width"]), artifacts_dir)
    finally:
        context.close()
