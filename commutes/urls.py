from django.urls import path

from commutes import home_views, views

app_name = "commutes"
urlpatterns = [
    path("", home_views.home, name="home"),
    path("commute/", views.commute, name="commute"),
]
