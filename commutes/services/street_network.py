"""Load the bundled OpenStreetMap extract into PostGIS as a routable graph.

The extract (data/streets/, Overpass JSON) holds ways with ordered node ids. Each way
is split at every node it shares with another way (and at its ends) into edges whose
``source``/``target`` are OSM node ids, clipped to the city limits plus CITY_MARGIN_M,
with per-mode traversal times. A rerun replaces the network in one transaction: an
edge keeps its id while its key (way, end nodes, occurrence) is in the file, changed
edges are updated in place, vanished ones deleted; the cells near an edge are
recomputed only when its geometry changed or the forecast grid did. The network's
intersections become typeahead places.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from django.conf import settings
from django.db import connection, transaction
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from commutes.services.street_names import edge_label
from core.cache import STREETS, bump

log = logging.getLogger(__name__)

# Keep edges touching the city limits widened by this much: a route may start at the
# city line and a street that leaves the city for a block must stay connected.
CITY_MARGIN_M = 500.0
# The commute corridor: forecast cells within this distance of an edge count for it.
CELL_RADIUS_M = 100.0
WALK_KMH = 5.0
BIKE_KMH = 15.0
MPH = 1.609344
# Driving speed where a way has no usable maxspeed: Seattle's defaults (25 mph on
# arterials, 20 mph on residential streets) and typical freeway limits.
CLASS_SPEED_KMH = {
    "motorway": 60 * MPH,
    "motorway_link": 35 * MPH,
    "trunk": 40 * MPH,
    "trunk_link": 25 * MPH,
    "primary": 25 * MPH,
    "primary_link": 25 * MPH,
    "secondary": 25 * MPH,
    "secondary_link": 25 * MPH,
    "tertiary": 25 * MPH,
    "tertiary_link": 25 * MPH,
    "unclassified": 20 * MPH,
    "residential": 20 * MPH,
    "living_street": 10 * MPH,
}
# Importance for the base map and for naming intersections (lower = bigger road).
CLASS_RANK = {
    "motorway": 0,
    "trunk": 1,
    "primary": 2,
    "secondary": 3,
    "tertiary": 4,
    "motorway_link": 5,
    "trunk_link": 5,
    "primary_link": 5,
    "secondary_link": 6,
    "tertiary_link": 6,
    "unclassified": 7,
    "residential": 7,
    "living_street": 8,
}
NO_WALK_CLASSES = frozenset({"motorway", "motorway_link"})
NO_BIKE_CLASSES = frozenset({"motorway", "motorway_link"})
_NO = frozenset({"no", "private"})
_YES = frozenset({"yes", "true", "1"})
# Two vertices of the same pair of street names this close are one junction
# (a divided road meets a street at two vertices).
JUNCTION_MERGE_M = 120.0


class NetworkError(RuntimeError):
    """The extract cannot be loaded (missing, unreadable, or no city limits yet)."""


@dataclass(frozen=True)
class Access:
    walk: bool
    bike_fwd: bool
    bike_back: bool
    drive_fwd: bool
    drive_back: bool
    oneway: int  # 1 along the way, -1 against, 0 both


def parse_maxspeed(value: str | None) -> float | None:
    """OSM maxspeed in km/h: "25 mph" -> 40.2, "50" -> 50; None when not a number."""
    if not value:
        return None
    text = value.strip().lower()
    factor = 1.0
    if text.endswith("mph"):
        factor, text = MPH, text[:-3].strip()
    elif text.endswith("km/h"):
        text = text[:-4].strip()
    try:
        speed = float(text) * factor
    except ValueError:
        return None
    return speed if 0 < speed < 200 else None


def oneway_of(tags: dict) -> int | None:
    """1 / -1 / 0 for the way's direction rule; None for reversible (time-dependent)."""
    value = (tags.get("oneway") or "").strip().lower()
    if value == "reversible" or value == "alternating":
        return None
    if value == "-1":
        return -1
    if value in _YES:
        return 1
    if value == "no":
        return 0
    # Implied one-way: roundabouts and (in OSM's convention) motorways.
    if tags.get("junction") in ("roundabout", "circular"):
        return 1
    if tags.get("highway") in ("motorway", "motorway_link"):
        return 1
    return 0


