"""Overpass JSON extracts: read them, and split their ways into routable edges."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path


class ExtractError(RuntimeError):
    """The extract cannot be read (missing, unreadable, or not Overpass JSON)."""


def read_extract(path: Path) -> tuple[dict[int, tuple[float, float]], list, str]:
    """(node id -> (lon, lat), ways, OSM base timestamp) from an Overpass JSON file."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, EOFError, ValueError) as exc:
        raise ExtractError(f"cannot read {path}: {exc}") from exc
    elements = data.get("elements") if isinstance(data, dict) else None
    if not isinstance(elements, list):
        raise ExtractError(f"{path} is not Overpass JSON (no 'elements' list)")
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
