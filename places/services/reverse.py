"""Reverse lookup: a point -> a name a person knows.

"at Capitol Hill Station"; "at Space Needle" (a landmark, school, college, library,
hospital or park known by a point, within AT_PLACE_M of it and nearer than any
street; "at Black Lives Memorial Garden, in Cal Anderson Park" inside a park);
"in Cal Anderson Park"; else "near 15XX Broadway, at E Pine St" (the nearest
street, its hundred block from SPD's blocks on it or, where the street has none
nearby, from the same hundred of its family's blocks around, and the nearest cross
street), else the neighbourhood; ``None`` outside Seattle.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from pyproj import Transformer

from places.services.addresses import family_pattern

# Within this of a station's point is "at" it.
AT_STATION_M = 120.0
# Within this of a named place's point is "at" it (about the footprint of the
# Space Needle or a school building around the point OpenStreetMap gives).
AT_PLACE_M = 60.0
# Named places known by a point (parks with a polygon are "in").
POINT_PLACES = (
    "(kind IN ('landmark', 'school', 'college', 'library', 'hospital')"
    " OR (kind = 'park' AND shape IS NULL))"
)
# A street further than this is not "near".
NEAR_STREET_M = 150.0
# SPD blocks this close on the street (or of its family) give the hundred.
BLOCK_REACH_M = 200.0
CROSS_REACH_M = 150.0

_TO_METRIC = Transformer.from_crs(4326, settings.ANALYSIS_SRID, always_xy=True)
# A box around the point for the GiST index (degrees; a degree of longitude is
# ~75 km here, of latitude ~111 km): the metric test then decides.
_BOX = (
    " AND location && ST_Expand(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326),"
    " %(deg)s)"
)
_DEG_PER_M = 1 / 70_000


@dataclass(frozen=True)
class Reverse:
    name: str
    # "station", a named place's kind ("landmark", "school", ...), "park",
    # "address", "neighbourhood"
    kind: str
    street: str = ""
    block: str = ""
    cross_street: str = ""
    neighbourhood: str = ""
    place: str = ""


def _one(cur, sql: str, params: dict):
    cur.execute(sql, params)
    return cur.fetchone()


def reverse(lon: float, lat: float) -> Reverse | None:
    x, y = _TO_METRIC.transform(lon, lat)
    p = {"lon": lon, "lat": lat, "x": x, "y": y}
    point = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)"
    with connection.cursor() as cur:
        inside = _one(
            cur,
            "SELECT EXISTS (SELECT 1 FROM crimes_area WHERE kind = 'city'"
            f" AND ST_Intersects(geom, {point}))",
            p,
        )[0]
        if not inside:
            return None
        hood = _one(
            cur,
            "SELECT name FROM places_place WHERE source = 'atlas'"
            f" AND ST_Intersects(shape, {point}) ORDER BY prominence LIMIT 1",
            p,
        )
        hood_name = hood[0] if hood else ""
        park = _one(
            cur,
            "SELECT name FROM places_place WHERE kind = 'park' AND alias = ''"
            f" AND ST_Intersects(shape, {point}) ORDER BY ST_Area(shape) LIMIT 1",
            p,
        )
        station = _one(
            cur,
            "SELECT name FROM places_place WHERE kind = 'station' AND alias = ''"
            " AND (x - %(x)s) * (x - %(x)s) + (y - %(y)s) * (y - %(y)s) <= %(r)s"
            + _BOX
            + " ORDER BY (x - %(x)s) * (x - %(x)s) + (y - %(y)s) * (y - %(y)s)"
            " LIMIT 1",
            p | {"r": AT_STATION_M**2, "deg": AT_STATION_M * _DEG_PER_M},
        )
        if station:
            return Reverse(
                f"at {station[0]}", "station", neighbourhood=hood_name, place=station[0]
            )
        named = _one(
            cur,
            f"SELECT name, kind, sqrt({_NEAREST}) FROM places_place"
            f" WHERE {POINT_PLACES} AND alias = ''"
            f" AND {_NEAREST} <= %(r)s{_BOX} ORDER BY {_NEAREST} LIMIT 1",
            p | {"r": AT_PLACE_M**2, "deg": AT_PLACE_M * _DEG_PER_M},
        )
        street = _one(
            cur,
            f"""
            SELECT name, street, ST_Distance(shape::geography, {point}::geography) AS d
            FROM places_place WHERE kind = 'street' AND alias = ''
            ORDER BY shape <-> {point} LIMIT 1
            """,
            p,
        )
        # A click nearer the place than any street is on the place (the Space
        # Needle, 80 m from its streets); one on the street by a sculpture at the
        # corner is still the corner.
        if named and (street is None or named[2] < street[2]):
            name, kind, _ = named
            text = f"at {name}, in {park[0]}" if park else f"at {name}"
            return Reverse(text, kind, neighbourhood=hood_name, place=name)
        if park:
            return Reverse(
                f"in {park[0]}", "park", neighbourhood=hood_name, place=park[0]
            )
        if street is None or street[2] > NEAR_STREET_M:
            return Reverse(
                f"in {hood_name}" if hood_name else "in Seattle",
                "neighbourhood",
                neighbourhood=hood_name,
            )
        name, key, _ = street
        block = _block(cur, key, p)
        cross = _cross(cur, key, p)
        text = f"near {block} {name}" if block else f"near {name}"
        if cross:
            text += f", at {cross}"
        return Reverse(
            text,
            "address",
            street=name,
            block=block,
            cross_street=cross,
            neighbourhood=hood_name,
        )


_NEAREST = "(x - %(x)s) * (x - %(x)s) + (y - %(y)s) * (y - %(y)s)"


def _block(cur, street: str, p: dict) -> str:
    """ "15XX" from SPD's nearest block on the street, else of its family."""
    for condition, value in (
        ("street = %(s)s", street),
        ("street LIKE %(s)s", family_pattern(street)),
    ):
        row = _one(
            cur,
            f"SELECT number FROM places_place WHERE kind = 'block'"
            f" AND number IS NOT NULL AND {condition} AND {_NEAREST} <= %(r)s"
            f"{_BOX} ORDER BY {_NEAREST} LIMIT 1",
            p | {"s": value, "r": BLOCK_REACH_M**2, "deg": BLOCK_REACH_M * _DEG_PER_M},
        )
        if row:
            return f"{row[0] // 100}XX"
    return ""


def _cross(cur, street: str, p: dict) -> str:
    """The nearest street crossing ``street``, as the street's own name."""
    row = _one(
        cur,
        f"""
        SELECT CASE WHEN i.street = %(s)s THEN i.cross_street ELSE i.street END
        FROM places_place i
        WHERE i.kind = 'intersection' AND i.source = 'streets'
          AND (i.street = %(s)s OR i.cross_street = %(s)s) AND {_NEAREST} <= %(r)s
          {_BOX}
        ORDER BY {_NEAREST} LIMIT 1
        """,
        p | {"s": street, "r": CROSS_REACH_M**2, "deg": CROSS_REACH_M * _DEG_PER_M},
    )
    if not row:
        return ""
    named = _one(
        cur,
        "SELECT name FROM places_place WHERE kind = 'street' AND street = %(s)s"
        " AND alias = '' LIMIT 1",
        {"s": row[0]},
    )
    return named[0] if named else row[0].title()
