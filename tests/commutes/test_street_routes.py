"""Routes on the real street network: they follow streets, obey one-way rules per
mode, keep pedestrians off motorways, snap onto edges, and their alternatives are
slower but pass fewer expected reported incidents. Checked against PostGIS, networkx
and sums computed here from the grid formula."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import networkx as nx
import numpy as np
import pytest
import shapely
from django.contrib.gis.geos import LineString, Point
from django.db import connection

from commutes.services import street_routes
from streets.models import StreetEdge
from streets.services.street_graph import street_graph
from tests.commutes.conftest import FORECAST_START
from tests.commutes.known_forecast import store_known_forecast
from tests.commutes.test_scoring_db import CAPITOL_HILL_TO_UW, _independent_corridor

pytestmark = pytest.mark.django_db
URL = "/api/v1/commutes/score/"
DOWNTOWN = [-122.3390, 47.6100]  # 3rd Ave & Pike St


def post(client, body):
    response = client.post(URL, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _utm(coords) -> shapely.LineString:
    line = LineString(coords, srid=4326).transform(32610, clone=True)
    return shapely.LineString(line.coords)


def _point_on(edge: StreetEdge, fraction: float) -> list[float]:
    line = edge.geom.transform(32610, clone=True)
    p = shapely.LineString(line.coords).interpolate(fraction, normalized=True)
    back = Point(p.x, p.y, srid=32610).transform(4326, clone=True)
    return [back.x, back.y]


def _nearest_edge(label: str, lon: float, lat: float, **filters) -> StreetEdge:
    from django.contrib.gis.db.models.functions import Distance

    here = Point(lon, lat, srid=4326)
    return (
        StreetEdge.objects.filter(label=label, **filters)
        .annotate(d=Distance("geom", here))
        .order_by("d")
        .first()
    )


def _service_route(mode: str, a, b):
    graph = street_graph()
    snaps = [graph.snap(*a, mode), graph.snap(*b, mode)]
    return graph, street_routes.route_through(graph, mode, snaps)


def _edges_used(graph, route) -> list[tuple[StreetEdge, bool]]:
    ids = [int(graph.edge_ids[s.edge]) for s in route.steps]
    by_id = StreetEdge.objects.in_bulk(ids)
    return [(by_id[i], s.forward) for i, s in zip(ids, route.steps, strict=True)]


def test_a_route_follows_the_streets(client, commute_data):
    data = post(client, CAPITOL_HILL_TO_UW | {"mode": "bike"})
    for route in data["routes"]:
        coords = route["geometry"]["coordinates"]
        assert len(coords) > 50
        with connection.cursor() as cur:
            # For each vertex of the route: the distance to the nearest edge a bike
            # may use (the response rounds to 1e-6 degrees, ~0.1 m).
            cur.execute(
                """
                SELECT max(d) FROM (
                    SELECT (SELECT min(ST_Distance(ST_Transform(e.geom, 32610),
                                ST_Transform(p.g, 32610)))
                            FROM commutes_streetedge e
                            WHERE (e.bike_s IS NOT NULL OR e.bike_back_s IS NOT NULL)
                              AND e.geom && ST_Expand(p.g, 0.001)) AS d
                    FROM (SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) AS g
                          FROM unnest(%s::float8[], %s::float8[]) AS t(x, y)) p
                ) q
                """,
                [[c[0] for c in coords], [c[1] for c in coords]],
            )
            assert cur.fetchone()[0] < 0.2
        # Along the streets is longer than the straight line, and not absurdly so.
        straight = _utm([coords[0], coords[-1]]).length
        assert straight < route["length_m"] < 1.6 * straight
        assert route["length_m"] == pytest.approx(_utm(coords).length, rel=1e-3)


def test_one_way_streets_bind_drivers_and_cyclists_not_walkers(commute_data):
    # 4th Ave downtown: one way, no contraflow cycling.
    edge = _nearest_edge("4th Ave", -122.3353, 47.6087, oneway=1)
    assert edge.drive_back_s is None and edge.bike_back_s is None
    a, b = _point_on(edge, 0.75), _point_on(edge, 0.25)  # against the one-way
    graph, walk = _service_route("walk", a, b)
    assert [(e.id, fwd) for e, fwd in _edges_used(graph, walk)] == [(edge.id, False)]
    assert walk.length_m == pytest.approx(0.5 * edge.length_m, abs=0.5)
    for mode in ("drive", "bike"):
        graph, route = _service_route(mode, a, b)
        assert route.length_m > edge.length_m  # round the block
        for used, forward in _edges_used(graph, route):
            allowed = getattr(used, f"{mode}_s" if forward else f"{mode}_back_s")
            assert allowed is not None, (mode, used, forward)


def test_contraflow_cycling_is_allowed_where_tagged(commute_data):
    edge = (
        StreetEdge.objects.filter(
            oneway=1,
            drive_back_s__isnull=True,
            bike_back_s__isnull=False,
            length_m__gt=80,
            connected=True,
        )
        .order_by("id")
        .first()
    )
    a, b = _point_on(edge, 0.75), _point_on(edge, 0.25)
    graph, bike = _service_route("bike", a, b)
    assert [(e.id, fwd) for e, fwd in _edges_used(graph, bike)] == [(edge.id, False)]
    graph, drive = _service_route("drive", a, b)
    assert drive.length_m > edge.length_m
    assert (edge.id, False) not in [(e.id, f) for e, f in _edges_used(graph, drive)]


def test_no_motorway_on_foot(client, commute_data):
    # Capitol Hill to downtown crosses I-5.
    graph, walk = _service_route("walk", CAPITOL_HILL_TO_UW["start"], DOWNTOWN)
    assert not [e for e, _ in _edges_used(graph, walk) if "motorway" in e.highway]
    graph, drive = _service_route("drive", CAPITOL_HILL_TO_UW["start"], DOWNTOWN)
    assert drive.length_m > 0
    # A point on I-5 itself: a car snaps onto the motorway, a walker beside it.
    i5 = _nearest_edge("I 5", -122.3268, 47.6180, highway="motorway") or (
        StreetEdge.objects.filter(highway="motorway", length_m__gt=100)
        .order_by("id")
        .first()
    )
    on_i5 = _point_on(i5, 0.5)
    assert street_graph().snap(*on_i5, "drive").distance_m < 0.5
    walker = street_graph().snap(*on_i5, "walk")
    snapped_to = StreetEdge.objects.get(pk=street_graph().edge_ids[walker.edge])
    assert "motorway" not in snapped_to.highway
    data = post(client, {"start": on_i5, "end": DOWNTOWN, "mode": "walk"})
    assert data["snapped"][0]["distance_m"] > 1


def test_points_snap_to_the_nearest_point_on_the_nearest_usable_edge(
    client, commute_data
):
    given = [-122.31745, 47.62350]  # in a Capitol Hill block, off the street
    data = post(client, {"start": given, "end": DOWNTOWN, "mode": "walk"})
    snap = data["snapped"][0]
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH p AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326),
                32610) AS g)
            SELECT ST_Distance(ST_Transform(e.geom, 32610), p.g),
                ST_X(ST_Transform(ST_ClosestPoint(ST_Transform(e.geom, 32610), p.g),
                    4326)),
                ST_Y(ST_Transform(ST_ClosestPoint(ST_Transform(e.geom, 32610), p.g),
                    4326)),
                ST_Distance(ST_ClosestPoint(ST_Transform(e.geom, 32610), p.g),
                    ST_Transform(ST_StartPoint(e.geom), 32610)),
                ST_Distance(ST_ClosestPoint(ST_Transform(e.geom, 32610), p.g),
                    ST_Transform(ST_EndPoint(e.geom), 32610))
            FROM commutes_streetedge e, p
            WHERE e.walk_s IS NOT NULL AND e.connected
            ORDER BY ST_Transform(e.geom, 32610) <-> p.g LIMIT 1
            """,
            given,
        )
        distance, x, y, to_start, to_end = cur.fetchone()
    assert 5 < distance < 300
    assert snap["distance_m"] == pytest.approx(distance, abs=0.1)
    moved = _utm([snap["snapped"], [x, y]]).length
    assert moved < 0.2
    # On the edge, not at its nearest vertex.
    assert min(to_start, to_end) > 1
    # The route starts where the point snapped.
    assert data["routes"][0]["geometry"]["coordinates"][0] == snap["snapped"]


