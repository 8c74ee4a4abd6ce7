from django.urls import path

from commutes import views

app_name = "commutes"
urlpatterns = [
    path("commute/", views.commute, name="commute"),
]
