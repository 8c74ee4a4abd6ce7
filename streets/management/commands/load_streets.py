from django.core.management.base import BaseCommand, CommandError

from streets.services.street_network import NetworkError, load_network


class Command(BaseCommand):
    help = (
        "Load the OpenStreetMap street network (default: the bundled extract in "
        "data/streets/) as the routable graph and the base map's streets. Safe to "
        "rerun: unchanged edges keep their ids and a rerun of the same file changes "
        "nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?", help="Overpass JSON (.json or .json.gz) extract"
        )

    def handle(self, *args, path=None, **options):
        try:
            result = load_network(path, progress=self.stdout.write)
        except NetworkError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                "{edges} edges, {vertices} vertices ({share:.1%} connected): "
                "{inserted} inserted, {updated} updated, {deleted} deleted, "
                "{unchanged} unchanged; "
                "{seconds:.1f} s".format(share=result["connected_share"], **result)
            )
        )
