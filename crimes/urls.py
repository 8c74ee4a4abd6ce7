from django.urls import path

from crimes import history_views, views

app_name = "crimes"
urlpatterns = [
    path("boundaries/<slug:kind>.geojson", views.boundary, name="boundary"),
    path("history/", history_views.history_page, name="history"),
    path(
        "history/area/<slug:kind>/<path:code>/",
        history_views.area_page,
        name="history-area",
    ),
]
