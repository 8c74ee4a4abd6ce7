from django.core.management.base import BaseCommand

from streets.services.map_preview import OUT_DIR, render


class Command(BaseCommand):
    help = (
        "Draw the base map's preview tiles (static/map/preview/: what a page shows "
        "before MapLibre starts) with MapLibre in the system Chromium, from the "
        "style and the street network in the database. Rerun after changing "
        "static/map/style.json or the map data, and commit the files."
    )

    def handle(self, *args, **options):
        render(OUT_DIR, log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"preview written to {OUT_DIR}"))
