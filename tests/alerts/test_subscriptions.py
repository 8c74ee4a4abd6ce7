"""Sign up, confirm, see and delete, unsubscribe: through the pages, with the emails
delivered to a real SMTP server and their links followed."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import SentNote, Subscription
from alerts.services import links, retention, sending
from ml.events import lonlat_to_utm
from tests.alerts.smtp import link, parts

pytestmark = pytest.mark.django_db

# Pioneer Square to Green Lake, as the commute page writes them (lat,lon).
QUERY = {
    "start": "47.60153,-122.33312",
    "end": "47.68004,-122.34047",
    "via": "47.64000,-122.32080",
    "mode": "bike",
    "from": "07:00",
    "to": "09:00",
    "days": "weekdays",
}


def _form(**over) -> dict:
    data = {
        "start": QUERY["start"],
        "end": QUERY["end"],
        "via": QUERY["via"],
        "mode": "bike",
        "window_from": "07:00",
        "window_to": "09:00",
        "days": ["0", "1", "2", "3", "4"],
        "lead_minutes": "30",
        "cadence": "daily",
        "email": "commuter@example.org",
    }
    data.update(over)
    return data


def _path(url: str) -> str:
    return urlsplit(url).path


def _send_queued(kind: str) -> SentNote:
    note = SentNote.objects.get(kind=kind)
    assert sending.send(note.pk).status == "sent"
    return note


def _subscribe(client: Client, django_capture_on_commit_callbacks, **over):
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/notes/new/", _form(**over))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def test_the_form_opens_from_the_commute_page_query(client):
    response = client.get("/notes/new/", QUERY)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="email"' in page
    assert 'value="47.60153,-122.33312"' in page
    # Weekdays ticked, the weekend not.
    assert 'value="0" id="id_days_0" checked' in page
    assert 'value="5" id="id_days_5" checked' not in page


def test_subscribe_confirm_by_email_then_see_and_delete(
    client, inbox, django_capture_on_commit_callbacks
):
    response = _subscribe(client, django_capture_on_commit_callbacks)
    assert client.get(response["Location"]).content.decode().count("Check your inbox")
    sub = Subscription.objects.get()
    assert sub.status == Subscription.Status.PENDING
    _send_queued("confirm")

    [message] = inbox.wait(1)
    assert message["To"] == "commuter@example.org"
    assert message["Subject"] == "Confirm your commute notes"
    text, html = parts(message)
    confirm = link(text, "/notes/confirm/")
    assert confirm in html
    # Not a note yet: nothing to unsubscribe from.
    assert message["List-Unsubscribe"] is None

    page = client.get(_path(confirm))
    assert page.status_code == 200
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.PENDING  # a GET changes nothing
    done = client.post(_path(confirm))
    assert done.status_code == 302
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.confirmed_at is not None

    data_page = client.get(done["Location"]).content.decode()
    assert "commuter@example.org" in data_page
    assert f"{sub.points[0][0]}, {sub.points[0][1]}" in data_page
    assert "Monday, Tuesday, Wednesday, Thursday, Friday" in data_page

    client.post(done["Location"])
    assert not Subscription.objects.exists()
    assert not SentNote.objects.exists()
    assert client.get(done["Location"]).status_code == 404


def test_points_are_stored_rounded_to_50_m(client, django_capture_on_commit_callbacks):
    _subscribe(client, django_capture_on_commit_callbacks)
    sub = Subscription.objects.get()
    lon, lat = np.array(sub.points).T
    x, y = lonlat_to_utm(lon, lat)
    assert np.allclose(x / 50, np.round(x / 50), atol=1e-3)
    assert np.allclose(y / 50, np.round(y / 50), atol=1e-3)
    given = [(-122.33312, 47.60153), (-122.3208, 47.64), (-122.34047, 47.68004)]
    gx, gy = lonlat_to_utm(*np.array(given).T)
    moved = np.hypot(x - gx, y - gy)
    assert (moved <= 36).all() and (moved > 0).any()
    assert sub.mode == "bike" and sub.days == [0, 1, 2, 3, 4]
    assert f"{sub.window_start:%H:%M}-{sub.window_end:%H:%M}" == "07:00-09:00"


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"start": ""}, "choose a start and a destination"),
        ({"end": "47.61000,-122.20000"}, "outside Seattle"),
        ({"mode": "jetpack"}, "unknown mode"),
        ({"window_from": "10:00", "window_to": "08:00"}, "before its start"),
        ({"days": []}, "choose at least one day"),
        ({"email": "not-an-address"}, "valid email"),
    ],
)
def test_a_bad_sign_up_says_what_is_wrong(client, over, words):
    response = client.post("/notes/new/", _form(**over))
    assert response.status_code in (200, 400)
    assert words in response.content.decode()
    assert not Subscription.objects.exists()


def test_one_address_cannot_be_flooded_with_confirmations(
    client, django_capture_on_commit_callbacks
):
    for _ in range(3):
        _subscribe(client, django_capture_on_commit_callbacks)
    response = client.post("/notes/new/", _form())
    assert "already has confirmation emails waiting" in response.content.decode()
    assert Subscription.objects.count() == 3


def _active(**over) -> Subscription:
    now = timezone.now()
    fields = {
        "email": "a@example.org",
        "status": Subscription.Status.ACTIVE,
        "points": [[-122.3331, 47.6015], [-122.3405, 47.68]],
        "mode": "walk",
        "window_start": "07:00",
        "window_end": "09:00",
        "days": [0, 1, 2, 3, 4],
        "confirmed_at": now,
        "renewed_at": now,
    }
    fields.update(over)
    return Subscription.objects.create(**fields)


def _note(sub, kind="daily", day=None, **over) -> SentNote:
    fields = {
        "subscription": sub,
        "day": day or timezone.localdate(),
        "kind": kind,
        "send_at": timezone.now(),
        "subject": "s",
        "text": "t",
        "html": "<p>h</p>",
    }
    fields.update(over)
    return SentNote.objects.create(**fields)


def test_one_click_unsubscribe_deletes_everything_without_a_csrf_token():
    sub = _active()
    _note(sub)
    other = _active(email="b@example.org")
    client = Client(enforce_csrf_checks=True)
    url = _path(links.url(sub, "unsubscribe"))
    assert client.get(url).status_code == 200
    assert Subscription.objects.filter(pk=sub.pk).exists()  # a GET changes nothing
    response = client.post(
        url,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not Subscription.objects.filter(pk=sub.pk).exists()
    assert not SentNote.objects.filter(subscription_id=sub.pk).exists()
    assert Subscription.objects.filter(pk=other.pk).exists()
    # A second click (or the mail app retrying) is still a success.
    assert (
        client.post(
            url,
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        ).status_code
        == 200
    )


def test_a_link_made_for_one_purpose_or_altered_is_refused(client):
    sub = _active()
    calendar_token = links.token(sub, "calendar")
    response = client.post(f"/notes/unsubscribe/{calendar_token}/")
    assert Subscription.objects.filter(pk=sub.pk).exists()
    manage = links.token(sub, "manage")
    altered = manage[:-2] + ("AA" if not manage.endswith("AA") else "BB")
    response = client.get(f"/notes/manage/{altered}/")
    assert response.status_code == 404
    assert "not one we made" in response.content.decode()
    assert client.get(f"/notes/manage/{manage}/").status_code == 200


def test_a_confirmation_link_expires_after_7_days(client, monkeypatch):
    import time

    sub = _active(status=Subscription.Status.PENDING, confirmed_at=None)
    url = _path(links.url(sub, "confirm"))
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 8 * 24 * 3600)
    response = client.post(url)
    assert response.status_code == 404
    assert "expired" in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.PENDING


def test_retention_asks_to_renew_then_deletes(
    client, inbox, django_capture_on_commit_callbacks
):
    now = timezone.now()
    fresh = _active(email="fresh@example.org")
    due = _active(email="due@example.org", renewed_at=now - timedelta(days=181))
    _active(email="gone@example.org", renewed_at=now - timedelta(days=195))
    stale = _active(email="stale@example.org", status=Subscription.Status.PENDING)
    Subscription.objects.filter(pk=stale.pk).update(created_at=now - timedelta(days=8))
    with django_capture_on_commit_callbacks(execute=False):
        counts = retention.apply()
    assert counts["renewals_asked"] == 1
    assert counts["not_renewed_deleted"] == 1
    assert counts["unconfirmed_deleted"] == 1
    assert set(Subscription.objects.values_list("email", flat=True)) == {
        "fresh@example.org",
        "due@example.org",
    }
    # Asked once, not once a day.
    with django_capture_on_commit_callbacks(execute=False):
        assert retention.apply()["renewals_asked"] == 0

    _send_queued("renew")
    [message] = inbox.wait(1)
    assert message["To"] == "due@example.org"
    text, _ = parts(message)
    renew = _path(link(text, "/notes/renew/"))
    assert "deleted on" in text
    client.post(renew)
    due.refresh_from_db()
    assert now - due.renewed_at < timedelta(minutes=1)
    assert fresh.pk  # untouched


def test_a_refused_send_is_retried_with_backoff_and_sent_once(inbox, settings):
    sub = _active()
    note = _note(sub)
    inbox.fail_next(1)
    first = sending.send(note.pk)
    assert first.status == "retry" and first.retry_in_s == settings.ALERTS_RETRY_BASE_S
    note.refresh_from_db()
    assert note.status == SentNote.Status.QUEUED and note.attempts == 1
    assert "451" in note.last_error
    # Not due yet: a send before the backoff is over does nothing.
    assert sending.send(note.pk).status == "skipped"
    SentNote.objects.filter(pk=note.pk).update(send_at=timezone.now())
    assert sending.send(note.pk).status == "sent"
    assert sending.send(note.pk).status == "skipped"
    assert len(inbox.wait(1)) == 1 and inbox.refused == 1
    note.refresh_from_db()
    assert note.status == SentNote.Status.SENT and note.attempts == 2


def test_a_permanent_refusal_is_not_retried(inbox):
    note = _note(_active())
    inbox.fail_next(1, "550 5.1.1 no such mailbox")
    assert sending.send(note.pk).status == "failed"
    note.refresh_from_db()
    assert note.status == SentNote.Status.FAILED and "550" in note.last_error
    assert sending.send(note.pk).status == "skipped"
    assert inbox.messages == []


def test_the_admin_lists_counts_not_addresses(admin_client):
    _active(email="secret-one@example.org")
    _active(email="secret-two@example.org", status=Subscription.Status.PENDING)
    page = admin_client.get("/admin/alerts/subscription/").content.decode()
    assert "2 subscriptions: 1 confirmed, 1 waiting for confirmation" in page
    assert "secret-" not in page
    note = _note(Subscription.objects.first(), status=SentNote.Status.FAILED)
    notes = admin_client.get("/admin/alerts/sentnote/?status__exact=failed")
    assert notes.status_code == 200
    assert "secret-" not in notes.content.decode()
    one = admin_client.get(f"/admin/alerts/sentnote/{note.pk}/change/")
    assert one.status_code == 200
    sub_page = admin_client.get(
        f"/admin/alerts/subscription/{note.subscription_id}/change/"
    )
    assert note.subscription.email in sub_page.content.decode()


def test_the_privacy_page_says_what_is_kept(client):
    page = client.get("/privacy/").content.decode()
    assert "rounded to about" in page and "180 days" in page
    assert "IP address" in page


def test_the_site_is_installable(client):
    from django.contrib.staticfiles import finders

    manifest = client.get("/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["start_url"] == "/commute/" and data["display"] == "standalone"
    sizes = {i["sizes"] for i in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/"))
    worker = client.get("/sw.js")
    assert worker["Content-Type"].startswith("text/javascript")
    body = worker.content.decode()
    assert '"/commute/"' in body and "/api/" in body
    page = client.get("/privacy/").content.decode()
    assert 'rel="manifest"' in page and "js/pwa.js" in page


def test_a_note_whose_worker_died_while_sending_is_never_sent_again(inbox):
    """Claimed (SENDING) by a worker that died: it may have reached the relay, so
    neither a redelivered task nor the planner sends it again."""
    from alerts.services import planning

    note = _note(_active(), status=SentNote.Status.SENDING, attempts=1)
    SentNote.objects.filter(pk=note.pk).update(
        send_at=timezone.now() - timedelta(hours=1)
    )
    assert sending.send(note.pk).status == "skipped"
    assert planning.requeue_stale(timezone.now()) == 0
    assert inbox.messages == []


def test_the_demo_mailbox_keeps_each_email_as_a_file(tmp_path, settings):
    from django.core.mail import send_mail

    from alerts.management.commands.notes_mailbox import serve
    from tests.localstack import free_port

    port = free_port()
    controller = serve(port, tmp_path / "mail")
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        send_mail("Hello", "body", "a@example.org", ["b@example.org"])
    finally:
        controller.stop()
    [kept] = (tmp_path / "mail").glob("*.eml")
    assert b"Subject: Hello" in kept.read_bytes()
