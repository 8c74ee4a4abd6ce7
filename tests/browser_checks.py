"""What every page must pass in the browser, on a laptop and on a phone.

- `axe_violations(page)`: axe-core (npm `axe-core`, installed by scripts/setup.sh from
  package-lock.json) run in the page; the serious and critical findings.
- `horizontal_overflow(page)`: CSS pixels the document is wider than the viewport.
- `OffsiteRequests`: every request the page makes to a host other than the site's.
- `small_tap_targets(page)`: controls a finger cannot hit (under 44 x 44 CSS px).
- `covered(page, selector)`: what sits on top of an element's centre, if anything.

axe is evaluated through the DevTools protocol, not a `<script>` tag, so the page's
Content-Security-Policy applies to the page's own scripts only and is still tested.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
BLOCKING_IMPACTS = ("serious", "critical")


@cache
def _axe_source() -> str:
    assert AXE_JS.exists(), (
        f"{AXE_JS} is missing: scripts/setup.sh installs it (npm ci, package-lock.json)"
    )
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page, impacts=BLOCKING_IMPACTS) -> list[str]:
    """axe-core's findings of the given impacts, one readable line each ([] = clean)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    results = page.evaluate(
        "async () => { const r = await axe.run(document,"
        " {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['nodes'])}"
        for v in results
        if v["impact"] in impacts
    ]


def horizontal_overflow(page) -> int:
    """CSS pixels the page is wider than its viewport (0 = no sideways scroll)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


TAP_PX = 44  # WCAG 2.5.5 (target size, enhanced)


def small_tap_targets(page) -> list[str]:
    """Buttons, fields, selects, summaries, the navigation and standalone links that
    are under 44 x 44 CSS px, one readable line each ([] = every one is big enough).

    Links inside running text are left out (WCAG 2.5.5's inline exception); a box or
    radio counts by its label when the label is the target a finger hits.
    """
    return page.evaluate(
        """(min) => {
        const out = [];
        const sel = 'button, select, summary, input:not([type=hidden]),'
          + ' nav a, a.notes-link, .actions a';
        for (const el of document.querySelectorAll(sel)) {
          const r = el.getBoundingClientRect();
          const style = getComputedStyle(el);
          if (!r.width || !r.height || style.visibility === 'hidden') continue;
          if (el.closest('.leaflet-control-attribution')) continue;
          let box = r;
          if (el.type === 'checkbox' || el.type === 'radio') {
            const label = el.closest('label')
              || (el.id && document.querySelector('label[for="' + el.id + '"]'));
            if (label) box = label.getBoundingClientRect();
            if (box.height >= min) continue;
          }
          if (box.height < min - 0.5 || box.width < min - 0.5) {
            const name = (el.id ? '#' + el.id : el.tagName.toLowerCase())
              + ' "' + (el.textContent || el.name || el.type || '').trim().slice(0, 24)
              + '"';
            out.push(name + ' ' + Math.round(box.width) + 'x' + Math.round(box.height));
          }
        }
        return out;
      }""",
        TAP_PX,
    )


def covered(page, selector: str) -> str:
    """'' when a tap on the element's centre reaches it (or something inside it);
    otherwise a description of what is on top. Scrolls the element into view."""
    page.locator(selector).first.scroll_into_view_if_needed()
    return page.evaluate(
        """(sel) => {
        const el = document.querySelector(sel);
        const r = el.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        const top = document.elementFromPoint(x, y);
        if (top && (top === el || el.contains(top))) return '';
        return top ? top.tagName + (top.id ? '#' + top.id : '')
          + (typeof top.className === 'string' ? '.' + top.className : '') : 'nothing';
      }""",
        selector,
    )


def wider_than_screen(page) -> list[str]:
    """The elements that reach past the viewport's right edge and are not clipped by
    a box that scrolls or hides its overflow (what makes a page scroll sideways)."""
    return page.evaluate(
        """() => {
        const W = document.documentElement.clientWidth, out = [];
        const clipped = (el) => {
          for (let p = el.parentElement; p && p !== document.body;
               p = p.parentElement) {
            if (getComputedStyle(p).overflowX !== 'visible') return true;
          }
          return false;
        };
        for (const el of document.querySelectorAll('body *')) {
          const r = el.getBoundingClientRect();
          // A box that fits can still spill its text (a long word) past the edge.
          const spill = getComputedStyle(el).overflowX === 'visible'
            ? Math.max(0, el.scrollWidth - el.clientWidth) : 0;
          if (r.width && r.right + spill > W + 0.5 && !clipped(el)) {
            out.push((el.id ? '#' + el.id : el.tagName.toLowerCase())
              + (typeof el.className === 'string' && el.className
                ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
              + ' to ' + Math.round(r.right + spill) + ' px');
          }
        }
        return out.slice(0, 8);
      }"""
    )


def document_width(page) -> int:
    """document.documentElement.scrollWidth: the page's width in CSS pixels."""
    return page.evaluate("() => document.documentElement.scrollWidth")


class OffsiteRequests:
    """Records every request a page makes to a host other than `site_url`'s.

    Attach before the first navigation:
    `offsite = OffsiteRequests(page, live_server.url)`;
    `offsite.urls` lists what left the host ([] = nothing did).
    """

    def __init__(self, page, site_url: str):
        self.host = urlsplit(site_url).netloc
        self.urls: list[str] = []
        page.on("request", self._record)

    def _record(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != self.host:
            self.urls.append(request.url)


# Registered before any of the page's scripts run (Playwright's init scripts go
# through the DevTools protocol, so the page's own policy does not block this one).
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} ` +
    `at ${e.sourceFile || document.location.pathname}:${e.lineNumber}`);
});
"""


class CspViolations:
    """Content-Security-Policy violations on a page: its securitypolicyviolation
    events and every console error (Chromium reports a refusal there too).

    Attach before the first navigation: `csp = CspViolations(page)`; after the page
    has done its work, `csp.seen(page)` lists them ([] = none).
    """

    def __init__(self, page):
        self.console: list[str] = []
        page.add_init_script(_CSP_LISTENER)
        page.on(
            "console",
            lambda msg: (
                self.console.append(f"console: {msg.text}")
                if msg.type == "error"
                else None
            ),
        )

    def seen(self, page) -> list[str]:
        events = page.evaluate("() => window.__cspViolations || []")
        return [f"event: {e}" for e in events] + self.console