def bike_contraflow(tags: dict) -> bool:
    """Whether cyclists may ride a one-way street against its direction."""
    if (tags.get("oneway:bicycle") or "").lower() == "no":
        return True
    for key in ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both"):
        if (tags.get(key) or "").lower().startswith("opposite"):
            return True
    for side in ("left", "right", "both"):
        if (tags.get(f"cycleway:{side}:oneway") or "").lower() in ("-1", "no"):
            return True
    return False


def _beside(tags: dict, prefix: str, values: frozenset) -> bool:
    """A sidewalk / cycleway mapped along the way (``prefix``, ``prefix:both``...)."""
    return any(
        (tags.get(key) or "").lower() in values
        for key in (prefix, f"{prefix}:both", f"{prefix}:left", f"{prefix}:right")
    )


_SIDEWALK = frozenset({"separate", "yes", "both", "left", "right"})
_CYCLE_TRACK = frozenset({"separate", "track"})


def access_of(tags: dict) -> Access:
    """Who may use a way in which direction (walk, bike, drive).

    The extract has no footways or cycleways. A road closed to pedestrians or
    cyclists but with a sidewalk or cycle track mapped beside it (the University
    Bridge: ``foot=no`` + ``sidewalk:both=separate``) stays usable: the route
    follows the road and the person uses what runs beside it.
    """
    highway = tags.get("highway", "")
    oneway = oneway_of(tags)
    reversible = oneway is None
    walk = (
        highway not in NO_WALK_CLASSES
        and (
            (tags.get("foot") or "").lower() not in _NO
            or _beside(tags, "sidewalk", _SIDEWALK)
        )
        and not reversible
    )
    bike_ok = (
        highway not in NO_BIKE_CLASSES
        and (
            (tags.get("bicycle") or "").lower() not in _NO
            or _beside(tags, "cycleway", _CYCLE_TRACK)
        )
        and not reversible
    )
    drive_ok = (
        (tags.get("motor_vehicle") or "").lower() not in _NO
        and (tags.get("motorcar") or "").lower() not in _NO
        and not reversible
    )
    direction = oneway or 0
    contra = bike_contraflow(tags)
    return Access(
        walk=walk,
        bike_fwd=bike_ok and (direction != -1 or contra),
        bike_back=bike_ok and (direction != 1 or contra),
        drive_fwd=drive_ok and direction != -1,
        drive_back=drive_ok and direction != 1,
        oneway=direction,
    )


