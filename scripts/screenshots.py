"""Screenshots of every public page at 1366 px and 390x844 into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000

Run against a site with data (make demo). Each page is shot once its map has drawn
(the base map's preview, or MapLibre where the page zoomed past it, and the heat
where there is one), in the system Chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
# (file name, path, what to wait for)
PAGES = [
    ("home", "/", "#map[data-heat='1']"),
    ("forecast", "/forecast/", "#map[data-forecast-ready='1']"),
    (
        "commute",
        "/commute/?start=47.61540,-122.32080&end=47.66120,-122.31300&mode=bike"
        "&sname=BROADWAY+/+E+PINE+ST&ename=UNIVERSITY+WAY+NE+/+NE+45TH+ST",
        "#best-times li.best-time",
    ),
    ("history", "/history/", "#map[data-loading='0']"),
    ("model-card", "/model-card/", "main"),
    ("privacy", "/privacy/", "main"),
    ("credits", "/credits/", "main"),
]
VIEWPORTS = {
    "1366": {"width": 1366, "height": 900},
    "390": {"width": 390, "height": 844},
}


def main(site: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for size, viewport in VIEWPORTS.items():
            for name, path, ready in PAGES:
                page = browser.new_page(viewport=viewport)
                page.goto(site + path)
                page.wait_for_selector(ready, timeout=60000)
                # What a visitor sees first: the base map's preview, or MapLibre
                # itself where the page zoomed past the preview (a route).
                page.wait_for_function(
                    "() => [...document.querySelectorAll('[data-streets]')].every("
                    "e => e.dataset.streets === 'preview' || (e.dataset.streets ="
                    "== 'vector' && CrimeMap.baseMap(e.id).areTilesLoaded()))",
                    timeout=60000,
                )
                if page.locator("#charts").count():
                    # History's charts draw when they come near the screen.
                    page.locator("#charts").scroll_into_view_if_needed()
                    page.wait_for_selector(
                        "body[data-charts-ready='1']", state="attached", timeout=60000
                    )
                    page.evaluate("() => window.scrollTo(0, 0)")
                page.wait_for_timeout(2500)  # the last tiles and labels
                shot = OUT / f"{name}-{size}.png"
                page.screenshot(path=str(shot), full_page=True)
                # 256 colours: a tenth of the bytes, and the legend's swatches kept.
                image = Image.open(shot).convert("RGB")
                image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
                    shot, optimize=True
                )
                page.close()
                sys.stdout.write(f"{name}-{size}.png\n")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000")
