import datetime as dt

import pytest
from django.contrib.gis.geos import Point

from crimes.models import Area, Incident

pytestmark = pytest.mark.django_db


def _incident(offense_id: int, when: dt.datetime, location=None) -> Incident:
    return Incident.objects.create(
        offense_id=offense_id,
        report_number=f"2021-{offense_id:06d}",
        offense_start=when,
        reported_at=when,
        crime_against="PROPERTY",
        offense_parent_group="LARCENY-THEFT",
        offense="Theft From Motor Vehicle",
        location=location,
    )


def test_boundaries_are_loaded_by_migration():
    counts = {kind: Area.objects.filter(kind=kind).count() for kind in Area.Kind.values}
    assert counts == {
        "city": 1,
        "precinct": 5,
        "beat": 55,
        "mcpp": 58,
        "neighborhood": 94,
    }
    city = Area.objects.get(kind="city")
    assert city.geom.contains(Point(-122.3331, 47.6097, srid=4326))


def test_generated_columns_follow_seattle_clock():
    # 2021-07-01 15:30 UTC is 08:30 PDT on a Thursday.
    when = dt.datetime(2021, 7, 1, 15, 30, tzinfo=dt.UTC)
    inc = _incident(1, when, Point(-122.3331, 47.6097, srid=4326))
    inc.refresh_from_db()
    assert (inc.local_hour, inc.local_dow) == (8, 3)
    assert 549_000 < inc.x_utm < 551_000 and 5_272_000 < inc.y_utm < 5_274_000
    no_place = _incident(2, when)
    no_place.refresh_from_db()
    assert no_place.x_utm is None


def test_home_shows_what_is_loaded(client):
    when = dt.datetime(2021, 3, 4, 20, 0, tzinfo=dt.UTC)
    _incident(1, when, Point(-122.33, 47.61, srid=4326))
    _incident(2, when)
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-count="2"' in body
    assert "Thu 4 Mar 2021" in body  # weekday and year, always


def test_city_boundary_geojson(client):
    response = client.get("/boundaries/city.geojson")
    assert response.status_code == 200
    data = response.json()
    assert data["type"] == "FeatureCollection"
    assert data["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert client.get("/boundaries/nowhere.geojson").status_code == 404


@pytest.mark.browser
def test_home_page_in_browser(live_server, page, artifacts_dir):
    when = dt.datetime(2021, 3, 4, 20, 0, tzinfo=dt.UTC)
    for i in range(3):
        _incident(i + 1, when, Point(-122.33, 47.61, srid=4326))
    page.goto(live_server.url + "/")
    page.wait_for_selector("#map[data-ready='1']", timeout=15000)
    assert page.locator("#incident-count").inner_text() == "3"
    # The city outline is drawn as a vector path although no tiles load offline.
    assert page.locator("#map path.leaflet-interactive, #map canvas").count() >= 1
    page.screenshot(path=str(artifacts_dir / "home.png"), full_page=True)
    assert page.errors == []
