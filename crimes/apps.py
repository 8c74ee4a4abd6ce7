from django.apps import AppConfig


class CrimesConfig(AppConfig):
    name = "crimes"
    verbose_name = "SPD incidents"

    def ready(self) -> None:
        from core.cache import AREAS, DATA, track

        from .models import Area, ImportRun, Incident

        # What invalidates what (core.cache). Incidents arrive by COPY (the importer
        # bumps) or through their queryset; a per-row delete signal would make
        # Django load every row of a bulk delete.
        track(Incident, DATA, row_deletes=False)
        # The last finished import is part of every answer; the importer bumps when a
        # run finishes (a pending, failed or dry run changes nothing).
        track(ImportRun, DATA, saves=False)
        track(Area, AREAS)
