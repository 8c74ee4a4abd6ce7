from django.urls import path

from alerts import views

app_name = "alerts"
urlpatterns = [
    path("notes/new/", views.subscribe, name="new"),
    path("notes/confirm/<str:token>/", views.confirm, name="confirm"),
    path("notes/manage/<str:token>/", views.manage, name="manage"),
    path("notes/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("notes/renew/<str:token>/", views.renew, name="renew"),
    path("notes/calendar/<str:token>.ics", views.calendar_feed, name="calendar"),
    path("privacy/", views.privacy, name="privacy"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
]
