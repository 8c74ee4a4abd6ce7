from django.apps import AppConfig


class StreetsConfig(AppConfig):
    name = "streets"
    verbose_name = "Streets"

    def ready(self) -> None:
        from core.cache import STREETS, track
        from streets.models import (
            MapArea,
            MapLabel,
            StreetEdge,
            StreetLine,
            StreetNetworkLoad,
        )

        # The street tiles are cached (core.cache): ORM writes bump their scope too
        # (load_network writes with SQL and bumps it itself). Tens of thousands of
        # rows: no per-row delete signal.
        track(StreetEdge, STREETS, row_deletes=False)
        track(StreetLine, STREETS, row_deletes=False)
        track(MapArea, STREETS, row_deletes=False)
        track(MapLabel, STREETS, row_deletes=False)
        # The routing graph is keyed on the newest load (street_graph).
        track(StreetNetworkLoad, STREETS)
