"""Corridor cells in PostGIS, scoring through the stored forecast, real-data risk."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
import shapely
from django.conf import settings

from commutes.services import commute
from commutes.services.commute_payload import payload
from commutes.services.corridor import find_corridor
from commutes.services.routes import parse_route, parse_window
from core.grid_sql import cell_bounds, cell_id_of
from core.local_time import SEATTLE
from tests.commutes.conftest import FORECAST_START
from tests.commutes.known_forecast import store_known_forecast

pytestmark = pytest.mark.django_db

# Capitol Hill (Broadway & E Pine St) to the University District (NE 45th St &
# University Way NE): the commute, routed along the streets.
CAPITOL_HILL = [-122.3208, 47.6154]
U_DISTRICT = [-122.3130, 47.6612]
CAPITOL_HILL_TO_UW = {"start": CAPITOL_HILL, "end": U_DISTRICT}
# A client-drawn polyline from Capitol Hill towards the UW (scored as drawn).
DRAWN_CAPITOL_HILL_TO_UW = {
    "route": {
        "type": "LineString",
        "coordinates": [
            CAPITOL_HILL,
            [-122.3208, 47.6400],
            [-122.3180, 47.6510],
            [-122.3045, 47.6553],
        ],
    }
}
# Downtown: 3rd Ave from Pine St to Yesler Way, the city's busiest blocks.
BUSY = [[-122.3387, 47.6110], [-122.3320, 47.6040], [-122.3305, 47.6020]]
# Residential View Ridge: NE 75th St, a quiet street.
QUIET = [[-122.2820, 47.6835], [-122.2720, 47.6835]]


def score_commute(*args, **kwargs) -> dict:
    """The API's answer: the scores (dataclasses) rendered as JSON."""
    return payload(commute.score_commute(*args, **kwargs))


def _route(coords, mode="walk"):
    return parse_route(
        {"route": {"type": "LineString", "coordinates": coords}, "mode": mode}
    )


def _independent_corridor(line_utm, width=100.0) -> set[int]:
    """Cells (grid formula) whose square lies within `width` of the line (shapely)."""
    from predictions.models import Cell

    line = shapely.LineString(line_utm.coords)
    xmin, ymin, xmax, ymax = line.buffer(width + 1).bounds
    size = settings.GRID_CELL_SIZE
    found = set()
    x = xmin
    while x <= xmax + size:
        y = ymin
        while y <= ymax + size:
            cid = cell_id_of(x, y)
            if shapely.box(*cell_bounds(cid)).distance(line) <= width:
                found.add(cid)
            y += size
        x += size
    existing = set(Cell.objects.filter(id__in=found).values_list("id", flat=True))
    return existing


def test_corridor_cells_of_a_known_route(commute_data):
    route = parse_route(DRAWN_CAPITOL_HILL_TO_UW | {"mode": "bike"})
    corridor = find_corridor(route.line_utm)
    assert set(corridor.cell_ids.tolist()) == _independent_corridor(route.line_utm)
    # ~4.8 km, ~250 m stretches whose cells together make the corridor.
    assert len(corridor.segments) == round(route.length_m / 250)
    union = set(np.concatenate(corridor.segment_cell_ids).tolist())
    assert union == set(corridor.cell_ids.tolist())
    total = sum(s.length for s in corridor.segments)
    assert total == pytest.approx(route.length_m, rel=1e-6)


