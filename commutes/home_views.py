"""The home page: it leads with the commute, and shows this hour's forecast."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from crimes.services.summary import data_summary
from predictions.services.data_age import forecast_age


@require_safe
def home(request):
    """'Where are you going?' opens /commute/; the map of this hour's busiest places
    is drawn by the page's script from the forecast API, when a forecast exists."""
    age = forecast_age()  # None until a forecast exists
    has_forecast = age is not None
    return render(
        request,
        "commutes/home.html",
        {
            "summary": data_summary(),
            "forecast_age": age,
            "home_config": {
                "placesUrl": reverse("v1:places"),
                "forecastUrl": reverse("v1:forecasts") if has_forecast else "",
                "gridUrl": reverse("v1:forecast-grid"),
            },
        },
    )
