from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from commutes.services.commute_payload import model_card_url
from commutes.services.routes import MODE_SPEED_KMH
from core.api_errors import DATABASE_DOWN
from predictions.services.data_age import forecast_age


@require_safe
def commute(request):
    """The commute page. Everything it shows comes from the API; the route lives in
    the URL and recent commutes in the visitor's own browser (localStorage)."""
    age = _forecast_age_unless_database_down()
    return render(
        request,
        "commutes/commute.html",
        {
            "modes": MODE_SPEED_KMH,
            "forecast_age": age,
            "commute_config": {
                "scoreUrl": reverse("v1:commute-score"),
                "placesUrl": reverse("v1:places"),
                "reverseUrl": reverse("v1:places-reverse"),
                "modelCardUrl": model_card_url(),
                # "Today" on the page is the forecast's first day (data_age).
                "forecastAge": age.as_config() if age else None,
            },
        },
    )


def _forecast_age_unless_database_down():
    """The forecast's age, or None with PostgreSQL down: the page is a shell whose
    answers come from the API (which says 503 itself), so it still opens, without
    the age line, rather than a 503 page (tests/test_faults.py)."""
    try:
        return forecast_age()
    except DATABASE_DOWN:
        return None