def read_extract(path: Path) -> tuple[dict[int, tuple[float, float]], list, str]:
    """(node id -> (lon, lat), ways, OSM base timestamp) from an Overpass JSON file."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, EOFError, ValueError) as exc:
        raise NetworkError(f"cannot read {path}: {exc}") from exc
    elements = data.get("elements") if isinstance(data, dict) else None
    if not isinstance(elements, list):
        raise NetworkError(f"{path} is not Overpass JSON (no 'elements' list)")
    nodes = {
        e["id"]: (float(e["lon"]), float(e["lat"]))
        for e in elements
        if e.get("type") == "node"
    }
    ways = [
        e for e in elements if e.get("type") == "way" and len(e.get("nodes") or ()) >= 2
    ]
    base = str((data.get("osm3s") or {}).get("timestamp_osm_base", ""))
    return nodes, ways, base


@dataclass
class EdgeRow:
    way_id: int
    part: int
    source: int
    target: int
    node_ids: list[int]
    tags: dict


def split_ways(nodes: dict, ways: list) -> list[EdgeRow]:
    """Every way cut at its ends and at each node another way (or itself) shares."""
    uses: dict[int, int] = defaultdict(int)
    for way in ways:
        for node in way["nodes"]:
            uses[node] += 1
    edges = []
    for way in ways:
        ids = [n for n in way["nodes"] if n in nodes]
        # Drop repeated consecutive nodes: a zero-length piece is no edge.
        ids = [n for i, n in enumerate(ids) if i == 0 or n != ids[i - 1]]
        if len(ids) < 2:
            continue
        seen: dict[tuple[int, int], int] = defaultdict(int)
        start = 0
        for i in range(1, len(ids)):
            if i == len(ids) - 1 or uses[ids[i]] >= 2:
                key = (ids[start], ids[i])
                edges.append(
                    EdgeRow(
                        way_id=int(way["id"]),
                        part=seen[key],
                        source=ids[start],
                        target=ids[i],
                        node_ids=ids[start : i + 1],
                        tags=way.get("tags") or {},
                    )
                )
                seen[key] += 1
                start = i
    return edges


def _city_with_margin(cursor) -> shapely.Geometry:
    # Simplified (25 m) before buffering: the margin needs no precision, and
    # buffering the full outline costs ~1.5 s instead of ~0.1 s.
    cursor.execute(
        "SELECT ST_AsBinary(ST_Transform(ST_Buffer(ST_SimplifyPreserveTopology("
        "ST_Transform(ST_Union(geom), %s), 25), %s), 4326))"
        " FROM crimes_area WHERE kind = 'city'",
        [settings.ANALYSIS_SRID, CITY_MARGIN_M],
    )
    row = cursor.fetchone()
    if not row or row[0] is None:
        raise NetworkError(
            "the city limits are not loaded (crimes migration 0002): cannot clip"
        )
    city = shapely.from_wkb(bytes(row[0]))
    shapely.prepare(city)
    return city


def _main_component(sources: np.ndarray, targets: np.ndarray) -> tuple:
    """(vertex ids, bool per vertex: in the largest undirected connected piece)."""
    vertex_ids, inverse = np.unique(
        np.concatenate([sources, targets]), return_inverse=True
    )
    n = len(sources)
    graph = coo_matrix(
        (np.ones(n), (inverse[:n], inverse[n:])),
        shape=(len(vertex_ids), len(vertex_ids)),
    )
    _, labels = connected_components(graph, directed=False)
    biggest = np.bincount(labels).argmax()
    return vertex_ids, labels == biggest


STAGE = "street_edge_stage"
STAGE_COLUMNS = (
    "way_id part source target name label highway oneway maxspeed_kmh speed_kmh"
    " bridge tunnel walk bike_fwd bike_back drive_fwd drive_back connected geom"
).split()
KEY = ("way_id", "source", "target", "part")
# Columns compared to tell an unchanged edge from an updated one.
COMPARED = (
    "name label highway oneway maxspeed_kmh speed_kmh bridge tunnel length_m"
    " walk_s walk_back_s bike_s bike_back_s drive_s drive_back_s connected"
).split()

_CREATE_STAGE = f"""
CREATE TEMP TABLE {STAGE} (
    way_id bigint, part smallint, source bigint, target bigint,
    name varchar(200), label varchar(200), highway varchar(32), oneway smallint,
    maxspeed_kmh double precision, speed_kmh double precision,
    bridge boolean, tunnel boolean, walk boolean, bike_fwd boolean,
    bike_back boolean, drive_fwd boolean, drive_back boolean, connected boolean,
    geom geometry(LineString, 4326), length_m double precision
) ON COMMIT DROP
"""


def _seconds(flag: str, kmh: str) -> str:
    return f"CASE WHEN s.{flag} THEN s.length_m / ({kmh}) * 3.6 END"


_STAGED = f"""
SELECT s.way_id, s.part, s.source, s.target, s.name, s.label, s.highway, s.oneway,
    s.maxspeed_kmh, s.speed_kmh, s.bridge, s.tunnel, s.length_m,
    {_seconds("walk", str(WALK_KMH))} AS walk_s,
    {_seconds("walk", str(WALK_KMH))} AS walk_back_s,
    {_seconds("bike_fwd", str(BIKE_KMH))} AS bike_s,
    {_seconds("bike_back", str(BIKE_KMH))} AS bike_back_s,
    {_seconds("drive_fwd", "s.speed_kmh")} AS drive_s,
    {_seconds("drive_back", "s.speed_kmh")} AS drive_back_s,
    s.connected, s.geom
