from django.http import Http404, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from crimes.models import Area
from crimes.services.summary import boundary_geojson


@require_safe
@cache_control(public=True, max_age=86400)
def boundary(request, kind: str):
    if kind not in Area.Kind.values:
        raise Http404(f"Unknown boundary kind {kind!r}")
    return HttpResponse(boundary_geojson(kind), content_type="application/geo+json")
