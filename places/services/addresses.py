"""House numbers: where "1520 Broadway E" is, learnt from SPD's hundred blocks.

SPD reports say "15XX BLOCK OF BROADWAY E" at the block's middle. Along one street
the numbers grow steadily, so a number between two of its known blocks is placed by
interpolating between them (and a little beyond its first or last block); the point
is then snapped onto the street's OpenStreetMap line. A block no report mentions on a
street with too few known blocks is placed by Seattle's grid: blocks of the same
hundred on streets of the same family (same direction words and street type, so
"49XX" of 48th and 50th Ave S for 49th Ave S) lie across the city on one line, so
the point of the street nearest the closest of them is where the number is. A number
neither reaches is one the street does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from pyproj import Transformer

from places.services.names import DIRECTIONS, HouseNumber, directions_of

# A block's reports sit at its middle: the 7XX block's point stands for number 750.
BLOCK_MIDDLE = 50
# Interpolate only between known blocks at most this many numbers apart; beyond the
# first or last known block, extrapolate at most this far.
MAX_GAP = 1600
MAX_BEYOND = 250
# An extrapolated point further than this from the street is off its end; a grid
# point (the middle of blocks on nearby parallel streets) further than the other.
# A point between two known blocks of the street is never off it: where the
# street's line has a gap there (a stretch OpenStreetMap names otherwise), the
# point stays between the blocks.
ON_STREET_M = {"beyond": 60.0, "grid": 250.0, "between": 60.0}
# The grid: the nearest same-hundred blocks of the street's family within reach.
GRID_BLOCKS = 4
GRID_REACH_M = 450.0
CANDIDATE_STREETS = 4
_TO_LONLAT = Transformer.from_crs(settings.ANALYSIS_SRID, 4326, always_xy=True)
_TYPES = frozenset(
    {"AVE", "ST", "WAY", "PL", "DR", "BLVD", "RD", "LN", "CT", "PKWY", "TER", "CIR"}
)


@dataclass(frozen=True)
class Address:
    name: str
    lon: float
    lat: float
    how: str  # "block" (a known block), "between" or "beyond" known blocks, "grid"


@dataclass(frozen=True)
class NoSuchNumber:
    message: str


def family_pattern(street: str) -> str:
    """A LIKE pattern for the streets numbered like ``street``: "49TH AVE S" ->
    "% AVE S", "NE 45TH ST" -> "NE % ST", "BROADWAY E" -> "% E"."""
    words = street.split()
    directions = directions_of(street).split()
    prefix = words[0] + " " if directions and words[0] == directions[0] else ""
    suffix = " " + words[-1] if len(words) > 1 and words[-1] in directions else ""
    core = words[len(prefix.split()) : len(words) - len(suffix.split())]
    kind = " " + core[-1] if core and core[-1] in _TYPES and len(core) > 1 else ""
    return f"{prefix}%{kind}{suffix}"


def _streets(cur, street: str) -> list[tuple[str, str]]:
    """(display name, key) of the streets the typed street may mean, best first:
    the street itself, then the same with direction words ("BROADWAY" ->
    "BROADWAY E"), then, only when none of those exists, near spellings."""
    variants = [street]
    if not directions_of(street):
        variants += [f"{street} {d}" for d in DIRECTIONS] + [
            f"{d} {street}" for d in DIRECTIONS
        ]
    params = {"s": street, "variants": variants, "n": CANDIDATE_STREETS}
    cur.execute(
        """
        SELECT DISTINCT ON (street) name, street, street = %(s)s, prominence
        FROM places_place
        WHERE kind = 'street' AND (street = ANY(%(variants)s)
            OR (alias <> '' AND search_text = ANY(%(variants)s)))
        ORDER BY street, alias = '' DESC
        """,
        params,
    )
    # Its own name first, then the longest street; an other name ("Empire Way
    # S") gives the street it names.
    found = [
        (name, key)
        for name, key, own, _ in sorted(cur.fetchall(), key=lambda r: (-r[2], -r[3]))
    ][:CANDIDATE_STREETS]
    if found:
        return found
    cur.execute(
        """
        SELECT name, street FROM places_place
        WHERE %(s)s <%% search_text AND kind = 'street'
        ORDER BY word_similarity(%(s)s, search_text) DESC, prominence DESC
        LIMIT %(n)s
        """,
        params,
    )
    return cur.fetchall()


def _snap(cur, street: str, x: float, y: float) -> tuple[float, float, float]:
    """(lon, lat, metres moved) of the street's point nearest (x, y)."""
    cur.execute(
        """
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), %(m)s) AS g),
        s AS (
            SELECT ST_ClosestPoint(ST_Transform(shape, %(m)s), p.g) AS c, p.g
            FROM places_place, p
            WHERE kind = 'street' AND street = %(s)s AND alias = '' LIMIT 1)
        SELECT ST_X(w), ST_Y(w), ST_Distance(c, g)
        FROM s, LATERAL ST_Transform(c, 4326) AS w
        """,
        {"x": x, "y": y, "m": settings.ANALYSIS_SRID, "s": street},
    )
    lon, lat, moved = cur.fetchone()
    return lon, lat, moved


