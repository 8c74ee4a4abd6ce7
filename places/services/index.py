"""Build the place index from the repository's own data.

Each source's rows are replaced wholesale in one transaction by its builder: readers
keep seeing the old rows until the new ones commit. The index is derived data: a
moved cache version (core.cache DATA for the incidents, STREETS for the network)
makes the next typeahead request rebuild the sources built from it.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from core.cache import DATA, STREETS, in_outage, versions
from osm.junctions import intersections

INDEX_VERSION_KEY = "places:index-version"
REFRESH_LOCK_KEY = "places:index-refresh-lock"
TABLE = "places_place"

SPD_SQL = f"""
INSERT INTO {TABLE} (name, kind, source, search_text, location, incidents)
SELECT block_address,
    CASE WHEN position('/' IN block_address) > 0 THEN 'intersection' ELSE 'block' END,
    'spd',
    trim(regexp_replace(
        regexp_replace(upper(block_address), '\\mBLOCK OF\\M', ' ', 'g'),
        '\\s+', ' ', 'g')),
    ST_Transform(ST_SetSRID(ST_MakePoint(avg(x_utm), avg(y_utm)),
        {settings.ANALYSIS_SRID}), {settings.STORAGE_SRID}),
    count(*)
FROM crimes_incident
WHERE block_address <> '' AND x_utm IS NOT NULL
GROUP BY block_address
"""


def _lock(cur) -> None:
    # Serialise concurrent builders (command + lazy refresh) on one lock.
    cur.execute(f"SELECT pg_advisory_xact_lock(hashtext('{TABLE}'))")


def build_spd(cur) -> int:
    """SPD's hundred blocks and intersections, at the mean location of their
    incidents."""
    cur.execute(f"DELETE FROM {TABLE} WHERE source = 'spd'")
    cur.execute(SPD_SQL)
    return cur.rowcount


def _network_edges(cur) -> tuple[list, dict]:
    """The loaded network's named edges and their end vertices' (lon, lat)."""
    from streets.models import StreetEdge

    cur.execute(
        f"""
        SELECT source, target, name, highway,
            ST_X(ST_StartPoint(geom)), ST_Y(ST_StartPoint(geom)),
            ST_X(ST_EndPoint(geom)), ST_Y(ST_EndPoint(geom))
        FROM {StreetEdge._meta.db_table} WHERE name <> ''
        """
    )
    edges, nodes = [], {}
    for source, target, name, highway, x0, y0, x1, y1 in cur.fetchall():
        edges.append(
            SimpleNamespace(
                source=source, target=target, tags={"name": name, "highway": highway}
            )
        )
        nodes[source] = (x0, y0)
        nodes[target] = (x1, y1)
    return edges, nodes


def build_intersections(cur) -> int:
    """Where two differently named streets of the network meet."""
    cur.execute(f"DELETE FROM {TABLE} WHERE source = 'streets'")
    places = intersections(*_network_edges(cur), settings.ANALYSIS_SRID)
    if not places:
        return 0
    with cur.copy(
        f"COPY {TABLE} (name, kind, source, search_text, location, incidents)"
        " FROM STDIN"
    ) as copy:
        for name, lon, lat in places:
            copy.write_row(
                (
                    name,
                    "intersection",
                    "streets",
                    " ".join(name.split()),
                    f"SRID=4326;POINT({lon!r} {lat!r})",
                    0,
                )
            )
    return len(places)


BUILDERS = {DATA: build_spd, STREETS: build_intersections}


def build_all() -> int:
    """Every source, in one transaction; returns the number of places."""
    with transaction.atomic(), connection.cursor() as cur:
        _lock(cur)
        for builder in BUILDERS.values():
            builder(cur)
        cur.execute(f"ANALYZE {TABLE}")
        cur.execute(f"SELECT count(*) FROM {TABLE}")
        return cur.fetchone()[0]


def refresh_places() -> int:
    """Rebuild the whole index and remember the versions it was built from."""
    version = versions(*BUILDERS)  # before the rows are read
    count = build_all()
    if not in_outage(version):  # a version read while Redis was down is no key
        cache.set(INDEX_VERSION_KEY, version, timeout=None)
    return count


def ensure_fresh() -> bool:
    """Rebuild lazily when a version the index is built from moved since its build.

    Any change to the incidents or the network bumps one; the first typeahead
    request afterwards pays for the rebuild (about a second on the full data) and
    concurrent requests keep answering from the previous rows. Returns True when it
    rebuilt.
    """
    if cache.get(INDEX_VERSION_KEY) == versions(*BUILDERS):
        return False
    if not cache.add(REFRESH_LOCK_KEY, 1, timeout=120):
        return False
    try:
        refresh_places()
    finally:
        cache.delete(REFRESH_LOCK_KEY)
    return True