def test_the_shortest_route_is_optimal_by_an_independent_engine(commute_data):
    """Vertex to vertex, scipy's route time equals networkx's shortest path."""
    rows = StreetEdge.objects.filter(connected=True).values_list(
        "source", "target", "bike_s", "bike_back_s"
    )
    g = nx.DiGraph()
    for source, target, fwd, back in rows:
        for u, v, w in ((source, target, fwd), (target, source, back)):
            if w is not None and (not g.has_edge(u, v) or g[u][v]["w"] > w):
                g.add_edge(u, v, w=w)
    start_edge = _nearest_edge("Broadway", -122.3208, 47.6154)
    end_edge = _nearest_edge("NE 45th St", -122.3130, 47.6612)
    a = list(start_edge.geom.coords[0])
    b = list(end_edge.geom.coords[-1])
    graph, route = _service_route("bike", a, b)
    best = nx.dijkstra_path_length(g, start_edge.source, end_edge.target, weight="w")
    assert route.seconds == pytest.approx(best, rel=1e-9, abs=1e-3)


@pytest.fixture
def forecast_values(commute_data):
    """Store a forecast for this test only (its transaction is rolled back)."""

    def store(values):
        store_known_forecast(FORECAST_START, hours=176, values=values)

    return store


def _minutes_expected(v, cols, start_h, duration_h):
    """Expected incidents over the trip, minute by minute (independent of scoring)."""
    minutes = np.arange(math.ceil(duration_h * 60))
    spent = np.minimum(1.0, duration_h * 60 - minutes) / 60
    hours = np.floor(start_h + minutes / 60).astype(int)
    return float((v[hours][:, cols].sum(axis=1) * spent).sum())


