from django.http import Http404, HttpResponse
from django.views.decorators.http import condition, require_safe

from core.cache import STREETS, VersionedCache, etag
from streets.services.street_tiles import street_tile, tile_in_range

TILE_CACHE_SECONDS = 24 * 3600
# Tiles in Redis for every process, until the network changes (core.cache STREETS).
_TILES = VersionedCache(
    "street-tiles", (STREETS,), shared=True, timeout=TILE_CACHE_SECONDS
)


def _tile_etag(request, z: int, x: int, y: int) -> str:
    return etag("street-tile", _TILES.versions(), z, x, y)


@require_safe
@condition(etag_func=_tile_etag)
def street_tile_view(request, z: int, x: int, y: int):
    """GET /tiles/streets/z/x/y.pbf: the bundled streets as a Mapbox vector tile.

    Empty (200, no bytes) where there is no street, e.g. over the Sound. Cached in
    Redis until the network changes; browsers may keep a tile a day (the ETag names
    the network's cache version, so a reload of the streets is seen on revalidation).
    """
    if not tile_in_range(z, x, y):
        raise Http404(f"no tile {z}/{x}/{y}")
    body = _TILES.get((z, x, y), lambda: street_tile(z, x, y))
    response = HttpResponse(body, content_type="application/vnd.mapbox-vector-tile")
    response["Cache-Control"] = f"public, max-age={TILE_CACHE_SECONDS}"
    return response