FROM {STAGE} s
"""
_KEY_MATCH = " AND ".join(f"e.{k} = n.{k}" for k in KEY)
_UPSERT = [
    # Gone from the file: delete (its cells go with it).
    (
        "deleted",
        f"DELETE FROM commutes_streetedge e WHERE NOT EXISTS "
        f"(SELECT 1 FROM {STAGE} n WHERE {_KEY_MATCH})",
    ),
    # Same key, something differs: update in place, keeping the id. A moved
    # geometry forgets its cells (recomputed below).
    (
        "updated",
        f"""
        UPDATE commutes_streetedge e SET
            {", ".join(f"{c} = n.{c}" for c in COMPARED)},
            geom = n.geom,
            geom_mercator = ST_Transform(n.geom, 3857),
            cell_ids = CASE WHEN ST_Equals(e.geom, n.geom)
                AND ST_OrderingEquals(e.geom, n.geom) THEN e.cell_ids END
        FROM ({_STAGED}) n
        WHERE {_KEY_MATCH} AND (
            ({", ".join(f"e.{c}" for c in COMPARED)}, ST_AsBinary(e.geom))
            IS DISTINCT FROM
            ({", ".join(f"n.{c}" for c in COMPARED)}, ST_AsBinary(n.geom))
        )
        """,
    ),
    (
        "inserted",
        f"""
        INSERT INTO commutes_streetedge (
            {", ".join(KEY)}, {", ".join(COMPARED)}, geom, geom_mercator, cell_ids)
        SELECT {", ".join(f"n.{k}" for k in KEY)},
            {", ".join(f"n.{c}" for c in COMPARED)},
            n.geom, ST_Transform(n.geom, 3857), NULL
        FROM ({_STAGED}) n
        WHERE NOT EXISTS (SELECT 1 FROM commutes_streetedge e WHERE {_KEY_MATCH})
        """,
    ),
]

_EDGE_CELLS = """
UPDATE commutes_streetedge e SET cell_ids = coalesce((
    SELECT array_agg(c.id ORDER BY c.id) FROM predictions_cell c
    WHERE ST_DWithin(c.geom, ST_Transform(e.geom, %(srid)s), %(radius)s)
), '{}')
WHERE e.cell_ids IS NULL
"""


def grid_signature(cursor) -> str:
    """Identifies the forecast grid the edges' cells were computed against."""
    cursor.execute(
        "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0),"
        " coalesce(max(size), 0) FROM predictions_cell"
    )
    n, lo, hi, size = cursor.fetchone()
    return f"{n}:{lo}:{hi}:{float(size):g}"


def refresh_edge_cells(cursor, force: bool = False) -> int:
    """Compute the cells within CELL_RADIUS_M of every edge that lacks them.

    ``force``: forget every edge's cells first (the grid changed). Returns how many
    edges were computed.
    """
    if force:
        cursor.execute("UPDATE commutes_streetedge SET cell_ids = NULL")
    cursor.execute(
        _EDGE_CELLS, {"srid": settings.ANALYSIS_SRID, "radius": CELL_RADIUS_M}
    )
    return cursor.rowcount


_RANK_SQL = (
    "CASE highway "
    + " ".join(f"WHEN '{k}' THEN {v}" for k, v in CLASS_RANK.items())
    + " ELSE 9 END"
)
_BUILD_LINES = f"""
INSERT INTO commutes_streetline (label, highway, rank, geom_mercator)
SELECT label, highway, {_RANK_SQL},
    (ST_Dump(ST_LineMerge(ST_Collect(geom_mercator)))).geom
FROM commutes_streetedge GROUP BY label, highway
"""


def build_lines(cursor) -> int:
    """Rebuild the base map's merged lines (StreetLine) from the edges."""
    cursor.execute("DELETE FROM commutes_streetline")
    cursor.execute(_BUILD_LINES)
    return cursor.rowcount


