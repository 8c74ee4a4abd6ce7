"""Reference rows every database test may rely on: the Seattle boundaries and the grid.

Migrations create them, but transactional tests (the Celery worker and the live server
need committed data) flush every table when they end; the autouse fixture in
tests/conftest.py calls this so the next test finds them again.
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
