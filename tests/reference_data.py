"""Reference rows every database test may rely on: the Seattle boundaries and the grid.

Migrations create them, but transactional tests (the Celery worker and the live server
need committed data) flush every table when they end; the autouse fixture in
tests/conftest.py calls this so the next test finds them again.

The street network (also loaded by a migration) is reloaded only by the tests that
need it (``ensure_streets``): a reload costs ~6-10 s, too much to pay after every
flush for tests that never route.
"""

from __future__ import annotations

from django.conf import settings


def ensure_reference_data() -> None:
    from crimes.boundaries import load_boundaries
    from crimes.models import Area
    from predictions.models import Cell
    from predictions.services.cells import build_cells

    if not Area.objects.filter(kind="city").exists():
        load_boundaries(Area, settings.BOUNDARIES_DIR)
    if not Cell.objects.exists():
        build_cells()


def ensure_streets() -> None:
    """The street network present (reloaded from data/streets/ after a flush)."""
    from streets.models import StreetEdge
    from streets.services.street_graph import clear_cache
    from streets.services.street_network import load_network

    if not StreetEdge.objects.exists():
        load_network()
        clear_cache()
    ensure_map_layers()


def ensure_map_layers() -> None:
    """The base map's water, parks and names present (reloaded after a flush)."""
    from streets.models import MapLabel
    from streets.services.basemap_layers import load_basemap_layers

    if not MapLabel.objects.exists():
        load_basemap_layers()
