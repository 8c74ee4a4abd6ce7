from django.urls import path

from crimes.api import views

# Included under /api/v1/ (namespace "v1"): reverse as "v1:history-grid" etc.
urlpatterns = [
    path("incidents/", views.IncidentList.as_view(), name="incidents"),
    path("history/grid/", views.GridView.as_view(), name="history-grid"),
    path(
        "history/timeseries/", views.TimeseriesView.as_view(), name="history-timeseries"
    ),
    path("history/profile/", views.ProfileView.as_view(), name="history-profile"),
    path("history/groups/", views.GroupsView.as_view(), name="history-groups"),
    path("areas/", views.AreasView.as_view(), name="areas"),
    path("meta/", views.MetaView.as_view(), name="meta"),
    path("export/incidents.csv", views.ExportCsv.as_view(), name="export-csv"),
    path(
        "export/incidents.geojson",
        views.ExportGeojson.as_view(),
        name="export-geojson",
    ),
]
