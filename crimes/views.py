from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from crimes.models import Area
from crimes.services.summary import boundary_geojson, data_summary


@require_safe
def home(request):
    """The home page: the commute form, and this hour's forecast drawn by the page's
    script from the forecast API (named by URL only: crimes does not import
    predictions)."""
    return render(
        request,
        "crimes/home.html",
        {
            "summary": data_summary(),
            "home_config": {
                "placesUrl": _url("v1:places"),
                "forecastUrl": _url("v1:forecasts"),
                "gridUrl": _url("v1:forecast-grid"),
            },
        },
    )


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@require_safe
@cache_control(public=True, max_age=86400)
def boundary(request, kind: str):
    if kind not in Area.Kind.values:
        raise Http404(f"Unknown boundary kind {kind!r}")
    return HttpResponse(boundary_geojson(kind), content_type="application/geo+json")
