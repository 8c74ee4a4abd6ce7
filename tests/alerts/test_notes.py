"""The note before the window: planned from the real scoring on a stored forecast,
claimed once, delivered to a real SMTP server, its link opening the scored commute;
the calendar feed; the weekly digest; a late forecast told once."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from icalendar import Calendar

from alerts.models import SentNote, Subscription
from alerts.services import links, notes_text, planning, sending
from alerts.services.commute_scores import (
    DayScore,
    _day_score,
)
from core.local_time import SEATTLE
from tests.alerts.smtp import link, parts

pytestmark = pytest.mark.django_db

# Capitol Hill (Broadway & E Pine) to the University District, on foot.
START = [-122.3208, 47.6154]
END = [-122.3130, 47.6610]


def _sub(**over) -> Subscription:
    now = timezone.now()
    fields = {
        "email": "walker@example.org",
        "status": Subscription.Status.ACTIVE,
        "points": [START, END],
        "mode": "walk",
        "window_start": time(7, 0),
        "window_end": time(9, 0),
        "days": list(range(7)),
        "lead_minutes": 30,
        "confirmed_at": now,
        "renewed_at": now,
    }
    fields.update(over)
    return Subscription.objects.create(**fields)


def _tomorrow():
    return (timezone.now().astimezone(SEATTLE) + timedelta(days=1)).date()


def _plan_before(sub: Subscription, day, minutes: int = 1) -> dict:
    return planning.plan(planning.send_time(sub, day) - timedelta(minutes=minutes))


def _deliver(note: SentNote) -> None:
    SentNote.objects.filter(pk=note.pk).update(send_at=timezone.now())
    assert sending.send(note.pk).status == "sent"


def _api_best(client, day, mode="walk") -> dict:
    response = client.post(
        "/api/v1/commutes/score/",
        {
            "start": START,
            "end": END,
            "mode": mode,
            "window": {"start": "07:00", "end": "09:00", "days": [day.strftime("%a")]},
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.content[:500]
    return response.json()


def test_the_note_says_the_best_time_and_links_to_the_scored_commute(
    forecast_now, inbox, client, django_capture_on_commit_callbacks
):
    sub = _sub()
    day = _tomorrow()
    with django_capture_on_commit_callbacks(execute=False):
        counts = _plan_before(sub, day)
    assert counts["notes"] == 1 and counts["scored"] == 1
    note = SentNote.objects.get(subscription=sub, day=day)
    assert note.kind == SentNote.Kind.DAILY
    assert note.send_at == planning.send_time(sub, day)
    _deliver(note)

    [message] = inbox.wait(1)
    text, html = parts(message)
    expected = _api_best(client, day)
    best = {d["date"]: d for d in expected["departures"]["best_by_day"]}[
        day.isoformat()
    ]
    leave = datetime.fromisoformat(best["departure"])
    clock = f"{leave:%-I:%M %p}".replace("AM", "a.m.").replace("PM", "p.m.")
    assert f"Best time to leave: {clock}." in text
    assert message["Subject"].startswith(f"Leave at {clock} on foot")
    assert f"{day:%A} {day.day} {day:%B %Y}" in text
    # The safer way is told exactly when the page's alternative gains 10% or more.
    alternatives = [
        r for r in expected["routes"][1:] if 1 - r["vs_shortest"]["expected"] >= 0.10
    ]
    assert ("A safer way: via" in text) == bool(alternatives)
    # The commute page's words for the trip (the API's `words`), in both parts;
    # a missing reference leaves its sentence out, never a ratio to a "typical route".
    words = expected["routes"][0]["words"]
    assert words["one_in_n"] and words["one_in_n"] + "." in text
    assert words["one_in_n"] + "." in html
    if words["standing"]:
        assert f"-minute trip, {words['standing']}." in text
        assert f"-minute trip, {words['standing']}." in html
    else:
        assert "-minute trip. About" in text and "-minute trip. About" in html
    for part in (text, html):
        assert "typical route" not in part
    # Its link opens the commute page on that departure.
    commute = link(text, "/commute/")
    query = parse_qs(urlsplit(commute).query)
    assert query["depart"] == [leave.strftime("%Y-%m-%dT%H:%M")]
    assert query["mode"] == ["walk"] and query["start"] == ["47.61540,-122.32080"]
    assert commute.replace("&", "&amp;") in html
    # RFC 8058 one-click unsubscribe, and the data page.
    unsubscribe = links.url(sub, "unsubscribe")
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert links.url(sub, "manage") in text and links.url(sub, "manage") in html
    # No tracking: every link goes to this site, and no image is loaded.
    assert "<img" not in html


def test_beat_firing_twice_plans_each_note_once(
    forecast_now, django_capture_on_commit_callbacks
):
    sub = _sub()
    day = _tomorrow()
    with django_capture_on_commit_callbacks(execute=False):
        first = _plan_before(sub, day, minutes=2)
        second = _plan_before(sub, day, minutes=1)
    assert first["notes"] == 1
    assert second["notes"] == 0 and second["scored"] == 0
    assert SentNote.objects.filter(subscription=sub).count() == 1


def test_subscriptions_with_the_same_rounded_commute_share_one_score(
    forecast_now, django_capture_on_commit_callbacks
):
    from alerts.services.rounding import round_points

    near = [[START[0] + 0.0001, START[1]], END]  # 8 m away: the same 50 m node
    a = _sub(points=round_points([START, END]))
    _sub(points=round_points(near), email="b@example.org")
    _sub(
        points=round_points([START, END]), email="c@example.org", window_end=time(9, 30)
    )
    _sub(points=[START, [-122.3321, 47.6062]], email="d@example.org")
    with django_capture_on_commit_callbacks(execute=False):
        counts = _plan_before(a, _tomorrow())
    assert counts["notes"] == 4
    assert counts["scored"] == 2


def test_subscriptions_with_similar_routes_share_one_score(
    forecast_now, django_capture_on_commit_callbacks
):
    """Neighbours: a start 50 m up Broadway is another rounded point but meets the
    streets at the same junction (Broadway & E Pine), so the route is the same but
    for its first metres: one score. A start 450 m up is another route."""
    from alerts.services.commute_scores import ScoreBook
    from alerts.services.rounding import round_points

    up_the_street = [START[0], START[1] + 0.0006]
    further = [START[0], START[1] + 0.004]
    a = _sub(points=round_points([START, END]))
    b = _sub(points=round_points([up_the_street, END]), email="b@example.org")
    c = _sub(points=round_points([further, END]), email="c@example.org")
    assert a.points[0] != b.points[0]  # not the rounding: the route is shared
    book = ScoreBook()
    keys = [book.share_key(planning.key_of(s)) for s in (a, b, c)]
    assert keys[0] == keys[1] != keys[2]
    with django_capture_on_commit_callbacks(execute=False):
        counts = _plan_before(a, _tomorrow())
    assert (counts["notes"], counts["scored"]) == (3, 2)
    # Each note still says and links the subscriber's own commute.
    for sub in (a, b):
        note = SentNote.objects.get(subscription=sub)
        start = parse_qs(urlsplit(link(note.text, "/commute/")).query)["start"][0]
        assert start == f"{sub.points[0][1]:.5f},{sub.points[0][0]:.5f}"


def test_a_missing_forecast_is_told_once_not_once_a_day(
    forecast_now, django_capture_on_commit_callbacks
):
    sub = _sub()
    late = _tomorrow() + timedelta(days=9)  # beyond the stored week
    with django_capture_on_commit_callbacks(execute=False):
        assert _plan_before(sub, late)["notes"] == 1
        assert _plan_before(sub, late + timedelta(days=1))["notes"] == 0
        assert _plan_before(sub, late + timedelta(days=2))["already_told"] == 1
    assert list(SentNote.objects.values_list("kind", flat=True)) == ["no_forecast"]
    sub.refresh_from_db()
    assert sub.no_forecast_since == late
    # The forecast is back (a day it covers): a real note, and the flag is cleared.
    with django_capture_on_commit_callbacks(execute=False):
        assert _plan_before(sub, _tomorrow())["notes"] == 1
    sub.refresh_from_db()
    assert sub.no_forecast_since is None


def test_only_chosen_days_and_only_when_due(
    forecast_now, django_capture_on_commit_callbacks
):
    day = _tomorrow()
    other = [d for d in range(7) if d != day.weekday()]
    sub = _sub(days=other)
    with django_capture_on_commit_callbacks(execute=False):
        assert _plan_before(sub, day)["notes"] == 0
        mine = _sub(email="x@example.org", lead_minutes=90)
        # 2 hours before the window: not yet (the note is 90 minutes before).
        at = planning.send_time(mine, day) - timedelta(minutes=45)
        assert planning.plan(at)["notes"] == 0
        assert planning.plan(planning.send_time(mine, day))["notes"] == 1


def _payload(ratios, expected=0.3, timeline_expected=0.1):
    return {
        "depart": {"departure": "2026-12-08T08:00:00-08:00"},
        "forecast": {"forecast_run_id": 7},
        "timeline": [
            {"departure": f"2026-12-0{d}T08:00:00-08:00", "expected": timeline_expected}
            for d in range(2, 9)
        ],
        "routes": [
            {
                "duration_min": 20.0,
                "expected": expected,
                "relative_risk": 1.2,
                "words": {
                    "standing": "quieter than 70% of similar walks leaving at 8 am",
                    "one_in_n": "About 1 reported incident within 100 m of your way "
                    "in every 40 trips like this",
                },
                "vs_shortest": {"expected": 1.0},
                "streets": [],
                "comparison": None,
            },
            *[
                {
                    "duration_min": 25.0,
                    "expected": expected * r,
                    "relative_risk": 1.0,
                    "vs_shortest": {"expected": r},
                    "streets": [f"Street {i}"],
                    "comparison": f"c{i}",
                }
                for i, r in enumerate(ratios)
            ],
        ],
    }


def test_the_safer_way_needs_a_10_percent_gain_and_unusual_needs_1_5x():
    day = date(2026, 12, 8)
    score = _day_score(_payload([0.95, 0.85, 0.89]), day)
    assert isinstance(score, DayScore)
    assert score.alternative.streets == ["Street 1"]  # the largest gain
    assert round(score.alternative.gain, 2) == 0.15
    assert _day_score(_payload([0.91]), day).alternative is None
    # Usual at 08:00 = the week's mean at 08:00 (0.1); 0.3 is 3x: unusual.
    assert round(score.unusual, 1) == 3.0
    assert _day_score(_payload([], expected=0.14), day).unusual is None
    assert _day_score(_payload([], expected=0.15), day).unusual == pytest.approx(1.5)


def test_the_note_says_where_the_trip_stands_in_the_pages_words(settings):
    """The page's `standing` and `one_in_n` sentences, alike in text and HTML; without
    a reference for similar trips, that sentence is left out."""
    settings.SITE_URL = "http://testserver"
    sub = _sub()
    score = _day_score(_payload([]), date(2026, 12, 8))
    _, text, html = notes_text.daily(sub, score)
    said = (
        "A 20-minute trip, quieter than 70% of similar walks leaving at 8 am. "
        "About 1 reported incident within 100 m of your way in every 40 trips like "
        "this."
    )
    assert said in text and said in html
    bare = replace(score, standing=None)
    _, text, html = notes_text.daily(sub, bare)
    said = "A 20-minute trip. About 1 reported incident within 100 m"
    assert said in text and said in html
    for part in (text, html):
        assert "typical" not in part and "similar" not in part


def test_the_calendar_feed_holds_each_days_best_departure(forecast_now, client):
    sub = _sub(days=[0, 1, 2, 3, 4])
    response = client.get(links.url(sub, "calendar").removeprefix("http://testserver"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    events = list(cal.walk("VEVENT"))
    assert events
    weekdays = {e.decoded("dtstart").astimezone(SEATTLE).weekday() for e in events}
    assert weekdays <= {0, 1, 2, 3, 4}
    for event in events[:2]:
        start = event.decoded("dtstart").astimezone(SEATTLE)
        best = {
            d["date"]: d
            for d in _api_best(client, start.date())["departures"]["best_by_day"]
        }[start.date().isoformat()]
        assert start == datetime.fromisoformat(best["departure"])
        assert "/commute/?" in str(event.get("url"))
    assert "PT1H" in response.content.decode()
    altered = links.token(sub, "manage")
    assert client.get(f"/notes/calendar/{altered}.ics").status_code == 404


def test_the_weekly_digest_lists_the_days_ahead(
    forecast_now, inbox, django_capture_on_commit_callbacks
):
    sub = _sub(cadence=Subscription.Cadence.WEEKLY)
    local = timezone.now().astimezone(SEATTLE)
    sunday = local.date() + timedelta(days=(6 - local.weekday()) % 7)
    at = datetime.combine(sunday, planning.DIGEST_TIME, tzinfo=SEATTLE)
    with django_capture_on_commit_callbacks(execute=False):
        assert planning.plan(at - timedelta(minutes=1))["notes"] == 1
        assert planning.plan(at)["notes"] == 0
    note = SentNote.objects.get(subscription=sub)
    assert note.kind == SentNote.Kind.WEEKLY
    _deliver(note)
    [message] = inbox.wait(1)
    text, _ = parts(message)
    assert "the best time to leave each day" in text
    assert text.count("leave at") >= 1
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
