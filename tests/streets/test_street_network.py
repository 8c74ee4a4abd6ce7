"""The OpenStreetMap street network as loaded into PostGIS (data/streets/).

Checked against the extract itself (read here with json, not with the loader) and
against PostGIS. Every test runs in a rolled-back transaction, so reloads of a
changed extract leave the network of the test database as the migration made it.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter

import numpy as np
import pytest
import shapely
import shapely.geometry
from django.conf import settings
from django.db import connection
from pyproj import Transformer

from places.models import Place
from places.services.index import build_streets
from streets.models import StreetEdge, StreetNetworkLoad
from streets.services.street_network import CITY_MARGIN_M, load_network
from tests.reference_data import ensure_streets

pytestmark = pytest.mark.django_db


@pytest.fixture
def streets(db):
    ensure_streets()


@pytest.fixture(scope="module")
def extract() -> dict:
    with gzip.open(settings.STREETS_FILE, "rt") as handle:
        return json.load(handle)


def _ways(extract) -> dict[int, dict]:
    return {e["id"]: e for e in extract["elements"] if e["type"] == "way"}


def test_the_bundled_extract_is_the_documented_file():
    import hashlib

    digest = hashlib.sha256(settings.STREETS_FILE.read_bytes()).hexdigest()
    assert digest == "073785de32ecbca4129286a2dc37881d24386ea69895a987e6b1cde019e451e8"
    readme = (settings.STREETS_FILE.parent / "README.md").read_text()
    assert "OpenStreetMap contributors" in readme and "ODbL" in readme


def test_migration_loaded_the_network(streets):
    load = StreetNetworkLoad.objects.latest()
    assert load.edges == StreetEdge.objects.count() > 35_000
    assert load.connected_share > 0.99
    assert load.sha256.startswith("073785de")


def test_edges_are_ways_split_at_shared_nodes(streets, extract):
    nodes = {
        e["id"]: (e["lon"], e["lat"])
        for e in extract["elements"]
        if e["type"] == "node"
    }
    uses = Counter(n for w in _ways(extract).values() for n in w["nodes"])
    ends = set()
    interior = set()
    for line in StreetEdge.objects.values_list("geom", flat=True).iterator():
        coords = [tuple(round(c, 7) for c in xy) for xy in line.coords]
        ends.update((coords[0], coords[-1]))
        interior.update(coords[1:-1])
    shared = {tuple(round(c, 7) for c in nodes[n]) for n, k in uses.items() if k >= 2}
    # No edge passes through a node another way (or its own) shares...
    assert not interior & shared
    # ...and every edge end is a shared node or a way's end.
    way_ends = {
        tuple(round(c, 7) for c in nodes[w["nodes"][i]])
        for w in _ways(extract).values()
        for i in (0, -1)
    }
    assert ends <= shared | way_ends


def test_lengths_are_metres_in_utm_zone_10n(streets):
    to_utm = Transformer.from_crs(4326, 32610, always_xy=True)
    sample = StreetEdge.objects.order_by("id")[::500]
    for edge in sample:
        x, y = to_utm.transform(*np.asarray(edge.geom.coords).T)
        assert edge.length_m == pytest.approx(
            shapely.LineString(np.column_stack([x, y])).length, rel=1e-9, abs=1e-6
        )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT max(abs(length_m - ST_Length(ST_Transform(geom, 32610))))"
            " FROM commutes_streetedge"
        )
        assert cur.fetchone()[0] < 1e-6


def test_clipped_to_the_city_limits_with_a_margin(streets):
    """Every edge comes within the margin of the city limits (read from the
    boundary file here, not from the database)."""
    to_utm = Transformer.from_crs(4326, 32610, always_xy=True)
    city = json.loads((settings.BOUNDARIES_DIR / "city_limits.geojson").read_text())
    parts = [shapely.geometry.shape(f["geometry"]) for f in city["features"]]
    outline = shapely.transform(
        shapely.union_all(parts), lambda xy: np.column_stack(to_utm.transform(*xy.T))
    )
    shapely.prepare(outline)
    lines = shapely.from_wkb(
        [bytes(g.wkb) for g in StreetEdge.objects.values_list("geom", flat=True)]
    )
    lines = shapely.transform(
        lines, lambda xy: np.column_stack(to_utm.transform(*xy.T))
    )
    # The loader buffers an outline simplified by 25 m: allow that much more.
    assert shapely.dwithin(outline, lines, CITY_MARGIN_M + 25).all()
    assert not shapely.dwithin(outline, lines, 0).all()  # the margin is used
    # Mercer Island (inside the extract's rectangle) is not Seattle.
    assert not StreetEdge.objects.filter(
        geom__intersects="SRID=4326;POLYGON((-122.245 47.55, -122.21 47.55, "
        "-122.21 47.60, -122.245 47.60, -122.245 47.55))"
    ).exists()


def _edges_of(way_id: int):
    return list(StreetEdge.objects.filter(way_id=way_id))


def test_who_may_use_a_street_follows_its_tags(streets, extract):
    ways = _ways(extract)
    motorway = next(
        w
        for w in ways.values()
        if w["tags"]["highway"] == "motorway" and _edges_of(w["id"])
    )
    for edge in _edges_of(motorway["id"]):
        assert edge.walk_s is None and edge.bike_s is None and edge.bike_back_s is None
        assert edge.drive_s is not None and edge.drive_back_s is None  # implied one-way
    one_way = next(
        w
        for w in ways.values()
        if w["tags"].get("oneway") == "yes"
        and w["tags"]["highway"] == "residential"
        and not any(k.startswith(("oneway:", "cycleway")) for k in w["tags"])
        and _edges_of(w["id"])
    )
    for edge in _edges_of(one_way["id"]):
        assert edge.drive_s and edge.drive_back_s is None
        assert edge.bike_s and edge.bike_back_s is None
        assert (
            edge.walk_s == edge.walk_back_s == pytest.approx(edge.length_m / (5 / 3.6))
        )
    contraflow = next(
        w
        for w in ways.values()
        if w["tags"].get("oneway") == "yes"
        and w["tags"].get("oneway:bicycle") == "no"
        and _edges_of(w["id"])
    )
    for edge in _edges_of(contraflow["id"]):
        assert edge.drive_back_s is None
        assert edge.bike_back_s == pytest.approx(edge.length_m / (15 / 3.6))
    # The University Bridge's roadway is foot=no with its sidewalks mapped apart
    # (not in the extract): walking routes may still cross it.
    bridge = next(
        w
        for w in ways.values()
        if w["tags"].get("name") == "Eastlake Avenue Northeast"
        and w["tags"].get("foot") == "no"
        and w["tags"].get("sidewalk:both") == "separate"
    )
    assert all(e.walk_s for e in _edges_of(bridge["id"]))


def test_driving_speed_comes_from_maxspeed_or_the_class(streets, extract):
    ways = _ways(extract)
    posted = next(
        w
        for w in ways.values()
        if w["tags"].get("maxspeed") == "30 mph" and _edges_of(w["id"])
    )
    for edge in _edges_of(posted["id"]):
        assert edge.speed_kmh == pytest.approx(30 * 1.609344)
        if edge.drive_s is not None:
            assert edge.drive_s == pytest.approx(edge.length_m / edge.speed_kmh * 3.6)
    unposted = next(
        w
        for w in ways.values()
        if "maxspeed" not in w["tags"]
        and w["tags"]["highway"] == "residential"
        and _edges_of(w["id"])
    )
    for edge in _edges_of(unposted["id"]):
        assert edge.speed_kmh == pytest.approx(20 * 1.609344)


def test_each_edge_knows_the_cells_within_100_m(streets):
    sample = list(StreetEdge.objects.order_by("id")[::997])
    with connection.cursor() as cur:
        for edge in sample:
            cur.execute(
                "SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM predictions_cell"
                " WHERE ST_Distance(geom, ST_Transform(ST_GeomFromEWKT(%s), 32610))"
                " <= 100",
                [edge.geom.ewkt],
            )
            assert edge.cell_ids == cur.fetchone()[0]


def _index_intersections() -> None:
    with connection.cursor() as cur:
        build_streets(cur)


def test_the_networks_intersections_are_places(streets):
    _index_intersections()
    place = Place.objects.get(source="streets", name="BROADWAY / E PINE ST")
    assert place.kind == "intersection"
    junction = place.location.transform(32610, clone=True)
    broadway = StreetEdge.objects.filter(label="Broadway")
    pine = StreetEdge.objects.filter(label="E Pine St")
    near = [
        e
        for e in [*broadway, *pine]
        if e.geom.transform(32610, clone=True).distance(junction) < 20
    ]
    assert {e.label for e in near} == {"Broadway", "E Pine St"}


def test_rerun_changes_nothing(streets):
    before = _ids_by_key()
    result = load_network()
    assert result["inserted"] == result["updated"] == result["deleted"] == 0
    assert result["unchanged"] == len(before)
    assert _ids_by_key() == before
    assert StreetNetworkLoad.objects.count() >= 2


def _key(edge) -> tuple:
    return (edge.way_id, edge.source, edge.target, edge.part)


def _ids_by_key() -> dict[tuple, tuple[int, float]]:
    """(way, source, target, part) -> (id, length) of every edge."""
    rows = StreetEdge.objects.values_list(
        "way_id", "source", "target", "part", "id", "length_m"
    )
    return {r[:4]: r[4:] for r in rows}


def test_reload_of_a_changed_extract_keeps_unchanged_ids(streets, extract, tmp_path):
    ways = _ways(extract)
    usage = Counter(n for w in ways.values() for n in w["nodes"])
    per_way = Counter(StreetEdge.objects.values_list("way_id", flat=True))
    candidates = [
        w
        for w in ways.values()
        if w["tags"]["highway"] == "residential" and per_way[w["id"]] >= 2
    ]
    removed, renamed = candidates[0], candidates[1]
    # A shape node of a third way that no other way uses: moving it changes one edge.
    moved_way = next(
        w for w in candidates[2:] if any(usage[n] == 1 for n in w["nodes"][1:-1])
    )
    moved_node = next(n for n in moved_way["nodes"][1:-1] if usage[n] == 1)
    elements = []
    for element in extract["elements"]:
        if element["type"] == "way" and element["id"] == removed["id"]:
            continue
        if element["type"] == "way" and element["id"] == renamed["id"]:
            element = {**element, "tags": {**element["tags"]}}
            element["tags"]["name"] = "Test Renamed Street"
        if element["type"] == "node" and element["id"] == moved_node:
            element = {**element, "lat": element["lat"] + 0.0006}  # ~67 m north
            moved_to = (element["lon"], element["lat"])
        elements.append(element)
    changed = {**extract, "elements": elements}
    path = tmp_path / "changed.json.gz"
    with gzip.open(path, "wt", compresslevel=1) as handle:
        json.dump(changed, handle)

    before = _ids_by_key()
    cells_before = dict(StreetEdge.objects.values_list("id", "cell_ids"))
    result = load_network(path)
    after = _ids_by_key()

    # Every edge whose key is still in the file keeps its id.
    kept = before.keys() & after.keys()
    assert all(before[k][0] == after[k][0] for k in kept)
    assert result["deleted"] == len(before.keys() - after.keys()) > 0
    assert result["inserted"] == len(after.keys() - before.keys())
    assert not _edges_of(removed["id"])
    assert {e.label for e in _edges_of(renamed["id"])} == {"Test Renamed St"}
    assert result["updated"] >= len(_edges_of(renamed["id"])) + 1
    assert result["unchanged"] == len(after) - result["inserted"] - result["updated"]
    # A renamed edge keeps its cells; the moved one has them recomputed.
    for edge in _edges_of(renamed["id"]):
        assert edge.cell_ids == cells_before[edge.id]
    moved = next(
        e
        for e in _edges_of(moved_way["id"])
        if any(
            abs(x - moved_to[0]) < 1e-7 and abs(y - moved_to[1]) < 1e-7
            for x, y in e.geom.coords
        )
    )
    assert moved.id == before[_key(moved)][0]
    assert moved.length_m != before[_key(moved)][1]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM predictions_cell"
            " WHERE ST_DWithin(geom, ST_Transform(ST_GeomFromEWKT(%s), 32610), 100)",
            [moved.geom.ewkt],
        )
        assert moved.cell_ids == cur.fetchone()[0]
    # The network's intersections follow the new name.
    _index_intersections()
    assert Place.objects.filter(
        source="streets", name__contains="TEST RENAMED ST"
    ).exists()

    # The bundled file again: the removed way comes back, the rest as before.
    result = load_network()
    restored = _ids_by_key()
    assert restored.keys() == before.keys()
    assert all(restored[k][0] == before[k][0] for k in kept)
    assert result["deleted"] == len(after.keys() - before.keys())


def test_the_base_map_lines_are_the_edges_merged(streets):
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT e.label, e.highway, e.len, l.len, l.n
            FROM (SELECT label, highway, sum(ST_Length(geom_mercator)) AS len
                  FROM commutes_streetedge GROUP BY 1, 2) e
            FULL JOIN (SELECT label, highway, sum(ST_Length(geom_mercator)) AS len,
                       count(*) AS n FROM commutes_streetline GROUP BY 1, 2) l
            USING (label, highway)
            """
        )
        rows = cur.fetchall()
    assert rows and all(r[2] == pytest.approx(r[3], rel=1e-9) for r in rows)
    assert sum(r[4] for r in rows) < StreetEdge.objects.count() / 2


def test_a_rebuilt_grid_recomputes_every_edges_cells(streets):
    from predictions.services.cells import build_cells

    build_cells(cell_size=300)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM commutes_streetedge e WHERE e.cell_ids IS DISTINCT"
            " FROM (SELECT coalesce(array_agg(c.id ORDER BY c.id), '{}')"
            "  FROM predictions_cell c"
            "  WHERE ST_DWithin(c.geom, ST_Transform(e.geom, 32610), 100))"
            " AND e.id % 50 = 0"
        )
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT max(size) FROM predictions_cell")
        assert cur.fetchone()[0] == 300
    assert StreetNetworkLoad.objects.latest().grid_signature.endswith(":300")
