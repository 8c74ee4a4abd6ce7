from django.urls import path

from crimes import views

app_name = "crimes"
urlpatterns = [
    path("", views.home, name="home"),
    path("boundaries/<slug:kind>.geojson", views.boundary, name="boundary"),
]
