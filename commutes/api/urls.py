from django.urls import path

from commutes.api import views

urlpatterns = [
    path("commutes/score/", views.CommuteScoreView.as_view(), name="commute-score"),
]
