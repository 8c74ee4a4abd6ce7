"""Junctions: which streets meet at a vertex, biggest first, and the network's
intersections named the way SPD writes them ("BROADWAY / E PINE ST")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from pyproj import Transformer

from osm.extract import EdgeRow
from osm.highways import class_rank
from osm.names import edge_label

# Two vertices of the same pair of street names this close are one junction
# (a divided road meets a street at two vertices).
JUNCTION_MERGE_M = 120.0


def names_at_vertices(
    edges: Iterable[tuple[int, int, str, str]],
) -> dict[int, list[tuple[int, str]]]:
    """Per vertex, the (class rank, label) of the streets meeting there, biggest
    road first, then alphabetical; a street is ranked by its biggest edge there.

    ``edges``: (source vertex, target vertex, label, highway); unlabelled ones
    are skipped."""
    at_vertex: dict[int, dict[str, int]] = defaultdict(dict)
    for source, target, label, highway in edges:
        if not label:
            continue
        rank = class_rank(highway)
        for vertex in (source, target):
            names = at_vertex[vertex]
            names[label] = min(rank, names.get(label, rank))
    return {
        vertex: sorted((rank, label) for label, rank in names.items())
        for vertex, names in at_vertex.items()
    }


def intersections(
    edges: list[EdgeRow], nodes: dict, metric_srid: int
) -> list[tuple[str, float, float]]:
    """(name, lon, lat) for every place two differently named streets meet.

    ``edges``: EdgeRows, or anything with ``source``, ``target`` and ``tags``
    (``name``, ``highway``). Ways known only by their route number ("I 5") name
    no intersection.
    ``metric_srid``: a metric projection, to merge the vertices of one junction."""
    at_vertex = names_at_vertices(
        (e.source, e.target, edge_label(e.tags), e.tags.get("highway", ""))
        for e in edges
        if e.tags.get("name")
    )
    to_metric = Transformer.from_crs(4326, metric_srid, always_xy=True)
    by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
    for vertex, ranked in at_vertex.items():
        ordered = [label for _, label in ranked]
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                by_pair[(a, b)].append(vertex)
    places = []
    for (a, b), vertices in by_pair.items():
        lonlat = np.array([nodes[v] for v in vertices])
        x, y = to_metric.transform(lonlat[:, 0], lonlat[:, 1])
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
