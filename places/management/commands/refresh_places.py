from django.core.management.base import BaseCommand
from django.db import connection

from places.services.index import TABLE, refresh_places


class Command(BaseCommand):
    help = (
        "Rebuild the place index (the typeahead and the reverse lookup) from the "
        "loaded data. Imports make the API refresh lazily too; run this after a "
        "bulk load to spare the first visitor the wait."
    )

    def handle(self, *args, **options):
        count = refresh_places()
        # A rebuild replaces every row: reclaim the old ones now rather than leave
        # the search reading past them until autovacuum comes (VACUUM cannot run
        # inside a transaction: a caller's atomic block leaves it to autovacuum).
        if not connection.in_atomic_block:
            with connection.cursor() as cur:
                cur.execute(f"VACUUM ANALYZE {TABLE}")
        self.stdout.write(self.style.SUCCESS(f"{count} places"))
