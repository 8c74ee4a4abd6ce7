"""Request bodies are refused before they are read, and uploads stop at their limit.

Django only reads a body when something asks for it, but then it reads all of it: a
multipart body to any POST view (the CSRF check reads the form too) was spooled to
disk in full before the view could refuse it, and the admin's upload limit was only
checked once the whole file was on disk. Three layers, from the outside in:

* `BodyLimitMiddleware` answers 413 from the ``Content-Length`` header alone, before
  anything reads the body: API_MAX_BODY_BYTES under /api/ (the API takes small JSON),
  REQUEST_MAX_BODY_BYTES elsewhere, and the import upload limit only on the admin's
  upload page for a signed-in staff user. A body sent in chunks (``Transfer-Encoding``,
  no length) is a 411: Django reads a body by its Content-Length, so one without was
  read as empty, silently (a JSON parse error, a form with no fields). Behind the
  proxy nginx buffers a chunked body (bounded by client_max_body_size) and passes it
  on with a Content-Length, so browsers and clients that stream still get through.
* core.json_body.JSONBodyParser is the API's only parser, so any other content type
  is a 415 (and JSON nested too deep a 400, not a RecursionError).
* `LimitedUploadHandler` counts an upload's bytes as they stream in and stops the
  upload at IMPORT_UPLOAD_MAX_BYTES: the partial temporary file is deleted, and the
  form says why (`upload_refused`).

Temporary upload files live in FILE_UPLOAD_TEMP_DIR; a server worker killed in the
middle of an upload cannot delete its own, so `remove_stale_temp_files` (run when a
process starts and every few minutes from the upload path) removes old ones.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat

from core.api_errors import is_api, json_error

log = logging.getLogger(__name__)

UPLOAD_PATH = "/admin/crimes/importrun/add/"
# Room for the form around the file (boundary lines, the dry-run field, the token).
FORM_OVERHEAD_BYTES = 1 << 20
STALE_TEMP_AGE_S = 3600
_CLEANUP_EVERY_S = 600
_last_cleanup = 0.0
_cleanup_lock = threading.Lock()
# Attribute of a request whose upload LimitedUploadHandler stopped: the limit.
UPLOAD_REFUSED = "_upload_refused_limit"


def body_limit(request: HttpRequest) -> int:
    """The largest body this request may send, in bytes."""
    if is_api(request):
        return settings.API_MAX_BODY_BYTES
    if request.path_info == UPLOAD_PATH and getattr(request, "user", None) is not None:
        user = request.user
        if user.is_authenticated and user.is_staff:
            return settings.IMPORT_UPLOAD_MAX_BYTES + FORM_OVERHEAD_BYTES
    return settings.REQUEST_MAX_BODY_BYTES


class BodyLimitMiddleware:
    """413 from the Content-Length header, before a byte of the body is read.

    Sits after the authentication middleware (only the upload page asks who the user
    is) and before anything that reads request.POST (the CSRF check does)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_TRANSFER_ENCODING" in request.META:
            return self.refuse_chunked(request)
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            length = -1
        limit = body_limit(request)
        if length < 0 or length > limit:
            return self.refuse(request, length, limit)
        if request.path_info == UPLOAD_PATH:
            remove_stale_temp_files(throttle=True)
        return self.get_response(request)

    @staticmethod
    def refuse_chunked(request: HttpRequest) -> HttpResponse:
        detail = (
            "a body sent with Transfer-Encoding is not read: send it with a "
            "Content-Length header"
        )
        if is_api(request):
            response = json_error(411, detail)
        else:
            response = HttpResponse(detail, status=411, content_type="text/plain")
        response["Connection"] = "close"
        return response

    @staticmethod
    def refuse(request: HttpRequest, length: int, limit: int) -> HttpResponse:
        # The unread body is left on the socket: close the connection after answering.
        detail = (
            f"the request body ({length} bytes) is larger than the limit of "
            f"{limit} bytes ({filesizeformat(limit)})"
            if length >= 0
            else "the Content-Length header is not a number"
        )
        if is_api(request):
            response = json_error(413 if length >= 0 else 400, detail)
        else:
            response = HttpResponse(
                detail, status=413 if length >= 0 else 400, content_type="text/plain"
            )
        response["Connection"] = "close"
        return response


class LimitedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: stops an upload once it passes the limit.

    The handlers after it (memory, then temporary file) never see a byte past the
    limit; StopUpload makes Django close (and so delete) the partial file and skip
    the rest of the body."""

    def handle_raw_input(
        self, input_data, META, content_length, boundary, encoding=None
    ):
        self.limit = settings.IMPORT_UPLOAD_MAX_BYTES
        self.total = 0

    def receive_data_chunk(self, raw_data, start):
        self.total += len(raw_data)
        if self.total > self.limit:
            if self.request is not None:
                setattr(self.request, UPLOAD_REFUSED, self.limit)
            log.warning("upload stopped at %d bytes (limit %d)", self.total, self.limit)
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler makes the file


def upload_refused(request: HttpRequest | None) -> int | None:
    """The limit an upload of this request was stopped at, or None."""
    return getattr(request, UPLOAD_REFUSED, None) if request is not None else None


def temp_dir() -> Path:
    return Path(settings.FILE_UPLOAD_TEMP_DIR)


def remove_stale_temp_files(throttle: bool = False) -> int:
    """Delete upload temp files older than STALE_TEMP_AGE_S; how many were removed.

    An upload still streaming writes its file continuously, so its mtime is fresh."""
    global _last_cleanup
    now = time.time()
    if throttle:
        with _cleanup_lock:
            if now - _last_cleanup < _CLEANUP_EVERY_S:
                return 0
            _last_cleanup = now
    removed = 0
    try:
        entries = list(os.scandir(temp_dir()))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.is_file() and now - entry.stat().st_mtime > STALE_TEMP_AGE_S:
                os.remove(entry.path)
                removed += 1
        except OSError:
            continue
    if removed:
        log.warning("removed %d stale upload temp file(s) from %s", removed, temp_dir())
    return removed
