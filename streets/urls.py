from django.urls import path

from streets import views

app_name = "streets"
urlpatterns = [
    path(
        "tiles/streets/<int:z>/<int:x>/<int:y>.pbf",
        views.street_tile_view,
        name="street-tile",
    ),
]