def _along(blocks: list[tuple[int, float, float]], number: int):
    """(x, y, how) from the street's own known blocks, or None."""
    for hundred, x, y in blocks:
        if hundred == number // 100 * 100:
            return x, y, "block"
    points = [(h + BLOCK_MIDDLE, x, y) for h, x, y in blocks]
    below = [p for p in points if p[0] <= number]
    above = [p for p in points if p[0] >= number]
    if below and above:
        (n0, x0, y0), (n1, x1, y1) = below[-1], above[0]
        if n1 - n0 <= MAX_GAP:
            t = (number - n0) / (n1 - n0) if n1 != n0 else 0.0
            return x0 + t * (x1 - x0), y0 + t * (y1 - y0), "between"
    if len(points) >= 2:
        if not above and number - below[-1][0] <= MAX_BEYOND:
            (n0, x0, y0), (n1, x1, y1) = below[-2], below[-1]
        elif not below and above[0][0] - number <= MAX_BEYOND:
            (n0, x0, y0), (n1, x1, y1) = above[0], above[1]
        else:
            return None
        if n1 == n0:
            return None
        t = (number - n0) / (n1 - n0)
        return x0 + t * (x1 - x0), y0 + t * (y1 - y0), "beyond"
    return None


def _grid(cur, street: str, number: int):
    """(x, y, "grid") from same-hundred blocks of the street's family nearby."""
    cur.execute(
        """
        WITH line AS (
            SELECT ST_Transform(shape, %(m)s) AS g FROM places_place
            WHERE kind = 'street' AND street = %(s)s AND alias = '' LIMIT 1)
        SELECT avg(x), avg(y), count(*) FROM (
            SELECT b.x, b.y FROM places_place b, line
            WHERE b.kind = 'block' AND b.number = %(h)s AND b.street LIKE %(f)s
              AND ST_DWithin(ST_SetSRID(ST_MakePoint(b.x, b.y), %(m)s), line.g, %(r)s)
            ORDER BY ST_Distance(ST_SetSRID(ST_MakePoint(b.x, b.y), %(m)s), line.g)
            LIMIT %(k)s
        ) near
        """,
        {
            "m": settings.ANALYSIS_SRID,
            "s": street,
            "h": number // 100 * 100,
            "f": family_pattern(street),
            "r": GRID_REACH_M,
            "k": GRID_BLOCKS,
        },
    )
    x, y, n = cur.fetchone()
    return (x, y, "grid") if n else None


def _blocks(cur, street: str) -> list[tuple[int, float, float]]:
    cur.execute(
        "SELECT number, x, y FROM places_place"
        " WHERE kind = 'block' AND street = %s AND number IS NOT NULL"
        " ORDER BY number",
        [street],
    )
    return cur.fetchall()


def locate(house: HouseNumber) -> Address | NoSuchNumber | None:
    """Where the number is on the street it names; None when no street matches."""
    with connection.cursor() as cur:
        streets = _streets(cur, house.street)
        for name, street in streets:
            blocks = _blocks(cur, street)
            found = _along(blocks, house.number) or _grid(cur, street, house.number)
            if found is None:
                continue
            x, y, how = found
            lon, lat, moved = _snap(cur, street, x, y)
            if moved > ON_STREET_M.get(how, float("inf")):
                if how != "between":
                    continue  # beyond the street's end
                lon, lat = _TO_LONLAT.transform(x, y)
            return Address(f"{house.number} {name}", round(lon, 6), round(lat, 6), how)
        if not streets:
            return None
        name, street = streets[0]
        blocks = _blocks(cur, street)
    message = f"no {house.hundred} block on {name}"
    if blocks:
        nearest = min(blocks, key=lambda b: abs(b[0] - house.hundred))[0]
        message += f"; nearest: {nearest} block"
    return NoSuchNumber(message)
