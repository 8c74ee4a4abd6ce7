from django.apps import AppConfig


class CommutesConfig(AppConfig):
    name = "commutes"
    verbose_name = "Commutes"

    def ready(self) -> None:
        from commutes.models import StreetEdge, StreetLine
        from commutes.services.street_network import cells_for_new_grid
        from core.cache import STREETS, track
        from predictions.signals import grid_rebuilt

        # Each street edge knows its forecast cells: a rebuilt grid recomputes them.
        grid_rebuilt.connect(cells_for_new_grid, dispatch_uid="commutes-edge-cells")
        # The street tiles are cached (core.cache): ORM writes bump their scope too
        # (load_network writes with SQL and bumps it itself). Tens of thousands of
        # rows: no per-row delete signal.
        track(StreetEdge, STREETS, row_deletes=False)
        track(StreetLine, STREETS, row_deletes=False)