def test_exposure_equals_sums_computed_independently(
    client, commute_data, forecast_values
):
    from predictions.services.cells import grid_arrays

    ids = grid_arrays()["cell_ids"]
    rng = np.random.default_rng(11)
    values = rng.gamma(0.5, 0.02, size=(176, ids.size)).astype(np.float32)
    forecast_values(values)
    v = values.astype(np.float64)
    body = CAPITOL_HILL_TO_UW | {"mode": "bike", "depart": "2021-12-21T08:20"}
    data = post(client, body)
    depart_h = 24 + 8 + 20 / 60  # Tue 08:20 after the Monday-midnight start
    for route in data["routes"]:
        line = _utm(route["geometry"]["coordinates"])
        corridor = sorted(
            _independent_corridor(LineString(list(line.coords), srid=32610))
        )
        assert route["corridor_cells"] == len(corridor)
        cols = np.searchsorted(ids, corridor)
        duration = route["length_m"] / 1000 / 15.0  # every bike edge: 15 km/h
        assert route["duration_min"] == pytest.approx(duration * 60, abs=0.06)
        for d in (0, 8, 77, 167):
            row = route["timeline"][d]
            assert row["expected"] == pytest.approx(
                _minutes_expected(v, cols, d, duration), rel=2e-3
            )
        assert route["expected"] == pytest.approx(
            _minutes_expected(v, cols, depart_h, duration), rel=2e-3
        )


