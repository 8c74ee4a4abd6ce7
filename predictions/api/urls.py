from django.urls import path

from predictions.api import views

# Included under /api/v1/ (namespace "v1").
urlpatterns = [
    path("forecasts/", views.ForecastView.as_view(), name="forecasts"),
    path("forecasts/grid/", views.ForecastGridView.as_view(), name="forecast-grid"),
    path("forecasts/point/", views.ForecastPointView.as_view(), name="forecast-point"),
    path("models/", views.ModelVersionList.as_view(), name="models"),
]
