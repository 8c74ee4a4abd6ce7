from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from predictions.services.cells import build_cells


class Command(BaseCommand):
    help = (
        "Rebuild the forecast grid (cells of GRID_CELL_SIZE touching the city limits). "
        "Ids depend only on the setting, so a rebuild with the same size is a no-op."
    )

    def handle(self, *args, **opts):
        n = build_cells()
        if not n:
            raise CommandError("no cells: load the city limits first (migrate)")
        self.stdout.write(f"{n} cells")
