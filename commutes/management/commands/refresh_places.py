from django.core.management.base import BaseCommand

from commutes.services.places import refresh_places


class Command(BaseCommand):
    help = (
        "Rebuild the address typeahead (hundred blocks and intersections) from the "
        "loaded incidents. Imports make the API refresh lazily too; run this after a "
        "bulk load to spare the first visitor the wait."
    )

    def handle(self, *args, **options):
        count = refresh_places()
        self.stdout.write(self.style.SUCCESS(f"{count} places"))
