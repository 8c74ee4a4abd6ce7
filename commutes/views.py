from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import condition, require_safe

from commutes.services.commute import model_card_url
from commutes.services.routes import MODE_SPEED_KMH
from commutes.services.street_tiles import street_tile, tile_in_range
from core.cache import STREETS, VersionedCache, etag

TILE_CACHE_SECONDS = 24 * 3600
# Tiles in Redis for every process, until the network changes (core.cache STREETS).
_TILES = VersionedCache(
    "street-tiles", (STREETS,), shared=True, timeout=TILE_CACHE_SECONDS
)


@require_safe
def commute(request):
    """The commute page. Everything it shows comes from the API; the route lives in
    the URL and recent commutes in the visitor's own browser (localStorage)."""
    return render(
        request,
        "commutes/commute.html",
        {
            "modes": MODE_SPEED_KMH,
            "commute_config": {
                "scoreUrl": reverse("v1:commute-score"),
                "placesUrl": reverse("v1:places"),
                "modelCardUrl": model_card_url(),
            },
        },
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
