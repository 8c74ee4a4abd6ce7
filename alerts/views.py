"""Pages of the commute notes: sign up, confirm, see and delete my data, unsubscribe,
renew, the privacy page. Server-rendered forms, no script: every state change is a
POST (a link scanner that fetches a link changes nothing), except that the
unsubscribe POST needs no CSRF token, as RFC 8058's one-click unsubscribe asks."""

from __future__ import annotations

import hashlib
import json

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from alerts.forms import DAY_NAMES, SubscribeForm
from alerts.models import Subscription
from alerts.services import calendar, links, retention
from alerts.services import subscriptions as subs
from commutes.services.routes import RouteError


def _bad_link(request, exc: links.BadLink) -> HttpResponse:
    return render(request, "alerts/bad_link.html", {"reason": str(exc)}, status=404)


def _commute_fields(params) -> dict:
    return {k: params.get(k, "") for k in ("start", "end", "via", "mode")}


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request):
    source = request.POST if request.method == "POST" else request.GET
    route = _commute_fields(source)
    error = None
    commute = None
    try:
        # A POST's window and days are the form's, checked below.
        commute = subs.parse_commute(source if request.method != "POST" else route)
    except RouteError as exc:
        error = exc.message
    if request.method == "POST":
        form = SubscribeForm(request.POST)
        if form.is_valid() and commute is not None:
            data = form.cleaned_data
            try:
                commute = subs.parse_commute(
                    {
                        **route,
                        "from": f"{data['window_from']:%H:%M}",
                        "to": f"{data['window_to']:%H:%M}",
                    },
                    days=data["days"],
                )
                subs.subscribe(
                    data["email"], commute, data["lead_minutes"], data["cadence"]
                )
            except RouteError as exc:
                form.add_error(None, exc.message)
            except subs.TooManyPending as exc:
                form.add_error("email", str(exc))
            else:
                return redirect(reverse("alerts:new") + "?sent=1")
    elif request.GET.get("sent"):
        return render(request, "alerts/check_inbox.html")
    else:
        form = SubscribeForm(
            initial={
                "window_from": commute.start if commute else "07:00",
                "window_to": commute.end if commute else "09:00",
                "days": commute.days if commute else [0, 1, 2, 3, 4],
            }
        )
    return render(
        request,
        "alerts/subscribe.html",
        {
            "form": form,
            "route": route,
            "route_error": error,
            "commute": commute,
            "names": {k: source.get(k, "") for k in ("sname", "ename")},
        },
        status=400 if error and request.method == "POST" else 200,
    )


def _with_link(purpose: str):
    def decorator(view):
        def wrapped(request, token: str):
            try:
                sub = links.subscription_for(token, purpose)
            except links.BadLink as exc:
                return _bad_link(request, exc)
            return view(request, sub, token)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return decorator


@require_http_methods(["GET", "HEAD", "POST"])
@_with_link("confirm")
def confirm(request, sub: Subscription, token: str):
    if request.method == "POST":
        subs.confirm(sub)
        return redirect("alerts:manage", links.token(sub, "manage"))
    return render(request, "alerts/confirm.html", {"sub": sub})


@require_http_methods(["GET", "HEAD", "POST"])
@_with_link("manage")
def manage(request, sub: Subscription, token: str):
    """See and delete my data: everything stored about the subscription."""
    if request.method == "POST":
        subs.delete(sub)
        return render(request, "alerts/deleted.html")
    return render(
        request,
        "alerts/manage.html",
        {
            "sub": sub,
            "notes": sub.notes.order_by("-send_at")[:60],
            "day_names": [DAY_NAMES[d] for d in sub.days],
            "commute_url": links.commute_url(sub),
            "calendar_url": links.url(sub, "calendar")
            if sub.status == Subscription.Status.ACTIVE
            else None,
            "renew_url": reverse("alerts:renew", args=[links.token(sub, "renew")]),
            "delete_after": retention.deleted_after(sub),
        },
    )


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token: str):
    """GET: a page with one button. POST (the button, or a mail client's one-click
    ``List-Unsubscribe=One-Click``): delete everything, no CSRF token needed: the
    signed link is the authority, and nothing but deletion can be done with it."""
    try:
        sub = links.subscription_for(token, "unsubscribe")
    except links.BadLink as exc:
        if request.method == "POST":
            # Already gone: unsubscribing twice is a success.
            return render(request, "alerts/deleted.html")
        return _bad_link(request, exc)
    if request.method == "POST":
        subs.delete(sub)
        return render(request, "alerts/deleted.html")
    return render(request, "alerts/unsubscribe.html", {"sub": sub})


@require_http_methods(["GET", "HEAD", "POST"])
@_with_link("renew")
def renew(request, sub: Subscription, token: str):
    if request.method == "POST":
        subs.renew(sub)
        return redirect("alerts:manage", links.token(sub, "manage"))
    return render(
        request,
        "alerts/renew.html",
        {"sub": sub, "delete_after": retention.deleted_after(sub)},
    )


@require_safe
def calendar_feed(request, token: str):
    """The subscription's .ics feed: whoever has the link is the subscriber."""
    try:
        sub = links.subscription_for(token, "calendar")
        if sub.status != Subscription.Status.ACTIVE:
            raise links.BadLink("this subscription is not confirmed yet")
    except links.BadLink as exc:
        return HttpResponse(str(exc), status=404, content_type="text/plain")
    response = HttpResponse(calendar.feed(sub), content_type="text/calendar")
    response["Cache-Control"] = "private, max-age=3600"
    return response


# The app shell a phone keeps (static/js/pwa.js registers the worker): the commute
# page's stylesheets and its modules with every module they import.
SHELL_STATIC = (
    "css/site.css",
    "css/commute.css",
    "js/pages/commute.js",
    "js/pages/commute_state.js",
    "js/pages/commute_routes.js",
    "js/lib/api.js",
    "js/lib/config.js",
    "js/lib/dates.js",
    "js/lib/map.js",
    "js/lib/typeahead.js",
    "js/pwa.js",
    "favicon.svg",
    "icons/app-192.png",
)


@require_safe
def manifest(request):
    response = render(
        request,
        "alerts/manifest.webmanifest",
        content_type="application/manifest+json",
    )
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def service_worker(request):
    """Served from the root so its scope is the whole site; never cached long, so a
    new release's shell replaces the old one."""
    shell = [reverse("commutes:commute"), *(static(p) for p in SHELL_STATIC)]
    version = hashlib.sha256("\n".join(shell).encode()).hexdigest()[:12]
    response = render(
        request,
        "alerts/service-worker.js",
        {
            "shell": json.dumps(shell),
            "version": version,
            "static_prefix": static(""),
        },
        content_type="text/javascript",
    )
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def privacy(request):
    return render(
        request,
        "alerts/privacy.html",
        {
            "renew_days": retention.RENEW_AFTER.days,
            "grace_days": retention.GRACE.days,
            "confirm_days": links.CONFIRM_MAX_AGE.days,
            "log_days": retention.LOG_KEPT.days,
        },
    )