def test_alternatives_are_slower_but_lower_around_a_known_hot_spot(
    client, commute_data, forecast_values
):
    from predictions.services.cells import grid_arrays

    body = CAPITOL_HILL_TO_UW | {"mode": "bike", "depart": "2021-12-21T08:00"}
    before = post(client, body)["routes"][0]
    # A hot spot on the middle of the shortest way (10th Ave E / Harvard Ave E):
    # every cell within 100 m of its middle fifth gets 0.05 more incidents an hour.
    line = _utm(before["geometry"]["coordinates"])
    middle = shapely.ops.substring(line, 0.4, 0.6, normalized=True)
    hot = _independent_corridor(LineString(list(middle.coords), srid=32610))
    ids = grid_arrays()["cell_ids"]
    values = commute_data.values.copy()
    values[:, np.searchsorted(ids, sorted(hot))] += 0.05
    forecast_values(values)

    data = post(client, body)
    shortest, *alternatives = data["routes"]
    assert shortest["kind"] == "shortest"
    assert shortest["geometry"] == before["geometry"]  # time alone decides it
    assert alternatives, "a detour around the hot spot exists within +30%"
    for alt in alternatives:
        assert alt["kind"] == "alternative"
        assert alt["duration_min"] > shortest["duration_min"]
        assert alt["length_m"] > 0
        assert alt["expected"] < shortest["expected"]
        assert 1 < alt["vs_shortest"]["time"] <= 1.3
        assert alt["vs_shortest"]["expected"] < 0.95
        assert alt["vs_shortest"]["expected"] == pytest.approx(
            alt["expected"] / shortest["expected"], rel=1e-3
        )
        assert alt["comparison"].startswith("+")
        assert "expected reported incidents" in alt["comparison"]
        # It goes round: most of the hot cells are out of its corridor.
        alt_cells = _independent_corridor(
            LineString(list(_utm(alt["geometry"]["coordinates"]).coords), srid=32610)
        )
        assert len(hot & alt_cells) < 0.5 * len(hot)
    # Quickest first, each lower than the one before (Pareto-better).
    times = [r["duration_min"] for r in data["routes"]]
    expected = [r["expected"] for r in data["routes"]]
    assert times == sorted(times)
    assert expected == sorted(expected, reverse=True)
    # The shortest route's riskiest stretch is in the hot spot, named by its street.
    risky = shortest["riskiest_segment"]
    stretch = shortest["segments"]["features"][risky["index"]]
    assert _first_street(risky["name"]) in shortest["streets"]
    assert (
        _independent_corridor(
            LineString(
                list(_utm(stretch["geometry"]["coordinates"]).coords), srid=32610
            )
        )
        & hot
    )


def _first_street(name: str) -> str:
    """ "E Pine St between Broadway and 10th Ave E" -> "E Pine St"."""
    for joint in (" between ", " from ", " up to ", ", then "):
        name = name.split(joint)[0]
    return name


def test_stretches_are_named_by_their_streets_and_cover_the_route(client, commute_data):
    data = post(client, CAPITOL_HILL_TO_UW | {"mode": "bike"})
    route = data["routes"][0]
    features = route["segments"]["features"]
    assert features[0]["properties"]["from_m"] == 0
    assert features[-1]["properties"]["to_m"] == pytest.approx(
        route["length_m"], abs=0.2
    )
    for f, g in zip(features, features[1:], strict=False):
        assert f["properties"]["to_m"] == pytest.approx(g["properties"]["from_m"])
    names = [f["properties"]["name"] for f in features]
    assert (
        names[0].endswith("between your start and E Denny Way")
        or " your start" in (names[0])
    )
    assert "your destination" in names[-1]
    assert any(" between " in n for n in names[1:-1])
    for name in names:
        assert _first_street(name) in route["streets"]


def test_typeahead_finds_intersections_of_the_network(client, commute_data):
    fc = client.get("/api/v1/places/", {"q": "broadway & e pine"}).json()
    top = fc["features"][0]["properties"]
    assert top["name"] == "BROADWAY / E PINE ST"
    assert top["kind"] == "intersection"
    assert top["source"] == "streets"
    # The place is where the two streets meet: routing from it starts there.
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    data = post(client, {"start": [lon, lat], "end": DOWNTOWN, "mode": "walk"})
    assert data["snapped"][0]["distance_m"] < 15
    fc = client.get("/api/v1/places/", {"q": "ne 45th & university way"}).json()
    names = [f["properties"]["name"] for f in fc["features"]]
    assert "NE 45TH ST / UNIVERSITY WAY NE" in names or (
        "UNIVERSITY WAY NE / NE 45TH ST" in names
    )


def test_depart_changes_the_alternatives_hour(client, commute_data):
    body = CAPITOL_HILL_TO_UW | {"mode": "bike"}
    at_3am = post(client, body | {"depart": "2021-12-22T03:00"})
    at_6pm = post(client, body | {"depart": "2021-12-22T18:00"})
    for data, iso in ((at_3am, "T03:00"), (at_6pm, "T18:00")):
        assert iso in data["depart"]["departure"]
        row = next(
            r for r in data["timeline"] if r["departure"] == data["depart"]["departure"]
        )
        assert data["routes"][0]["expected"] == row["expected"]
    assert at_3am["routes"][0]["expected"] != at_6pm["routes"][0]["expected"]
    assert (FORECAST_START + timedelta(days=2, hours=3)).isoformat()[:16] in (
        at_3am["depart"]["departure"]
    )
