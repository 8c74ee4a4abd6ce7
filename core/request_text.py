"""Text a request carries that no view should see: bodies in a charset the site does
not read, and NUL characters in the path or the query string.

* A body whose Content-Type names a charset other than UTF-8 (for the API's JSON
  also UTF-16/32 with a byte order mark: core.charsets) is refused before anything
  reads it: the API answers 415 naming the charset, a page (an admin or login form)
  a 400 page. It used to be a 500 with a 68 KB traceback in the log for any such form,
  the legitimate ``utf-16`` included; now it is one short log line.
* A NUL cannot be stored in PostgreSQL text: ``/history/area/beat/%00/`` reached the
  database and raised DataError (a 500). No path of the site holds a character that
  is not printable, so such a path is a 404; a NUL in a query parameter is a 400
  naming the parameter.

First in the middleware after WhiteNoise, so the fast path, the CSRF check (which
reads a POST form) and every view see only what passed.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.log import log_response

from core import charsets
from core.api_errors import is_api, json_error


def bad_request_page(
    request: HttpRequest, detail: str, status: int = 400, title: str | None = None
) -> HttpResponse:
    """The site's page for a request it will not read (templates/400.html)."""
    context = {"detail": detail, "title": title}
    return HttpResponse(render_to_string("400.html", context), status=status)


def _has_body(request: HttpRequest) -> bool:
    raw = request.META.get("CONTENT_LENGTH") or "0"
    return raw != "0" or "HTTP_TRANSFER_ENCODING" in request.META


class RequestTextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = self.refuse_charset(request) or self.refuse_nul(request)
        return refused or self.get_response(request)

    @staticmethod
    def refuse_charset(request: HttpRequest) -> HttpResponse | None:
        charset = charsets.charset_of(request.META.get("CONTENT_TYPE"))
        api = is_api(request)
        if not _has_body(request) or charsets.readable(charset, json=api):
            return None
        shown = charset[:40]
        if api:
            response = json_error(
                415,
                f"the body's charset {shown!r} is not read: send {charsets.READABLE}",
            )
        else:
            response = bad_request_page(
                request,
                f"The form was sent in the character set {shown!r}; this site reads "
                "forms in UTF-8 only. Reload the page and send it again.",
            )
        # One short line instead of Django's (and never the traceback of old).
        log_response(
            "Refused a body in charset %r: %s",
            shown,
            request.path,
            response=response,
            request=request,
        )
        return response

    @staticmethod
    def refuse_nul(request: HttpRequest) -> HttpResponse | None:
        if not request.path_info.isprintable():
            detail = "no page at this address (it holds a character that is not text)"
            if is_api(request):
                return json_error(404, f"no API endpoint at {request.path}")
            return bad_request_page(request, detail, 404, "Page not found")
        if "%00" not in request.META.get("QUERY_STRING", ""):
            return None
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                shown = name.replace("\x00", "\\0")[:80]
                detail = f"{shown}: a NUL character is not text"
                if is_api(request):
                    return json_error(400, detail, parameter=shown)
                return bad_request_page(request, detail)
        return None
