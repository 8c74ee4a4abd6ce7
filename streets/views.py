import gzip

from django.http import Http404, HttpResponse
from django.views.decorators.http import condition, require_safe

from core.api_errors import json_error
from core.cache import STREETS, VersionedCache, etag
from core.throttling import AnonWindowThrottle
from streets.services.glyph_store import glyphs_gz
from streets.services.map_glyphs import FONTS
from streets.services.street_tiles import (
    network_extent,
    street_tile,
    tile_in_range,
    tile_misses,
)

# Browsers may keep a tile a day (revalidated by ETag after a network load).
TILE_CACHE_SECONDS = 24 * 3600
# Issue 16: tiles were kept 24 h in Redis at every zoom and address, so a scanner
# could fill it. Now: tiles outside the network are empty without a query and kept
# nowhere; down to SHARED_MAX_ZOOM (Seattle's tiles: a few thousand, ~25 MB at
# most) they are kept in Redis for CACHE_TIMEOUT; closer up they are made per
# request (one index scan, a few ms) and kept only in this process, bounded.
SHARED_MAX_ZOOM = 16
# A tile asked again is answered from this process's memory when it can (no Redis
# round trip for the bytes: the cached-tile target is 5 ms), else from Redis.
_TILES = VersionedCache(
    "street-tiles", (STREETS,), shared=True, local_bytes=16 * 1024 * 1024
)
_CLOSE_TILES = VersionedCache(
    "street-tiles-close", (STREETS,), local_bytes=16 * 1024 * 1024
)
_EXTENT = VersionedCache("street-extent", (STREETS,), local=1)


def clear_process_memory() -> None:
    """Forget the tiles this process keeps (benchmarks: what another process sees)."""
    for kept in (_TILES, _CLOSE_TILES):
        if kept.memory is not None:
            kept.memory.clear()


class TileThrottle(AnonWindowThrottle):
    """A map view loads a few dozen tiles: their own rate per address ("tiles",
    TILE_RATE), apart from the API's."""

    scope = "tiles"


def _tile_etag(request, z: int, x: int, y: int) -> str:
    # The versions are read once per request: the ETag and the view's caches
    # (every one keyed on STREETS alone) use the same read.
    request.tile_versions = _TILES.versions()
    return etag("street-tile", request.tile_versions, z, x, y)


@require_safe
@condition(etag_func=_tile_etag)
def street_tile_view(request, z: int, x: int, y: int):
    """GET /tiles/streets/z/x/y.pbf: the bundled streets as a Mapbox vector tile.

    Empty (200, no bytes) where there is no street, e.g. over the Sound. Cached as
    above; browsers may keep a tile a day (the ETag names the network's cache
    version, so a reload of the streets is seen on revalidation). Throttled per
    address (TileThrottle); a 429 in the API's error format.
    """
    if not tile_in_range(z, x, y):
        raise Http404(f"no tile {z}/{x}/{y}")
    throttle = TileThrottle()
    if not throttle.allow_request(request, None):
        wait = max(1, round(throttle.wait() or 1))
        return json_error(429, "too many map tiles from this address", retry_after=wait)
    versions = getattr(request, "tile_versions", None) or _TILES.versions()
    if tile_misses(z, x, y, _EXTENT.get("all", network_extent, versions=versions)):
        body = b""
    elif z <= SHARED_MAX_ZOOM:
        body = _TILES.get((z, x, y), lambda: street_tile(z, x, y), versions=versions)
    else:
        body = _CLOSE_TILES.get(
            (z, x, y), lambda: street_tile(z, x, y), versions=versions
        )
    response = HttpResponse(body, content_type="application/vnd.mapbox-vector-tile")
    response["Cache-Control"] = f"public, max-age={TILE_CACHE_SECONDS}"
    return response


GLYPH_CACHE = "public, max-age=31536000, immutable"


@require_safe
def glyphs_view(request, fontstack: str, start: int, end: int):
    """GET /map/glyphs/<GLYPHS_VERSION>/<font stack>/<start>-<end>.pbf: the base
    map's SDF glyphs (MapLibre's PBF ranges), made from the machine's DejaVu fonts.

    The version in the URL changes with the generator, so a browser may keep a range
    for good. A stack names fonts by commas; the first one the site has is used.
    """
    stack = next((name for name in fontstack.split(",") if name in FONTS), None)
    if stack is None or end != start + 255:
        raise Http404(f"no glyphs {fontstack}/{start}-{end}")
    try:
        body = glyphs_gz(stack, start)
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(body, content_type="application/x-protobuf")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(
            gzip.decompress(body), content_type="application/x-protobuf"
        )
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = GLYPH_CACHE
    return response
