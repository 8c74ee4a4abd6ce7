from django.urls import path

from commutes import views

app_name = "commutes"
urlpatterns = [
    path("commute/", views.commute, name="commute"),
    path(
        "tiles/streets/<int:z>/<int:x>/<int:y>.pbf",
        views.street_tile_view,
        name="street-tile",
    ),
]
