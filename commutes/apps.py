from django.apps import AppConfig


class CommutesConfig(AppConfig):
    name = "commutes"
    verbose_name = "Commutes"

    def ready(self) -> None:
        from commutes.models import TripReference
        from commutes.services.edge_cells import (
            cells_for_loaded_network,
            cells_for_new_grid,
        )
        from commutes.signals import queue_trip_reference
        from core.cache import FORECASTS, track
        from predictions.signals import forecast_stored, grid_rebuilt
        from streets.signals import network_loaded

        # Each street edge knows its forecast cells: a loaded network computes the
        # new edges' cells, a rebuilt grid recomputes them all.
        network_loaded.connect(cells_for_loaded_network, dispatch_uid="edge-cells")
        grid_rebuilt.connect(cells_for_new_grid, dispatch_uid="commutes-edge-cells")
        # Each finished forecast run gets its reference of random trips (worker);
        # a commute answer is built from it, so it is part of FORECASTS.
        forecast_stored.connect(queue_trip_reference, dispatch_uid="trip-reference")
        track(TripReference, FORECASTS)
