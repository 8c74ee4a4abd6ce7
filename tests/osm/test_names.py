"""Street labels as Seattle writes them (pure functions, no database)."""

from __future__ import annotations

import pytest

from osm.names import base_name, edge_label, short_name


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("East Pine Street", "E Pine St"),
        ("Northeast 45th Street", "NE 45th St"),
        ("University Way Northeast", "University Way NE"),
        ("Broadway East", "Broadway E"),
        ("Broadway", "Broadway"),
        ("Martin Luther King Junior Way South", "Martin Luther King Jr Way S"),
        ("East Crescent Drive", "E Crescent Dr"),
        ("North", "North"),  # a one-word name keeps its word
        ("Avenue of the Stars", "Avenue of the Stars"),  # a type word never first
    ],
)
def test_short_name(name, short):
    assert short_name(name) == short


def test_base_name_ignores_directions():
    assert base_name("Broadway E") == base_name("Broadway") == "Broadway"
    assert base_name("Eastlake Ave NE") == base_name("Eastlake Ave E")
    assert base_name("NE 45th St") == "45th St"
    assert base_name("N") == "N"


def test_edge_label_falls_back_to_the_route_number():
    assert edge_label({"name": "West Marginal Way Southwest"}) == "W Marginal Way SW"
    assert edge_label({"ref": "I 5;US 99"}) == "I 5"
    assert edge_label({}) == ""
