from django.apps import AppConfig


class CommutesConfig(AppConfig):
    name = "commutes"
    verbose_name = "Commutes"

    def ready(self) -> None:
        # Each street edge knows its forecast cells: a rebuilt grid recomputes them.
        from commutes.services.street_network import cells_for_new_grid
        from predictions.signals import grid_rebuilt

        grid_rebuilt.connect(cells_for_new_grid, dispatch_uid="commutes-edge-cells")
