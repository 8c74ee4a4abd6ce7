"""Build the place index from the repository's own data.

Sources, each replaced wholesale by its builder inside one transaction (readers keep
the old rows until the new ones commit):
- ``spd``: SPD's hundred blocks and intersections (crimes.Incident), at the mean
  location of their incidents; rebuilt when the data's cache version (DATA) moves.
- ``streets``: the loaded OpenStreetMap network's named streets (their lines) and
  intersections (where two named streets meet); rebuilt when STREETS moves.
- ``atlas`` / ``mcpp``: the Neighborhood Map Atlas areas (large ``L_HOOD`` and small
  ``S_HOOD``) and SPD's MCPP areas, from crimes.Area (AREAS).
- ``named`` / ``parks``: data/places (stations, landmarks, parks, schools, libraries,
  colleges, hospitals, with each feature's licence) and the park polygons.
The first typeahead request after a version moved rebuilds the sources built from it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from pyproj import Transformer

from core.cache import AREAS, DATA, STREETS, in_outage, versions
from osm.extract import ExtractError, read_extract
from osm.junctions import intersections
from osm.names import edge_label, short_name
from places.services.names import hundred_block, normalise

INDEX_VERSION_KEY = "places:index-version"
REFRESH_LOCK_KEY = "places:index-refresh-lock"
TABLE = "places_place"
SEARCH_INDEX = "places_search_trgm"
COLUMNS = (
    "name",
    "kind",
    "source",
    "search_text",
    "street",
    "cross_street",
    "number",
    "location",
    "x",
    "y",
    "shape",
    "incidents",
    "prominence",
    "licence",
    "origin",
    "alias",
)
NAMED_FILE = "seattle_places.geojson"
PARKS_FILE = "seattle_parks_2024.geojson"
# data/places categories -> kinds.
CATEGORY_KINDS = {
    "light_rail_station": "station",
    "park": "park",
    "osm_tourism_leisure": "landmark",
    "school": "school",
    "college": "college",
    "library": "library",
    "hospital": "hospital",
}
# OSM's tags for a place's other names (alt_name: "University Street Station" for
# Symphony Station; old_name: "Empire Way South"; short_name: "University Way").
OTHER_NAME_TAGS = ("alt_name", "old_name", "short_name", "official_name")
# A park polygon and a named place of the same name this close are one park.
PARK_MATCH_M = 300
# Areas of equal match: the larger first (prominence).
AREA_PROMINENCE = {"L_HOOD": 3, "S_HOOD": 2, "mcpp": 1}


def _row(**fields) -> tuple:
    defaults = {
        "street": "",
        "cross_street": "",
        "number": None,
        "x": 0.0,
        "y": 0.0,
        "shape": None,
        "incidents": 0,
        "prominence": 0,
        "licence": "",
        "origin": "",
        "alias": "",
    }
    values = defaults | fields
    return tuple(values[c] for c in COLUMNS)


def _copy(cur, rows: Iterable[tuple]) -> int:
    n = 0
    with cur.copy(f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


_TO_METRIC = Transformer.from_crs(4326, settings.ANALYSIS_SRID, always_xy=True)
_FROM_METRIC = Transformer.from_crs(settings.ANALYSIS_SRID, 4326, always_xy=True)


def _point(lon: float, lat: float) -> dict:
    """``location`` and its metric ``x``, ``y`` (computed here: an UPDATE after the
    COPY would leave every row's old version behind for vacuum)."""
    x, y = _TO_METRIC.transform(lon, lat)
    return {"location": f"SRID=4326;POINT({lon!r} {lat!r})", "x": x, "y": y}


def _sides(search_text: str) -> tuple[str, str]:
    a, _, b = search_text.partition(" / ")
    return a, b.split(" #")[0]


def build_spd(cur, reported_before=None) -> int:
    """SPD's hundred blocks and intersections, at the mean location of their
    incidents (``reported_before``: only those, to score held-out years)."""
    cur.execute(f"DELETE FROM {TABLE} WHERE source = 'spd'")
    cur.execute(
        """
        SELECT block_address, avg(x_utm), avg(y_utm), count(*)
        FROM crimes_incident
        WHERE block_address <> '' AND x_utm IS NOT NULL
            AND (%(before)s::timestamptz IS NULL OR reported_at < %(before)s)
        GROUP BY block_address
        """,
        {"before": reported_before},
    )
    rows = []
    for address, x, y, n in cur.fetchall():
        text = normalise(address)
        block = hundred_block(text)
        if "/" in text:
            street, cross = _sides(text)
            kind, number = "intersection", None
        else:
            street, cross = (block[1] if block else text), ""
            kind, number = "block", (block[0] if block else None)
        rows.append(
            _row(
                name=address[:200],
                kind=kind,
                source="spd",
                search_text=text[:200],
                street=street[:200],
                cross_street=cross[:200],
                number=number,
                **_point(*_FROM_METRIC.transform(float(x), float(y))),
                incidents=int(n),
                prominence=int(n),
            )
        )
    count = _copy(cur, rows)
    return count


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


def _intersection_rows(cur, edges=None, nodes=None) -> Iterable[tuple]:
    if edges is None:
        edges, nodes = _network_edges(cur)
    for name, lon, lat in intersections(edges, nodes, settings.ANALYSIS_SRID):
        text = normalise(name)
        street, cross = _sides(text)
        yield _row(
            name=name,
            kind="intersection",
            source="streets",
            search_text=text[:200],
            street=street,
            cross_street=cross,
            **_point(lon, lat),
        )


def _street_rows(cur) -> Iterable[tuple]:
    """One row per street label: its lines, the point nearest its middle, its
    length (prominence)."""
    from streets.models import StreetEdge

    cur.execute(
        f"""
        SELECT label, ST_X(p), ST_Y(p), ST_AsEWKB(shape), length_m
        FROM (
            SELECT label, ST_Multi(ST_LineMerge(ST_Collect(geom))) AS shape,
                sum(length_m) AS length_m
            FROM {StreetEdge._meta.db_table}
            WHERE name <> '' AND label <> ''
            GROUP BY label
        ) s, LATERAL ST_ClosestPoint(shape, ST_Centroid(shape)) AS p
        """
    )
    for label, lon, lat, shape, length_m in cur.fetchall():
        text = normalise(label)
        yield _row(
            name=label[:200],
            kind="street",
            source="streets",
            search_text=text[:200],
            street=text[:200],
            **_point(lon, lat),
            shape=bytes(shape).hex(),
            prominence=int(length_m),
        )


def other_names(tags: dict, name: str) -> list[str]:
    """A way's or a named place's other names (OSM's ``alt_name``, ``old_name``,
    ``short_name``, ``official_name``; ";" separates several), not its own."""
    own = normalise(name)
    found: list[str] = []
    for tag in OTHER_NAME_TAGS:
        for value in str(tags.get(tag) or "").split(";"):
            value = value.strip()
            text = normalise(value)
            if text and text != own and value not in found:
                found.append(value)
    return found


def _way_tags(edges) -> dict[int, dict]:
    """OSM way id -> its tags: from the loaded edges, else from the extract file
    the network was loaded from (the network's table keeps only the name)."""
    if edges is not None and all(hasattr(e, "way_id") for e in edges[:1]):
        return {e.way_id: e.tags for e in edges}
    from streets.models import StreetNetworkLoad

    last = StreetNetworkLoad.objects.order_by("-id").first()
    path = Path(last.source_file) if last else Path(settings.STREETS_FILE)
    if not path.is_file():
        path = Path(settings.STREETS_FILE)
    try:
        _, ways, _ = read_extract(path)
    except ExtractError:
        return {}
    return {int(w["id"]): w.get("tags") or {} for w in ways}


def _alias_rows(cur, edges) -> Iterable[tuple]:
    """One row per street and other name ("Empire Way S" finds "Martin Luther King
    Jr Way S"), at the point of its ways nearest their middle."""
    from streets.models import StreetEdge

    aliases: dict[tuple[str, str], list[int]] = {}
    for way_id, tags in _way_tags(edges).items():
        label = edge_label(tags)
        if not label or not (tags.get("name") or "").strip():
            continue
        for alias in other_names(tags, tags["name"]):
            aliases.setdefault((label, short_name(alias)), []).append(way_id)
    if not aliases:
        return
    keys = list(aliases)
    cur.execute(
        f"""
        SELECT a.i, ST_X(p), ST_Y(p)
        FROM (
            SELECT k.i, ST_Collect(e.geom) AS g
            FROM unnest(%s::int[], %s::bigint[]) AS k(i, way_id)
            JOIN {StreetEdge._meta.db_table} e ON e.way_id = k.way_id
            GROUP BY k.i
        ) a, LATERAL ST_ClosestPoint(a.g, ST_Centroid(a.g)) AS p
        """,
        [
            [i for i, key in enumerate(keys) for _ in aliases[key]],
            [w for key in keys for w in aliases[key]],
        ],
    )
    for i, lon, lat in cur.fetchall():
        label, alias = keys[i]
        yield _row(
            name=label[:200],
            kind="street",
            source="streets",
            search_text=normalise(alias)[:200],
            street=normalise(label)[:200],
            **_point(lon, lat),
            alias=alias[:200],
        )


def build_streets(cur, edges=None, nodes=None) -> int:
    """The network's named streets, their other names and its intersections
    (``edges``/``nodes``: as loaded, else read back from the network's table and
    the extract it was loaded from)."""
    cur.execute(f"DELETE FROM {TABLE} WHERE source = 'streets'")
    streets = list(_street_rows(cur))
    aliases = list(_alias_rows(cur, edges))
    crossings = list(_intersection_rows(cur, edges, nodes))
    count = _copy(cur, streets) + _copy(cur, aliases) + _copy(cur, crossings)
    return count


def _large_hoods() -> dict[str, str]:
    """S_HOOD -> L_HOOD, from the Neighborhood Map Atlas file crimes loaded."""
    data = json.loads((settings.BOUNDARIES_DIR / "neighborhoods.geojson").read_text())
    return {
        f["properties"]["S_HOOD"]: f["properties"]["L_HOOD"] for f in data["features"]
    }


# The middle of an area where it lies inside (routes start from it), else a point
# surely inside.
_INSIDE = """
SELECT ST_AsEWKB(g), ST_X(p), ST_Y(p)
FROM (SELECT {shape} AS g) a,
    LATERAL (SELECT CASE WHEN ST_Contains(g, ST_Centroid(g)) THEN ST_Centroid(g)
        ELSE ST_PointOnSurface(g) END AS p) m
"""


def build_areas(cur) -> int:
    """Neighbourhoods (large and small) and MCPP areas; one place per name, the
    larger area kept."""
    cur.execute(f"DELETE FROM {TABLE} WHERE source IN ('atlas', 'mcpp')")
    cur.execute(
        "SELECT kind, CASE WHEN kind = 'mcpp' THEN coalesce(nullif(label, ''), name)"
        " ELSE name END, id FROM crimes_area WHERE kind IN ('neighborhood', 'mcpp')"
    )
    small = cur.fetchall()
    groups: dict[str, list[str]] = {}
    for s_hood, l_hood in _large_hoods().items():
        groups.setdefault(l_hood, []).append(s_hood)
    candidates = []
    for l_hood, members in groups.items():
        shape = "(SELECT ST_Multi(ST_Union(geom)) FROM crimes_area"
        shape += " WHERE kind = 'neighborhood' AND name = ANY(%s))"
        cur.execute(_INSIDE.format(shape=shape), [members])
        candidates.append(("L_HOOD", l_hood, cur.fetchone()))
    for kind, name, area_id in small:
        shape = "(SELECT geom FROM crimes_area WHERE id = %s)"
        cur.execute(_INSIDE.format(shape=shape), [area_id])
        candidates.append(
            ("S_HOOD" if kind == "neighborhood" else "mcpp", name, cur.fetchone())
        )
    candidates.sort(key=lambda c: -AREA_PROMINENCE[c[0]])
    seen: set[str] = set()
    rows = []
    for level, name, (shape, lon, lat) in candidates:
        text = normalise(name)
        if shape is None or not text or text in seen:
            continue
        seen.add(text)
        mcpp = level == "mcpp"
        rows.append(
            _row(
                name=name[:200],
                kind="policing_area" if mcpp else "neighbourhood",
                source="mcpp" if mcpp else "atlas",
                search_text=text[:200],
                **_point(lon, lat),
                shape=bytes(shape).hex(),
                prominence=AREA_PROMINENCE[level],
            )
        )
    return _copy(cur, rows)


def _features(filename: str) -> list[dict]:
    return json.loads((settings.PLACES_DIR / filename).read_text())["features"]


def build_named(cur) -> int:
    """data/places: named points with their licences; park polygons join the park
    of the same name nearby, or stand as parks of their own."""
    cur.execute(f"DELETE FROM {TABLE} WHERE source IN ('named', 'parks')")
    rows = []
    for feature in _features(NAMED_FILE):
        props = feature["properties"]
        name = (props.get("name") or "").strip()
        kind = CATEGORY_KINDS.get(props.get("category", ""))
        text = normalise(name)
        if not text or kind is None:
            continue
        lon, lat = feature["geometry"]["coordinates"][:2]
        for alias in ("", *other_names(props, name)):
            rows.append(
                _row(
                    name=name[:200],
                    kind=kind,
                    source="named",
                    search_text=(normalise(alias) if alias else text)[:200],
                    **_point(lon, lat),
                    licence=str(props.get("license", ""))[:32],
                    origin=str(props.get("source", ""))[:200],
                    alias=alias[:200],
                )
            )
    count = _copy(cur, rows)
    cur.execute(
        "CREATE TEMP TABLE places_parks (search_text text, name text, shape geometry)"
        " ON COMMIT DROP"
    )
    with cur.copy("COPY places_parks (search_text, name, shape) FROM STDIN") as copy:
        for feature in _features(PARKS_FILE):
            name = (feature["properties"].get("name") or "").strip()
            if normalise(name):
                copy.write_row(
                    (
                        normalise(name),
                        name,
                        "SRID=4326;" + _wkt(feature["geometry"]),
                    )
                )
    cur.execute(
        f"""
        UPDATE {TABLE} p SET shape = k.shape, kind = 'park'
        FROM places_parks k
        WHERE p.source = 'named' AND p.alias = '' AND p.search_text = k.search_text
          AND ST_DWithin(p.location::geography, k.shape::geography, %s)
        """,
        [PARK_MATCH_M],
    )
    cur.execute(
        f"""
        INSERT INTO {TABLE} ({", ".join(COLUMNS)})
        SELECT k.name, 'park', 'parks', k.search_text, '', '', NULL,
            ST_PointOnSurface(k.shape), ST_X(m), ST_Y(m), k.shape, 0, 0,
            'City of Seattle open data', 'City of Seattle Parks and Recreation', ''
        FROM places_parks k,
            LATERAL ST_Transform(ST_PointOnSurface(k.shape), %s) AS m
        WHERE NOT EXISTS (
            SELECT 1 FROM {TABLE} p WHERE p.source = 'named'
              AND p.search_text = k.search_text AND p.shape = k.shape)
        """,
        [settings.ANALYSIS_SRID],
    )
    count += cur.rowcount
    return count


def _wkt(geometry: dict) -> str:
    from django.contrib.gis.geos import GEOSGeometry

    geom = GEOSGeometry(json.dumps(geometry))
    if not geom.valid:
        geom = geom.buffer(0)
    return geom.wkt


# Sources by the cache scope whose moves make them stale.
BUILDERS: dict[str, Callable] = {
    DATA: build_spd,
    STREETS: build_streets,
    AREAS: build_areas,
}


def _lock(cur) -> None:
    # Serialise concurrent builders (command, migration, lazy refresh) on one lock.
    cur.execute(f"SELECT pg_advisory_xact_lock(hashtext('{TABLE}'))")


def _tidy(cur) -> None:
    """After a rebuild: the trigram index's pending list merged, statistics new.

    A GIN index takes inserts into a pending list that every search then reads
    through linearly until vacuum merges it: after a rebuild of SPD's 33k places a
    typo's search took 233 ms in its index scan, 8 ms once merged (docs/benchmarks.md).
    """
    cur.execute("SELECT gin_clean_pending_list(%s::regclass)", [SEARCH_INDEX])
    cur.execute(f"ANALYZE {TABLE}")


def _vacuum() -> None:
    """Reclaim the replaced rows now (a search reads past dead ones until then);
    VACUUM cannot run inside a transaction: a caller's atomic block leaves it to
    autovacuum."""
    if connection.in_atomic_block:
        return
    with connection.cursor() as cur:
        cur.execute(f"VACUUM {TABLE}")


def build_all() -> int:
    """Every source, in one transaction; returns the number of places."""
    with transaction.atomic(), connection.cursor() as cur:
        _lock(cur)
        for builder in (*BUILDERS.values(), build_named):
            builder(cur)
        _tidy(cur)
        cur.execute(f"SELECT count(*) FROM {TABLE}")
        return cur.fetchone()[0]


@dataclass(frozen=True)
class IndexState:
    """What the index was built from: the versions of its scopes and a token new at
    every build (``refresh_places`` rebuilds data/places too, which no scope
    versions). Answers cached under it are the answers of these rows."""

    versions: tuple[int, ...]
    token: str


def _record(versions: tuple[int, ...]) -> IndexState:
    state = IndexState(tuple(versions), secrets.token_hex(8))
    # Plain values in the cache (a pickled class would not outlive a rename).
    cache.set(
        INDEX_VERSION_KEY,
        {"versions": list(state.versions), "token": state.token},
        timeout=None,
    )
    return state


def _built() -> IndexState | None:
    found = cache.get(INDEX_VERSION_KEY)
    # An older release stored the bare versions: unknown, rebuilt like a flush.
    if not isinstance(found, dict):
        return None
    return IndexState(tuple(found["versions"]), str(found["token"]))


def refresh_places() -> int:
    """Rebuild the whole index and remember the versions it was built from."""
    version = versions(*BUILDERS)  # before the rows are read
    count = build_all()
    _vacuum()
    if not in_outage(version):  # a version read while Redis was down is no key
        _record(version)
    return count


def ensure_fresh() -> IndexState | None:
    """Rebuild lazily the sources whose version moved since the index was built;
    the state the index is at now, or None when that is not known to be current
    (another process is rebuilding it, or Redis is down): answers are then computed
    from the rows as they are and not cached.

    Any change to the incidents, the network or the areas bumps one; the first
    typeahead request afterwards pays for the rebuild (about a second for the
    incidents of 2012-2021) and concurrent requests keep answering from the previous
    rows. When the cache lost what the index was built from (flushed), only the
    incidents' source is rebuilt, as cheap as before the index grew: the network's
    is rebuilt by every network load (``network_loaded``) and the rest by migration
    and ``refresh_places``.
    """
    now = versions(*BUILDERS)
    if in_outage(now):
        return None
    built = _built()
    if built is not None and built.versions == now:
        return built
    if not cache.add(REFRESH_LOCK_KEY, 1, timeout=120):
        return None
    try:
        if built is None or len(built.versions) != len(now):
            stale = [DATA]
        else:
            stale = [
                scope for i, scope in enumerate(BUILDERS) if built.versions[i] != now[i]
            ]
        with transaction.atomic(), connection.cursor() as cur:
            _lock(cur)
            for scope in stale:
                BUILDERS[scope](cur)
            _tidy(cur)
        _vacuum()
        return _record(now)
    finally:
        cache.delete(REFRESH_LOCK_KEY)


def streets_for_loaded_network(sender, cursor, edges, nodes, say, **kwargs) -> dict:
    """streets.signals.network_loaded: the network's streets and intersections, in
    the load's transaction (skipped before the index's own migration)."""
    if TABLE not in connection.introspection.table_names(cursor):
        return {}
    _lock(cursor)
    count = build_streets(cursor, edges, nodes)
    _tidy(cursor)
    say(f"{count} streets and intersections for the place search")
    return {"intersections": count}
