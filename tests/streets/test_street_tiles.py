"""The site's own base map: Mapbox vector tiles of the streets made by PostGIS.

Tiles are decoded with GDAL's MVT driver (an independent reader), which places them
in EPSG:3857 from their z/x/y path.
"""

from __future__ import annotations

import math

import pytest
from django.contrib.gis.gdal import DataSource, GDALException
from django.contrib.gis.gdal.feature import Feature
from django.contrib.gis.gdal.prototypes import ds as capi
from django.contrib.gis.geos import Point

from tests.reference_data import ensure_streets

pytestmark = pytest.mark.django_db


@pytest.fixture
def streets(db):
    ensure_streets()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def decode(
    body: bytes, z: int, x: int, y: int, tmp_path, layer_name: str = "streets"
) -> list[dict]:
    path = tmp_path / str(z) / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    source = DataSource(str(path))
    names = [layer.name for layer in source]
    assert layer_name in names, names
    layer = source[names.index(layer_name)]
    assert layer.srs.srid == 3857
    # The MVT driver's feature count is an estimate, so read until the driver
    # says there is no next feature (Django's Layer iterates by that count).
    capi.reset_reading(layer.ptr)
    features = []
    while True:
        try:
            feature = Feature(capi.get_next_feature(layer.ptr), layer)
        except GDALException:
            break
        fields = set(feature.fields)
        features.append(
            {
                **{
                    k: feature.get(k)
                    for k in ("name", "class", "rank", "kind")
                    if k in fields
                },
                "geom": feature.geom,
            }
        )
    return features


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    half = 20037508.342789244
    size = 2 * half / 2**z
    return (
        -half + x * size,
        half - (y + 1) * size,
        -half + (x + 1) * size,
        half - y * size,
    )


