from django.conf import settings

from core.local_time import TZ_NAME


def site(request):
    """Settings every page's JavaScript reads (static/js/basemap.js: readConfig):
    the map (tiles are optional) and Seattle's time zone."""
    return {
        "site_config": {
            "tilesUrl": settings.MAP_TILES_URL,
            "tilesAttribution": settings.MAP_TILES_ATTRIBUTION,
            "center": list(settings.SEATTLE_CENTER),
            "timeZone": TZ_NAME,
        }
    }