def test_scores_equal_sums_computed_independently(commute_data):
    from predictions.services.cells import grid_arrays

    ids = grid_arrays()["cell_ids"]
    rng = np.random.default_rng(3)
    values = rng.gamma(0.5, 0.02, size=(176, ids.size)).astype(np.float32)
    start = FORECAST_START + timedelta(days=7)
    store_known_forecast(start, hours=176, values=values)

    route = parse_route(DRAWN_CAPITOL_HILL_TO_UW | {"mode": "walk"})
    result = score_commute(route)
    assert [r["kind"] for r in result["routes"]] == ["as_drawn"]
    corridor = sorted(_independent_corridor(route.line_utm))
    cols = np.searchsorted(ids, corridor)
    duration = route.length_m / 1000 / 5.0  # walking: 5 km/h
    v = values.astype(np.float64)
    assert result["forecast"]["start"] == start.isoformat()
    assert len(result["timeline"]) == 168
    for d in (0, 8, 77, 167):
        # Minute by minute: where in the week the walker is, times the corridor.
        minutes = np.arange(math.ceil(duration * 60))
        spent = np.minimum(1.0, duration * 60 - minutes) / 60
        hours = (d + minutes // 60).astype(int)
        mine = float((v[hours][:, cols].sum(axis=1) * spent).sum())
        row = result["timeline"][d]
        assert row["expected"] == pytest.approx(mine, rel=1e-3)
        # No reference of random trips for this new forecast yet (the worker builds
        # it after a forecast run): no "typical", rather than a made-up one.
        assert row["typical"] is None and row["relative_risk"] is None
        local = (start + timedelta(hours=d)).astimezone(SEATTLE)
        assert row["departure"] == local.isoformat()


def test_best_departures_are_the_lowest_in_the_window(commute_data):
    route = parse_route(CAPITOL_HILL_TO_UW | {"mode": "bike"})
    window = parse_window({"start": "07:00", "end": "10:00", "days": "weekdays"})
    result = score_commute(route, window)
    from datetime import datetime

    inside = [
        r
        for r in result["timeline"]
        if (t := datetime.fromisoformat(r["departure"])).weekday() < 5
        and 7 <= t.hour <= 10
    ]
    assert len(inside) == result["departures"]["candidates"] == 20
    lowest = sorted(r["expected"] for r in inside)[:3]
    assert [b["expected"] for b in result["departures"]["best"]] == lowest
    assert result["departures"]["worst"]["expected"] == max(
        r["expected"] for r in inside
    )
    assert len(result["departures"]["best_by_day"]) == 5


def test_busiest_route_is_above_typical_and_quiet_route_below(commute_data):
    busy = score_commute(_route(BUSY))["summary"]["mean_relative_risk"]
    quiet = score_commute(_route(QUIET))["summary"]["mean_relative_risk"]
    assert busy > 1.0
    assert quiet < 1.0
    assert busy > 5 * quiet


def test_riskiest_stretch_comes_with_its_recent_history(commute_data):
    from crimes.models import Incident

    result = score_commute(_route(BUSY))
    seg = result["riskiest_segment"]
    features = result["segments"]["features"]
    assert features[seg["index"]]["properties"]["riskiest"] is True
    # The stretch to watch: the busiest beyond the first and last 200 m (and never
    # the first or last stretch, which hold the start and the end).
    length = features[-1]["properties"]["to_m"]
    eligible = [
        f["properties"]
        for f in features[1:-1]
        if f["properties"]["from_m"] >= 200 - 125
        and f["properties"]["to_m"] <= length - 200 + 125
    ]
    assert features[seg["index"]]["properties"] in eligible
    assert features[seg["index"]]["properties"]["rank"] == min(
        p["rank"] for p in eligible
    )
    # Independently: incidents within 100 m of that stretch (shapely on x_utm/y_utm).
    coords = features[seg["index"]]["geometry"]["coordinates"]
    from django.contrib.gis.geos import LineString

    line_utm = LineString(coords, srid=4326).transform(32610, clone=True)
    stretch = shapely.LineString(line_utm.coords)
    history = seg["recent_history"]
    from datetime import datetime

    since = datetime.fromisoformat(history["since"])
    until = datetime.fromisoformat(history["until"])
    rows = Incident.objects.filter(
        x_utm__isnull=False, offense_start__gte=since, offense_start__lte=until
    ).values_list("x_utm", "y_utm")
    xy = np.asarray(list(rows))
    near = shapely.dwithin(shapely.points(xy), stretch, 100.0)
    # The stretch's vertices were rounded to 1e-6 degrees (~10 cm) in the response.
    assert abs(history["total"] - int(near.sum())) <= 2
    assert history["total"] == sum(history["by_time_of_day"].values())
    assert history["groups"][0]["count"] >= history["groups"][-1]["count"]
    assert len(history["groups"]) <= 5
    # Source value kept, label in sentence case beside it, unique.
    labels = [g["label"] for g in history["groups"]]
    assert len(labels) == len(set(labels))
    assert all(
        g["label"] != g["group"] and not g["label"].isupper()
        for g in history["groups"]
        if g["group"] != "UNKNOWN"
    )
