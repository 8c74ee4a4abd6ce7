from django.core.management.base import BaseCommand

from streets.services.glyph_store import build


class Command(BaseCommand):
    help = (
        "Make the base map's glyph PBFs (the Latin ranges of every font stack) from "
        "the DejaVu fonts on this machine, into MAP_GLYPHS_DIR. Safe to rerun: a "
        "range already made is kept."
    )

    def handle(self, *args, **options):
        made = build()
        self.stdout.write(self.style.SUCCESS(f"{len(made)} glyph ranges ready"))
