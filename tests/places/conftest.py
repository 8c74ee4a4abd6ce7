"""Real 2021 SPD rows, the street network and the place index, loaded once per package.

Loaded committed (outside any test transaction) so that a live server sees them too.
A transactional test elsewhere in the run flushes every table; ``place_data`` notices
and loads again.
"""

from __future__ import annotations

import pytest

from tests.reference_data import ensure_reference_data, ensure_streets
from tests.spd_rows import delete_imported, load_spd


def _load() -> None:
    from places.services.index import refresh_places

    ensure_reference_data()
    ensure_streets()
    delete_imported()
    load_spd()
    refresh_places()


def _loaded() -> bool:
    from places.models import Place

    return Place.objects.filter(source=Place.Source.SPD).exists()


@pytest.fixture(scope="package")
def _place_session_data(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _load()
    yield
    with django_db_blocker.unblock():
        from places.models import Place

        Place.objects.filter(source=Place.Source.SPD).delete()
        delete_imported()


@pytest.fixture
def place_data(_place_session_data, django_db_blocker) -> None:
    """The package's data, reloaded if a transactional test flushed it meanwhile."""
    with django_db_blocker.unblock():
        if not _loaded():
            _load()
        else:
            ensure_streets()
