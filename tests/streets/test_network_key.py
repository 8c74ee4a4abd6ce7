"""The routing graph's key: the newest network load, read once per streets version."""

from __future__ import annotations

import pytest
from django.db import connections

from core import cache
from streets.models import StreetNetworkLoad
from streets.services import street_graph

pytestmark = pytest.mark.django_db


def test_the_newest_load_is_read_once_per_version_of_the_streets(
    monkeypatch, django_assert_num_queries
):
    # Every commute asked PostgreSQL for the newest load (cached answers too).
    street_graph._KEYS.clear_local()

    def as_a_request():  # autocommit, as a web request runs (not a test's transaction)
        return monkeypatch.context()

    with as_a_request() as patch:
        patch.setattr(connections["default"], "in_atomic_block", False)
        first = street_graph.current_network_key()
        with django_assert_num_queries(0):
            assert street_graph.current_network_key() == first
        cache.bump(cache.STREETS)
        with django_assert_num_queries(1):
            assert street_graph.current_network_key() == first
    # A new load (an ORM write bumps the streets' version too) is seen at once.
    load = StreetNetworkLoad.objects.create(source_file="x.osm.pbf", sha256="0" * 64)
    with as_a_request() as patch:
        patch.setattr(connections["default"], "in_atomic_block", False)
        assert street_graph.current_network_key()[0] == load.id


def test_inside_a_transaction_the_load_is_read_every_time(django_assert_num_queries):
    # Its own load may yet roll back: nothing is kept from inside it.
    with django_assert_num_queries(2):
        street_graph.current_network_key()
        street_graph.current_network_key()
