from django.urls import path

from places.api import views

urlpatterns = [
    path("places/", views.PlaceSearchView.as_view(), name="places"),
    path("places/reverse/", views.PlaceReverseView.as_view(), name="places-reverse"),
]