def cells_for_new_grid(sender, cursor, **kwargs) -> None:
    """predictions.signals.grid_rebuilt: recompute every edge's cells now, in the
    rebuild's transaction, and record the grid they were computed against."""
    if "commutes_streetedge" not in connection.introspection.table_names(cursor):
        return  # the grid's own migration, before the network exists
    cursor.execute("SELECT EXISTS (SELECT 1 FROM commutes_streetedge)")
    if not cursor.fetchone()[0]:
        return
    refresh_edge_cells(cursor, force=True)
    cursor.execute(
        "UPDATE commutes_streetnetworkload SET grid_signature = %s"
        " WHERE id = (SELECT max(id) FROM commutes_streetnetworkload)",
        [grid_signature(cursor)],
    )


def _intersections(edges: list[EdgeRow], nodes: dict) -> list[tuple]:
    """(name, lon, lat) for every place two differently named streets meet."""
    at_vertex: dict[int, dict[str, int]] = defaultdict(dict)
    for edge in edges:
        label = edge_label(edge.tags)
        if not label or not edge.tags.get("name"):
            continue
        rank = CLASS_RANK.get(edge.tags.get("highway", ""), 9)
        for vertex in (edge.source, edge.target):
            names = at_vertex[vertex]
            names[label] = min(rank, names.get(label, 99))
    to_utm = Transformer.from_crs(4326, settings.ANALYSIS_SRID, always_xy=True)
    by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
    for vertex, names in at_vertex.items():
        if len(names) < 2:
            continue
        # Bigger road first, then alphabetical: "BROADWAY / E PINE ST".
        ordered = sorted(names, key=lambda label: (names[label], label))
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                by_pair[(a, b)].append(vertex)
    places = []
    for (a, b), vertices in by_pair.items():
        lonlat = np.array([nodes[v] for v in vertices])
        x, y = to_utm.transform(lonlat[:, 0], lonlat[:, 1])
        xy = np.column_stack([x, y])
        # Greedy clustering: a vertex joins the first junction within reach.
        clusters: list[list[int]] = []
        for i in range(len(vertices)):
            for cluster in clusters:
                if np.hypot(*(xy[cluster[0]] - xy[i])) <= JUNCTION_MERGE_M:
                    cluster.append(i)
                    break
            else:
                clusters.append([i])
        # Streets that meet twice (a crescent) get the second meeting numbered
        # from south to north so each name stays unique.
        clusters.sort(key=lambda c: float(lonlat[c, 1].mean()))
        for k, cluster in enumerate(clusters):
            name = f"{a} / {b}".upper()
            if k:
                name += f" #{k + 1}"
            lon, lat = lonlat[cluster].mean(axis=0)
            places.append((name[:128], float(lon), float(lat)))
    return places


