"""Load the bundled OpenStreetMap extract into PostGIS as a routable graph.

The extract (data/streets/, Overpass JSON) holds ways with ordered node ids. Each way
is split at every node it shares with another way (and at its ends) into edges whose
``source``/``target`` are OSM node ids, clipped to the city limits plus CITY_MARGIN_M,
with per-mode traversal times. A rerun replaces the network in one transaction: an
edge keeps its id while its key (way, end nodes, occurrence) is in the file, changed
edges are updated in place, vanished ones deleted; the cells near an edge are
recomputed only when its geometry changed or the forecast grid did (by the
receivers of ``streets.signals.network_loaded``).
Reading the file and the access and speed rules are ``osm/``'s.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from django.conf import settings
from django.db import connection, transaction
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core.cache import STREETS, bump
from osm.access import access_of
from osm.extract import EdgeRow, ExtractError, read_extract, split_ways
from osm.highways import BIKE_KMH, CLASS_RANK, UNRANKED, WALK_KMH, drive_speed_kmh
from osm.names import edge_label
from streets.signals import network_loaded

log = logging.getLogger(__name__)

# Keep edges touching the city limits widened by this much: a route may start at the
# city line and a street that leaves the city for a block must stay connected.
CITY_MARGIN_M = 500.0


class NetworkError(RuntimeError):
    """The extract cannot be loaded (missing, unreadable, or no city limits yet)."""


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

_RANK_SQL = (
    "CASE highway "
    + " ".join(f"WHEN '{k}' THEN {v}" for k, v in CLASS_RANK.items())
    + f" ELSE {UNRANKED} END"
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Extract:
    """What a load reads from its file: the nodes and the ways split into edges."""

    path: Path
    sha256: str
    osm_base: str
    nodes: dict[int, tuple[float, float]]
    n_ways: int
    edges: list[EdgeRow]


def read_network_file(path: Path) -> Extract:
    """The extract read and its ways split; NetworkError when it cannot be read."""
    if not path.is_file():
        raise NetworkError(f"no street extract at {path}")
    try:
        nodes, ways, osm_base = read_extract(path)
    except ExtractError as exc:
        raise NetworkError(str(exc)) from exc
    return Extract(
        path, _sha256(path), osm_base, nodes, len(ways), split_ways(nodes, ways)
    )


@dataclass
class Clipped:
    """The edges that touch the city (plus its margin), with their geometry and
    which vertices are in the largest connected piece."""

    edges: list[EdgeRow]
    wkb: np.ndarray  # hex EWKB LineStrings, one per edge
    vertex_ids: np.ndarray
    in_main: np.ndarray

    @property
    def connected_share(self) -> float:
        return float(self.in_main.mean()) if len(self.in_main) else 0.0


def clip_to_city(cursor, extract: Extract) -> Clipped:
    city = _city_with_margin(cursor)
    coords = [np.array([extract.nodes[n] for n in e.node_ids]) for e in extract.edges]
    lines = shapely.linestrings(
        np.concatenate(coords),
        indices=np.repeat(np.arange(len(coords)), [len(c) for c in coords]),
    )
    keep = shapely.intersects(city, lines)
    edges = [e for e, k in zip(extract.edges, keep, strict=True) if k]
    lines = lines[keep]
    sources = np.array([e.source for e in edges], dtype=np.int64)
    targets = np.array([e.target for e in edges], dtype=np.int64)
    vertex_ids, in_main = _main_component(sources, targets)
    wkb = shapely.to_wkb(shapely.set_srid(lines, 4326), hex=True, include_srid=True)
    return Clipped(edges, wkb, vertex_ids, in_main)


def _stage_row(edge: EdgeRow, geom: str, connected: bool) -> tuple:
    tags = edge.tags
    access = access_of(tags)
    maxspeed, speed = drive_speed_kmh(tags)
    return (
        edge.way_id,
        edge.part,
        edge.source,
        edge.target,
        (tags.get("name") or "")[:200],
        edge_label(tags)[:200],
        tags.get("highway", "")[:32],
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
        connected,
        geom,
    )


def stage_edges(cursor, clipped: Clipped) -> None:
    """COPY the clipped edges into the temporary stage table, lengths computed."""
    main = set(clipped.vertex_ids[clipped.in_main].tolist())
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
    cursor.execute(_CREATE_STAGE)
    with cursor.copy(f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
        for edge, geom in zip(clipped.edges, clipped.wkb, strict=True):
            copy.write_row(_stage_row(edge, geom, edge.source in main))
    cursor.execute(
        f"UPDATE {STAGE} SET length_m = ST_Length(ST_Transform(geom, %s))",
        [settings.ANALYSIS_SRID],
    )


def merge_stage(cursor, n_edges: int) -> dict[str, int]:
    """Delete, update and insert from the stage; the counts of each (and unchanged)."""
    counts = {}
    for name, sql in _UPSERT:
        cursor.execute(sql)
        counts[name] = cursor.rowcount
    counts["unchanged"] = n_edges - counts["updated"] - counts["inserted"]
    return counts


def notify_loaded(cursor, extract: Extract, clipped: Clipped, say) -> dict:
    """Send ``network_loaded`` (in the load's transaction); what the receivers
    report, merged (e.g. how many edges' cells were computed)."""
    reported: dict = {}
    for _, result in network_loaded.send(
        sender=load_network,
        cursor=cursor,
        edges=clipped.edges,
        nodes=extract.nodes,
        say=say,
    ):
        reported.update(result or {})
    return reported


_RECORD = """
INSERT INTO commutes_streetnetworkload (source_file, sha256, osm_base,
    edges, vertices, inserted, updated, deleted, unchanged,
    cells_computed, connected_share, grid_signature, seconds, loaded_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
"""


def record_load(
    cursor, extract: Extract, clipped: Clipped, counts: dict, seconds: float
) -> None:
    cursor.execute(
        _RECORD,
        [
            extract.path.name,
            extract.sha256,
            extract.osm_base,
            len(clipped.edges),
            len(clipped.vertex_ids),
            counts["inserted"],
            counts["updated"],
            counts["deleted"],
            counts["unchanged"],
            counts.get("cells_computed", 0),
            clipped.connected_share,
            counts.get("grid_signature", ""),
            seconds,
        ],
    )


def load_network(
    path: Path | str | None = None,
    progress: Callable[[str], None] | None = None,
    base_map: bool = True,
) -> dict:
    """Load (or reload) the street network; returns the counts of the load.

    One transaction: the site keeps routing on the old network until the new one
    commits. Raises NetworkError when the file or the city limits are missing.
    ``base_map=False`` skips the base map's lines (migration 0003 runs before their
    table exists; 0004 builds them). Apps that keep something built from the network
    (the edges' forecast cells) receive ``network_loaded`` inside
    the transaction; what they return is recorded and returned too.
    """
    started = time.monotonic()
    say = progress or (lambda message: None)
    extract = read_network_file(Path(path or settings.STREETS_FILE))
    say(
        f"read {len(extract.nodes)} nodes, {extract.n_ways} ways"
        f" -> {len(extract.edges)} edges"
    )
    with transaction.atomic(), connection.cursor() as cur:
        # One loader at a time (command, migration, tests).
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('commutes_streetedge'))")
        clipped = clip_to_city(cur, extract)
        margin = f"{CITY_MARGIN_M:.0f} m"
        say(f"{len(clipped.edges)} edges inside the city limits + {margin}")
        stage_edges(cur, clipped)
        counts = merge_stage(cur, len(clipped.edges))
        say(
            "{inserted} inserted, {updated} updated, {deleted} deleted,"
            " {unchanged} unchanged".format(**counts)
        )
        changed = counts["inserted"] + counts["updated"] + counts["deleted"]
        if base_map:
            cur.execute("SELECT NOT EXISTS (SELECT 1 FROM commutes_streetline)")
            if changed or cur.fetchone()[0]:
                say(f"{build_lines(cur)} lines for the base map")
        counts.update(notify_loaded(cur, extract, clipped, say))
        record_load(cur, extract, clipped, counts, time.monotonic() - started)
        # Street tiles (and anything else built from the network) are out of date.
        bump(STREETS)
        cur.execute("ANALYZE commutes_streetedge")
        if base_map:
            cur.execute("ANALYZE commutes_streetline")
    return {
        **counts,
        "edges": len(clipped.edges),
        "vertices": int(len(clipped.vertex_ids)),
        "connected_share": clipped.connected_share,
        "seconds": time.monotonic() - started,
    }
