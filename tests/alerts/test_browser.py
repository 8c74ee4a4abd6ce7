"""In Chromium, as a commuter would: sign up from the commute's page, confirm from
the email, get the note (planned as beat plans it, sent by the real worker through
the real SMTP server), open its link on the scored commute, read the calendar feed,
and leave with one click."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.utils import timezone
from icalendar import Calendar

from alerts.models import SentNote, Subscription
from alerts.services import planning
from core.local_time import SEATTLE
from tests.alerts.smtp import link, parts
from tests.browser_checks import (
    PHONE,
    OffsiteRequests,
    axe_violations,
    horizontal_overflow,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


def _on(live_server, url: str) -> str:
    """The worker writes links for SITE_URL (http://testserver): the same path here."""
    parts_ = urlsplit(url)
    return live_server.url + parts_.path + (f"?{parts_.query}" if parts_.query else "")


def _check(page, live_server) -> None:
    assert horizontal_overflow(page) == 0
    assert axe_violations(page) == []


def test_subscribe_confirm_note_link_calendar_and_one_click_unsubscribe(
    browser, live_server, celery_worker, forecast_now, inbox, artifacts_dir
):
    local = timezone.now().astimezone(SEATTLE)
    start = local + timedelta(minutes=29)  # so the note (30 min before) is due now
    end = min(start + timedelta(hours=3), start.replace(hour=23, minute=59))
    if start.date() != local.date() or start.hour + 1 > end.hour:
        pytest.skip("too close to midnight in Seattle for a window today")
    query = {
        "start": "47.61540,-122.32080",
        "end": "47.66100,-122.31300",
        "mode": "walk",
        "from": f"{start:%H:%M}",
        "to": f"{end:%H:%M}",
        "days": "all",
        "sname": "Broadway & E Pine St",
    }
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    offsite = OffsiteRequests(page, live_server.url)
    try:
        page.goto(f"{live_server.url}/notes/new/?{urlencode(query)}")
        assert "Broadway & E Pine St" in page.inner_text("main")
        _check(page, live_server)
        # Installable: the service worker runs for the whole site.
        scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
        assert scope == live_server.url + "/"
        page.screenshot(path=artifacts_dir / "notes-subscribe-390.png", full_page=True)
        page.fill("#id_email", "phone@example.org")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Check your inbox")
        assert Subscription.objects.get().status == Subscription.Status.PENDING

        [confirmation] = inbox.wait(1, timeout=90)
        text, _ = parts(confirmation)
        page.goto(_on(live_server, link(text, "/notes/confirm/")))
        page.click("text=Yes, send me the notes")
        page.wait_for_selector("h1:has-text('Your data')")
        _check(page, live_server)
        assert "phone@example.org" in page.inner_text("main")
        page.screenshot(path=artifacts_dir / "notes-data-390.png", full_page=True)
        calendar_url = page.get_attribute(".feed a", "href")
        sub = Subscription.objects.get()
        assert sub.status == Subscription.Status.ACTIVE

        counts = planning.plan()  # what beat runs every few minutes
        assert counts["notes"] == 1, counts
        messages = inbox.wait(2, timeout=120)
        note = messages[1]
        assert note["Subject"].startswith("Leave at")
        text, _ = parts(note)
        commute = link(text, "/commute/")
        depart = parse_qs(urlsplit(commute).query)["depart"][0]

        # The note's link opens the commute page, scored for that departure.
        with page.expect_request("**/api/v1/commutes/score/") as scored:
            page.goto(_on(live_server, commute))
        assert json.loads(scored.value.post_data)["depart"] == depart
        page.wait_for_selector("#results:not([hidden])", timeout=60_000)
        assert "expected" in page.inner_text("#best-times")
        page.screenshot(path=artifacts_dir / "notes-commute-390.png", full_page=True)

        # The calendar feed parses and holds that departure on that day.
        feed = page.request.get(_on(live_server, calendar_url))
        assert feed.ok and feed.headers["content-type"].startswith("text/calendar")
        events = Calendar.from_ical(feed.body()).walk("VEVENT")
        leave = datetime.fromisoformat(depart).replace(tzinfo=SEATTLE)
        starts = [e.decoded("dtstart").astimezone(SEATTLE) for e in events]
        assert leave in starts

        # One click (RFC 8058: a POST of List-Unsubscribe=One-Click, no cookie).
        target = note["List-Unsubscribe"].strip().strip("<>")
        assert note["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        gone = page.request.post(
            _on(live_server, target),
            data="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert gone.ok
        assert not Subscription.objects.exists()
        assert not SentNote.objects.exists()
        page.goto(_on(live_server, calendar_url))
        assert page.request.get(_on(live_server, calendar_url)).status == 404
        assert offsite.urls == []
        assert errors == []
    finally:
        context.close()