def _store_intersections(cursor, places: list[tuple]) -> int:
    cursor.execute("DELETE FROM commutes_place WHERE source = 'streets'")
    if not places:
        return 0
    with cursor.copy(
        "COPY commutes_place (name, kind, source, search_text, location, incidents)"
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_network(
    path: Path | str | None = None,
    progress: Callable[[str], None] | None = None,
    base_map: bool = True,
) -> dict:
    """Load (or reload) the street network; returns the counts of the load.

    One transaction: the site keeps routing on the old network until the new one
    commits. Raises NetworkError when the file or the city limits are missing.
    ``base_map=False`` skips the base map's lines (migration 0003 runs before their
    table exists; 0004 builds them).
    """
    started = time.monotonic()
    path = Path(path or settings.STREETS_FILE)
    say = progress or (lambda message: None)
    if not path.is_file():
        raise NetworkError(f"no street extract at {path}")
    sha = _sha256(path)
    nodes, ways, osm_base = read_extract(path)
    edges = split_ways(nodes, ways)
    say(f"read {len(nodes)} nodes, {len(ways)} ways -> {len(edges)} edges")

    with transaction.atomic(), connection.cursor() as cur:
        # One loader at a time (command, migration, tests).
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('commutes_streetedge'))")
        city = _city_with_margin(cur)
        coords = [np.array([nodes[n] for n in e.node_ids]) for e in edges]
        lines = shapely.linestrings(
            np.concatenate(coords),
            indices=np.repeat(np.arange(len(coords)), [len(c) for c in coords]),
        )
        keep = shapely.intersects(city, lines)
        edges = [e for e, k in zip(edges, keep, strict=True) if k]
        lines = lines[keep]
        sources = np.array([e.source for e in edges], dtype=np.int64)
        targets = np.array([e.target for e in edges], dtype=np.int64)
        vertex_ids, in_main = _main_component(sources, targets)
        main = set(vertex_ids[in_main].tolist())
        wkb = shapely.to_wkb(shapely.set_srid(lines, 4326), hex=True, include_srid=True)
        say(f"{len(edges)} edges inside the city limits + {CITY_MARGIN_M:.0f} m")

        cur.execute(f"DROP TABLE IF EXISTS {STAGE}")
        cur.execute(_CREATE_STAGE)
        with cur.copy(f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
            for edge, geom in zip(edges, wkb, strict=True):
                tags = edge.tags
                access = access_of(tags)
                highway = tags.get("highway", "")
                maxspeed = parse_maxspeed(tags.get("maxspeed"))
                speed = maxspeed or CLASS_SPEED_KMH.get(highway, 20 * MPH)
                copy.write_row(
                    (
                        edge.way_id,
                        edge.part,
                        edge.source,
                        edge.target,
                        (tags.get("name") or "")[:200],
                        edge_label(tags)[:200],
                        highway[:32],
                        access.oneway,
                        maxspeed,
                        speed,
                        tags.get("bridge", "no") not in ("no", ""),
                        tags.get("tunnel", "no") not in ("no", ""),
                        access.walk,
                        access.bike_fwd,
                        access.bike_back,
                        access.drive_fwd,
                        access.drive_back,
                        edge.source in main,
                        geom,
                    )
                )
        cur.execute(
            f"UPDATE {STAGE} SET length_m = ST_Length(ST_Transform(geom, %s))",
            [settings.ANALYSIS_SRID],
        )
        counts = {}
        for name, sql in _UPSERT:
            cur.execute(sql)
            counts[name] = cur.rowcount
        counts["unchanged"] = len(edges) - counts["updated"] - counts["inserted"]
        say(
            "{inserted} inserted, {updated} updated, {deleted} deleted,"
            " {unchanged} unchanged".format(**counts)
        )

        signature = grid_signature(cur)
        cur.execute(
            "SELECT grid_signature FROM commutes_streetnetworkload"
            " ORDER BY id DESC LIMIT 1"
        )
        row = cur.fetchone()
        grid_changed = row is not None and row[0] != signature
        counts["cells_computed"] = refresh_edge_cells(cur, force=grid_changed)
        say(f"cells within {CELL_RADIUS_M:.0f} m of {counts['cells_computed']} edges")

        changed = counts["inserted"] + counts["updated"] + counts["deleted"]
        if base_map:
            cur.execute("SELECT NOT EXISTS (SELECT 1 FROM commutes_streetline)")
            if changed or cur.fetchone()[0]:
                say(f"{build_lines(cur)} lines for the base map")
        places = _store_intersections(cur, _intersections(edges, nodes))
        say(f"{places} intersections for the address search")
        seconds = time.monotonic() - started
        cur.execute(
            """
            INSERT INTO commutes_streetnetworkload (source_file, sha256, osm_base,
                edges, vertices, inserted, updated, deleted, unchanged,
                cells_computed, connected_share, grid_signature, seconds, loaded_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
            """,
            [
                path.name,
                sha,
                osm_base,
                len(edges),
                len(vertex_ids),
                counts["inserted"],
                counts["updated"],
                counts["deleted"],
                counts["unchanged"],
                counts["cells_computed"],
                float(in_main.mean()) if len(in_main) else 0.0,
                signature,
                seconds,
            ],
        )
        # Street tiles (and anything else built from the network) are out of date.
        bump(STREETS)
        cur.execute("ANALYZE commutes_streetedge")
        if base_map:
            cur.execute("ANALYZE commutes_streetline")
    return {
        **counts,
        "edges": len(edges),
        "vertices": int(len(vertex_ids)),
        "connected_share": float(in_main.mean()) if len(in_main) else 0.0,
        "intersections": places,
        "seconds": time.monotonic() - started,
    }
