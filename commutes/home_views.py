"""The home page: it leads with the commute, and shows this hour's forecast."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from crimes.services.summary import data_summary
from predictions.services import forecast_store


@require_safe
def home(request):
    """'Where are you going?' opens /commute/; the map of this hour's busiest places
    is drawn by the page's script from the forecast API, when a forecast exists."""
    version = forecast_store.active_version()
    has_forecast = bool(version and forecast_store.newest_run(version.pk))
    return render(
        request,
        "commutes/home.html",
        {
            "summary": data_summary(),
            "home_config": {
                "placesUrl": reverse("v1:places"),
                "forecastUrl": reverse("v1:forecasts") if has_forecast else "",
                "gridUrl": reverse("v1:forecast-grid"),
            },
        },
    )
