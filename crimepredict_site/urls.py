from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)

# Every API route lives under one versioned namespace: /api/v1/ (namespace "v1").
api_v1 = [
    path("", include("crimes.api.urls")),
    path("", include("predictions.api.urls")),
    path("", include("commutes.api.urls")),
    path("", include("places.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file (?script): no inline script
    # under the Content-Security-Policy (core.csp). (ReDoc, once at redoc/, is gone:
    # it loaded a logo and fonts from other hosts, ran blob: workers and injected
    # styles without a nonce.)
    path(
        "docs/", SpectacularSwaggerSplitView.as_view(url_name="v1:schema"), name="docs"
    ),
]

# Under /api/ errors are JSON in the API's one format; database outages are 503s.
handler404 = "core.api_errors.not_found"
handler500 = "core.api_errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "v1"), namespace="v1")),
    path("", include("crimes.urls")),
    path("", include("predictions.urls")),
    path("", include("streets.urls")),
    path("", include("commutes.urls")),
    path("", include("alerts.urls")),
    path("", include("places.urls")),
]