def test_a_downtown_tile_is_valid_mvt_with_the_streets(client, streets, tmp_path):
    z, x, y = tile_of(-122.3380, 47.6090, 16)  # Pike Place / 1st Ave
    response = client.get(f"/tiles/streets/{z}/{x}/{y}.pbf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert "public" in response["Cache-Control"]
    features = decode(response.content, z, x, y, tmp_path)
    assert len(features) > 5  # lines of one street name and class, merged
    names = {f["name"] for f in features}
    assert {"Pike St", "1st Ave"} <= names
    xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
    pad = (xmax - xmin) * 64 / 4096 + 1  # the tile's 64-unit buffer
    for f in features:
        assert f["geom"].geom_type in ("LineString", "MultiLineString")
        ex = f["geom"].extent
        assert xmin - pad <= ex[0] and ex[2] <= xmax + pad
        assert ymin - pad <= ex[1] and ex[3] <= ymax + pad


def test_beyond_the_map_data_is_an_empty_tile(client, streets):
    z, x, y = tile_of(-122.4600, 47.6200, 14)  # Puget Sound, west of the data
    response = client.get(f"/tiles/streets/{z}/{x}/{y}.pbf")
    assert response.status_code == 200
    assert response.content == b""


def test_bigger_roads_from_far_every_street_close_up(client, streets, tmp_path):
    far = tile_of(-122.3331, 47.6062, 11)
    close = tile_of(-122.3200, 47.6200, 15)  # Capitol Hill
    far_features = decode(
        client.get("/tiles/streets/{}/{}/{}.pbf".format(*far)).content, *far, tmp_path
    )
    close_features = decode(
        client.get("/tiles/streets/{}/{}/{}.pbf".format(*close)).content,
        *close,
        tmp_path,
    )
    assert {f["class"] for f in far_features} <= {"motorway", "trunk", "primary"}
    assert "residential" in {f["class"] for f in close_features}
    assert far_features and all(f["rank"] <= 2 for f in far_features)


def test_tiles_revalidate_by_network_load_and_reject_bad_addresses(client, streets):
    z, x, y = tile_of(-122.3331, 47.6062, 14)
    first = client.get(f"/tiles/streets/{z}/{x}/{y}.pbf")
    again = client.get(
        f"/tiles/streets/{z}/{x}/{y}.pbf", HTTP_IF_NONE_MATCH=first["ETag"]
    )
    assert again.status_code == 304
    assert client.get("/tiles/streets/3/9/1.pbf").status_code == 404
    assert client.get("/tiles/streets/25/0/0.pbf").status_code == 404
    assert client.get("/tiles/streets/a/0/0.pbf").status_code == 404


def test_pages_draw_the_bundled_streets_when_no_tile_server_is_set(client, streets):
    import json
    import re

    body = client.get("/").content.decode()
    config = json.loads(
        re.search(
            r'<script id="site-config" type="application/json">(.*?)</script>',
            body,
        ).group(1)
    )
    assert config["tilesUrl"] == ""
    assert config["streetTilesUrl"] == "/tiles/streets/{z}/{x}/{y}.pbf"
    assert config["glyphsUrl"].endswith("/{fontstack}/{range}.pbf")
    assert config["mapStyleUrl"].endswith("style.json")
    assert config["maplibreUrl"].endswith("maplibre-gl.mjs")


def downtown() -> tuple[int, int, int]:
    return tile_of(-122.3380, 47.6090, 16)  # Pike Place / 1st Ave


def test_tiles_are_rate_limited_per_address(client, streets, monkeypatch):
    # Issue 16: tiles were not rate-limited at all.
    from core.throttling import AnonWindowThrottle

    monkeypatch.setattr(
        AnonWindowThrottle,
        "THROTTLE_RATES",
        {**AnonWindowThrottle.THROTTLE_RATES, "tiles": "3/minute"},
    )
    z, x, y = downtown()
    codes = [
        client.get(f"/tiles/streets/{z}/{x}/{y + k}.pbf").status_code for k in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    refused = client.get(f"/tiles/streets/{z}/{x}/{y}.pbf")
    body = refused.json()
    assert body["code"] == "throttled" and refused["Retry-After"] == str(
        body["retry_after"]
    )
    # Its own bucket: the API still answers.
    assert client.get("/api/v1/meta/").status_code == 200


def test_tiles_far_from_the_streets_cost_no_query_and_are_kept_nowhere(
    client, streets, django_assert_num_queries
):
    from core import cache

    client.get("/tiles/streets/{}/{}/{}.pbf".format(*downtown()))  # reads the extent
    redis = cache.redis_client()
    before = set(redis.scan_iter("*street-tiles*"))
    far = [(18, 0, 0), (14, 9000, 3000), (17, 1000, 1000), (12, 100, 100)]
    with django_assert_num_queries(0):
        for z, x, y in far:
            response = client.get(f"/tiles/streets/{z}/{x}/{y}.pbf")
            assert response.status_code == 200 and response.content == b""
    assert set(redis.scan_iter("*street-tiles*")) == before


def test_close_up_tiles_are_not_kept_in_redis(client, streets):
    from core import cache
    from streets.views import SHARED_MAX_ZOOM

    z, x, y = downtown()
    deeper = SHARED_MAX_ZOOM + 1 - z
    redis = cache.redis_client()
    before = set(redis.scan_iter("*street-tiles*"))
    response = client.get(
        f"/tiles/streets/{z + deeper}/{x * 2**deeper}/{y * 2**deeper}.pbf"
    )
    assert response.status_code == 200
    assert set(redis.scan_iter("*street-tiles*")) == before


def test_lake_union_is_water_and_named(client, streets, tmp_path):
    z, x, y = tile_of(-122.3380, 47.6390, 14)  # the middle of Lake Union
    body = client.get(f"/tiles/streets/{z}/{x}/{y}.pbf").content
    water = decode(body, z, x, y, tmp_path, "water")
    assert water and all(
        f["geom"].geom_type in ("Polygon", "MultiPolygon") for f in water
    )
    point = Point(*_mercator(-122.3380, 47.6390), srid=3857)
    assert any(f["geom"].geos.contains(point) for f in water)
    labels = decode(body, z, x, y, tmp_path, "labels")
    assert ("water", "Lake Union") in {(f["kind"], f["name"]) for f in labels}


def test_downtown_is_not_water_and_parks_are_green(client, streets, tmp_path):
    z, x, y = tile_of(-122.3331, 47.6062, 14)  # 4th Ave & University St
    body = client.get(f"/tiles/streets/{z}/{x}/{y}.pbf").content
    point = Point(*_mercator(-122.3331, 47.6062), srid=3857)
    water = decode(body, z, x, y, tmp_path, "water")
    assert not any(f["geom"].geos.contains(point) for f in water)
    z, x, y = tile_of(-122.3191, 47.6162, 15)  # Cal Anderson Park
    body = client.get(f"/tiles/streets/{z}/{x}/{y}.pbf").content
    parks = decode(body, z, x, y, tmp_path, "parks")
    point = Point(*_mercator(-122.3191, 47.6162), srid=3857)
    assert any(
        f["geom"].geos.contains(point) and f["name"] == "Cal Anderson Park"
        for f in parks
    )


def test_names_by_zoom_districts_far_stations_and_landmarks_close(
    client, streets, tmp_path
):
    from streets.models import MapLabel

    def labels_around(kind: str, name: str, zoom: int) -> set:
        point = MapLabel.objects.get(kind=kind, name=name).geom.transform(4326, True)
        z, x, y = tile_of(point.x, point.y, zoom)
        body = client.get(f"/tiles/streets/{z}/{x}/{y}.pbf").content
        return {
            (f["kind"], f["name"]) for f in decode(body, z, x, y, tmp_path, "labels")
        }

    far = labels_around("district", "Capitol Hill", 11)
    assert ("district", "Capitol Hill") in far
    assert not {kind for kind, _ in far} & {"landmark", "neighbourhood"}
    assert ("station", "Capitol Hill Station") in labels_around(
        "station", "Capitol Hill Station", 15
    )
    assert ("neighbourhood", "Broadway") in labels_around(
        "neighbourhood", "Broadway", 14
    )
    assert ("neighbourhood", "Broadway") not in labels_around(
        "neighbourhood", "Broadway", 12
    )


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    r = 6378137.0
    return (
        math.radians(lon) * r,
        math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * r,
    )


def test_a_tile_asked_again_comes_from_this_process_until_the_streets_change(
    client, streets, django_assert_num_queries
):
    from core import cache

    url = "/tiles/streets/{}/{}/{}.pbf".format(*downtown())
    first = client.get(url).content
    assert first
    redis = cache.redis_client()
    for key in redis.scan_iter("*street-tiles*"):  # the shared copy gone
        redis.delete(key)
    with django_assert_num_queries(0):  # neither Redis's copy nor PostGIS
        assert client.get(url).content == first
    cache.bump(cache.STREETS)  # a network load: every kept tile is retired
    with django_assert_num_queries(2):  # made again: the network's extent, the tile
        assert client.get(url).content == first
