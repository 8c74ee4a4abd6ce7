from django.conf import settings


def site(request):
    """Map settings every page's JavaScript reads (tiles are optional)."""
    return {
        "site_map_config": {
            "tilesUrl": settings.MAP_TILES_URL,
            "tilesAttribution": settings.MAP_TILES_ATTRIBUTION,
            "center": list(settings.SEATTLE_CENTER),
        }
    }
