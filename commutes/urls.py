from django.urls import path  # noqa: F401

app_name = "commutes"
urlpatterns: list = []
