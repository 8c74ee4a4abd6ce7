from django.core.management.base import BaseCommand

from streets.services.basemap_layers import load_basemap_layers


class Command(BaseCommand):
    help = (
        "Load the base map's water, parks and names (lakes, parks, neighbourhoods, "
        "stations, landmarks) from the files in data/. Safe to rerun: every row is "
        "replaced."
    )

    def handle(self, *args, **options):
        result = load_basemap_layers()
        self.stdout.write(
            self.style.SUCCESS(
                "{areas} area pieces, {labels} labels; {seconds} s".format(**result)
            )
        )
