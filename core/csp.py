"""A Content-Security-Policy on every answer: pages, the admin, the API and its docs.

Scripts run only from this site's own files (``'self'``: classic scripts and ES
modules alike) or from an inline ``<script nonce="{{ csp_nonce }}">``: the nonce is
new for every request, made here and given to every template by one context
processor (`core.context_processors.site`), so no template builds its own. Styles
come from the site's stylesheets (or a ``<style>`` with the nonce); no ``style=""``
attribute in markup (pages set colours through the CSSOM, which CSP allows).
Images and fonts are the site's own (``data:`` too: icons inside stylesheets), plus
the raster tile server when MAP_TILES_URL names one. A service worker and the web
app manifest may come from the site itself; nothing may frame a page.

The header is set here for every response, so an answer the API's fast path
replays from the cache carries one too (this middleware sits outside it). The nonce
is made only when something asks for it (a template through the context processor):
an answer that rendered no template (JSON, a tile, a replayed fast-path hit) gets the
policy without a nonce, the same for every request, so a cached answer and the view's
own answer carry the same header.
"""

from __future__ import annotations

import secrets
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
NONCE_ATTR = "csp_nonce"


def tiles_origin(url: str) -> str:
    """scheme://host[:port] of the raster tile template, or "" for the own tiles."""
    parts = urlsplit(url.replace("{s}", "a").replace("{z}", "0"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    origin = f"{parts.scheme}://{parts.netloc}"
    # Leaflet's {s} subdomains (a.tile..., b.tile...) are one wildcard.
    return origin.replace("://a.", "://*.", 1) if "{s}" in url else origin


@cache
def _template(tiles_url: str, with_nonce: bool) -> str:
    """The policy, with a ``{nonce}`` placeholder when asked (cached per setting)."""
    own = "'self' 'nonce-{nonce}'" if with_nonce else "'self'"
    images = " ".join(
        filter(None, ["'self'", "data:", "blob:", tiles_origin(tiles_url)])
    )
    directives = [
        "default-src 'self'",
        f"script-src {own}",
        f"style-src {own}",
        f"img-src {images}",
        "font-src 'self' data:",
        "connect-src 'self'",
        # MapLibre GL starts its tile workers from blob: URLs (its documented need).
        "worker-src 'self' blob:",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def policy(nonce: str | None) -> str:
    """The header's value; ``None``: the answer used no nonce."""
    template = _template(settings.MAP_TILES_URL, nonce is not None)
    return template.replace("{nonce}", nonce) if nonce else template


def nonce(request: HttpRequest) -> str:
    """This request's nonce, made on first use and kept on the HttpRequest (a DRF
    Request is unwrapped, so the middleware sees what its view used)."""
    request = getattr(request, "_request", request)
    value = getattr(request, NONCE_ATTR, None)
    if value is None:
        value = secrets.token_urlsafe(16)
        setattr(request, NONCE_ATTR, value)
    return value


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response[HEADER] = policy(getattr(request, NONCE_ATTR, None))
        return response
