from django.core.management.base import BaseCommand

from places.services.index import refresh_places


class Command(BaseCommand):
    help = (
        "Rebuild the place index (the typeahead and the reverse lookup) from the "
        "loaded data. Imports make the API refresh lazily too; run this after a "
        "bulk load to spare the first visitor the wait."
    )

    def handle(self, *args, **options):
        # A rebuild replaces every row: refresh_places reclaims the old ones now
        # rather than leave the search reading past them until autovacuum comes.
        count = refresh_places()
        self.stdout.write(self.style.SUCCESS(f"{count} places"))
