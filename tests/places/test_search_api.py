"""GET /api/v1/places/: the typeahead over the place index, and its 400s."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_places_typeahead(client, place_data):
    names = [
        f["properties"]["name"]
        for f in client.get("/api/v1/places/", {"q": "e pine"}).json()["features"]
    ]
    assert names[0] == "E Pine St"  # the street: a prefix match, the most prominent
    assert all("E PINE" in n.upper() for n in names)
    fc = client.get("/api/v1/places/", {"q": "westlake / lenora"}).json()
    assert fc["features"][0]["properties"]["name"] == "WESTLAKE AVE / LENORA ST"
    assert fc["features"][0]["properties"]["kind"] == "intersection"
    fc = client.get("/api/v1/places/", {"q": "712 E Pine St", "limit": 3}).json()
    assert fc["features"][0]["properties"]["name"] == "712 E Pine St"
    assert fc["features"][0]["properties"]["kind"] == "address"
    assert fc["features"][1]["properties"]["name"] == "7XX BLOCK OF E PINE ST"
    assert len(fc["features"]) == 3
    typo = client.get("/api/v1/places/", {"q": "westlke ave"}).json()
    assert any("WESTLAKE" in f["properties"]["name"] for f in typo["features"])


def test_a_place_sits_at_the_mean_location_of_its_incidents(place_data):
    from django.db.models import Avg, Count

    from crimes.models import Incident
    from places.models import Place

    place = Place.objects.get(name="7XX BLOCK OF E PINE ST")
    agg = Incident.objects.filter(
        block_address=place.name, x_utm__isnull=False
    ).aggregate(x=Avg("x_utm"), y=Avg("y_utm"), n=Count("id"))
    utm = place.location.transform(32610, clone=True)
    assert place.incidents == agg["n"]
    assert utm.x == pytest.approx(agg["x"], abs=0.01)
    assert utm.y == pytest.approx(agg["y"], abs=0.01)


def test_places_refresh_after_the_data_version_moves(client, place_data):
    from django.contrib.gis.geos import Point
    from django.db import connection
    from django.utils import timezone

    from core.cache import DATA, bump
    from crimes.models import Incident

    client.get("/api/v1/places/", {"q": "pine"})  # builds for this version
    Incident.objects.bulk_create(  # any new incident bumps the data version
        [
            Incident(
                offense_id=1,
                report_number="X-1",
                reported_at=timezone.now(),
                block_address="99XX BLOCK OF ZYZZYVA LN",
                location=Point(-122.33, 47.61, srid=4326),
            )
        ]
    )
    fc = client.get("/api/v1/places/", {"q": "zyzzyva"}).json()
    assert fc["features"][0]["properties"]["name"] == "99XX BLOCK OF ZYZZYVA LN"
    # A version that moved for any reason refreshes too (the table is derived).
    with connection.cursor() as cur:
        cur.execute("UPDATE crimes_incident SET block_address = 'ELSEWHERE ST'")
    assert client.get("/api/v1/places/", {"q": "zyzzyva"}).json()["features"]
    bump(DATA)  # what the importer does after writing with SQL
    assert client.get("/api/v1/places/", {"q": "zyzzyva"}).json()["features"] == []


def test_answers_are_kept_by_normalised_query_until_the_index_moves(
    client, place_data, django_assert_num_queries
):
    """A typeahead's repeated prefixes are answered from the cache (no SQL), under
    the index's state: a rebuild (a new data version) answers from the new rows."""
    from core.cache import DATA, bump
    from places.models import Place

    first = client.get("/api/v1/places/", {"q": "space needle"}).json()
    assert first["features"][0]["properties"]["name"] == "Space Needle"
    with django_assert_num_queries(0):
        again = client.get("/api/v1/places/", {"q": "  SPACE   needle "}).json()
    assert again["features"] == first["features"]
    Place.objects.filter(name="Space Needle").update(name="Needle of Space")
    bump(DATA)  # the index is rebuilt (SPD's rows) and gets a new state
    moved = client.get("/api/v1/places/", {"q": "space needle"}).json()
    assert moved["features"][0]["properties"]["name"] == "Needle of Space"


def test_no_match_quotes_what_was_typed_even_when_cached(client, place_data):
    a = client.get("/api/v1/places/", {"q": "qqzzxx vvww"}).json()
    b = client.get("/api/v1/places/", {"q": "QQZZXX  vvww"}).json()
    assert a["message"] == "No match in Seattle for “qqzzxx vvww”"
    assert b["message"] == "No match in Seattle for “QQZZXX  vvww”"


def test_refresh_places_command(place_data):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("refresh_places", stdout=out)
    assert int(out.getvalue().split()[0]) > 10_000


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "pine", "limit": "x"}, "limit"),
        ({"q": "pine", "limit": 500}, "limit"),
    ],
)
def test_places_bad_parameters(client, params, field):
    response = client.get("/api/v1/places/", params)
    assert response.status_code == 400
    assert response.json()["parameter"] == field


def test_short_words_match_word_starts(place_data):
    from places.services.search import search_places

    matches = search_places("ne", 5)
    assert len(matches) == 5
    assert all(" NE" in f" {m.name.upper()}" for m in matches)
