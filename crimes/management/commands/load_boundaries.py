from django.conf import settings
from django.core.management.base import BaseCommand

from crimes.boundaries import load_boundaries
from crimes.models import Area


class Command(BaseCommand):
    help = (
        "(Re)load Seattle city limits, precincts, beats, MCPP areas and neighborhoods."
    )

    def handle(self, *args, **options):
        count = load_boundaries(Area, settings.BOUNDARIES_DIR)
        self.stdout.write(self.style.SUCCESS(f"Loaded {count} areas"))
