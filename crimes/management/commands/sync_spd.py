"""python manage.py sync_spd [--since ISO]: incremental fetch from the SODA API."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crimes.management.commands.import_spd import ProgressBar, summary_table
from crimes.services.importing import ImportFailed
from crimes.services.soda_sync import parse_since, sync


class Command(BaseCommand):
    help = (
        "Fetch SPD records from the Socrata SODA API (settings.SODA_BASE_URL) reported "
        "at or after the newest report time stored (or --since), and import them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            help="ISO date/time to start from (naive = Seattle local time); default: "
            "the newest report time already stored",
        )
        parser.add_argument("--page-size", type=int, default=None)

    def handle(self, *args, since: str | None, page_size: int | None, **options):
        if since:
            try:
                parse_since(since)
            except ValueError:
                raise CommandError(f"--since {since!r} is not an ISO date") from None

        def on_page(offset: int, count: int) -> None:
            self.stderr.write(f"fetched {offset + count} records")

        bar = ProgressBar(self.stderr._out)
        try:
            run = sync(
                since=since,
                base_url=settings.SODA_BASE_URL,
                page_size=page_size,
                progress=bar,
                on_page=on_page,
            )
        except ImportFailed as exc:
            raise CommandError(f"sync failed: {exc}") from None
        bar.finish()
        self.stdout.write(summary_table(run))
