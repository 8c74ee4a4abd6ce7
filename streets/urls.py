from django.urls import path

from streets import views
from streets.services.glyph_store import GLYPHS_VERSION

app_name = "streets"
urlpatterns = [
    path(
        "tiles/streets/<int:z>/<int:x>/<int:y>.pbf",
        views.street_tile_view,
        name="street-tile",
    ),
    path(
        f"map/glyphs/{GLYPHS_VERSION}/<str:fontstack>/<int:start>-<int:end>.pbf",
        views.glyphs_view,
        name="glyphs",
    ),
]
