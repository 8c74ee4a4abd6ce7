"""The charsets a request body may be in: UTF-8, and for JSON UTF-16/32 with a BOM.

Django looks the Content-Type's ``charset`` up in Python's codec registry and, when
found, decodes the query string and form fields with it; DRF's JSON parser built a
stream reader from the same string. That registry holds bytes-to-bytes codecs too:
``charset=bz2`` made a 794-byte body 1.08 GB of text (12.8 s and 2.3 GB in one
process; 3.3 GB in a gunicorn worker), and ``rot13``, ``zlib`` or ``bz2`` with a
malformed body (or just a query string) answered 500. Here a client's string is
only compared with the fixed table below, never looked up: `install` makes
Django's request keep the charset as a plain parameter (``request.encoding`` stays
unset, so everything is read as UTF-8), core.request_text refuses a body in any
other charset before it is read, and core.json_body decodes with the codec this
table names.
"""

from __future__ import annotations

import codecs

from django.http import HttpRequest
from django.utils.http import parse_header_parameters

# What every body may be in (HTML forms, JSON): Django's own DEFAULT_CHARSET.
UTF8_NAMES = frozenset({"utf-8", "utf8"})
# What JSON may also be in (RFC 8259 section 8.1 reads UTF-8 only; RFC 7159 allowed
# UTF-16 and UTF-32, which a client must then mark with a byte order mark).
JSON_ONLY_NAMES = frozenset({"utf-16", "utf-32"})
READABLE = "UTF-8 (JSON also UTF-16 or UTF-32 with a byte order mark)"

# Byte order marks -> (the family, Python's codec that strips it). UTF-32's little
# endian mark starts with UTF-16's, so it is tried first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
)


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, lower-cased, or None."""
    if not content_type:
        return None
    _, params = parse_header_parameters(content_type)
    charset = params.get("charset")
    return charset.strip().lower() if charset is not None else None


def readable(charset: str | None, json: bool) -> bool:
    """Whether a body in this charset is read (None: no charset given, UTF-8)."""
    if charset is None or charset in UTF8_NAMES:
        return True
    return json and charset in JSON_ONLY_NAMES


def decode_json(raw: bytes, charset: str | None) -> str:
    """A JSON body as text. Raises ValueError (say why) when it is not in `charset`.

    Without a charset the byte order mark, if any, says which UTF it is (as RFC 7159
    had JSON detected); a UTF-16 or UTF-32 body must start with one."""
    family, codec = "utf-8", "utf-8"
    for bom, bom_family, bom_codec in _BOMS:
        if raw.startswith(bom):
            family, codec = bom_family, bom_codec
            break
    wanted = "utf-8" if charset in UTF8_NAMES else charset
    if wanted is not None and wanted != family:
        if wanted in JSON_ONLY_NAMES:
            raise ValueError(f"a {wanted} body must start with a byte order mark")
        raise ValueError(f"the body is not {wanted}")
    return raw.decode(codec)


def _content_type_params(self: HttpRequest, meta) -> None:
    """HttpRequest._set_content_type_params without its codecs.lookup(charset)."""
    self.content_type, self.content_params = parse_header_parameters(
        meta.get("CONTENT_TYPE", "")
    )


def install() -> None:
    """Keep Django from looking a client's charset up (CoreConfig.ready()).

    The one place every request (WSGI, ASGI and the test client's) passes through
    is HttpRequest's own method; there is no setting for it."""
    HttpRequest._set_content_type_params = _content_type_params
