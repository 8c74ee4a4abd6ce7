from django.urls import path

from predictions import views

app_name = "predictions"
urlpatterns = [
    path("forecast/", views.forecast_page, name="forecast"),
    path("model-card/", views.model_card, name="model-card"),
    path("model-card/plots/<str:name>", views.report_plot, name="report-plot"),
]
