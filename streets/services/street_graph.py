"""The street network in memory: snapping and shortest paths with scipy's csgraph.

``docs/routing.md`` explains the choice: per-departure edge costs (time weighted by
the forecast near each edge) are numpy arithmetic on arrays held by the web process,
then ``scipy.sparse.csgraph.dijkstra``; pgRouting would need those costs shipped into
PostgreSQL on every request. The arrays are built once per process from
``StreetEdge`` and rebuilt when a newer network load appears.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from django.db import connection
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from core.cache import STREETS, VersionedCache
from osm.drive_times import cruise_kmh, junction_delays, turn_delay_s

COST_COLUMNS = {
    "walk": ("walk_s", "walk_back_s"),
    "bike": ("bike_s", "bike_back_s"),
    "drive": ("drive_s", "drive_back_s"),
}
SNAP_MAX_M = 300.0
# Explicit zeros in a sparse matrix are not arcs to csgraph: keep every cost above 0.
_MIN_COST = 1e-6


class NoRoute(LookupError):
    """No path between two snapped points for the mode (one-way streets, islands)."""


@dataclass(frozen=True)
class Snap:
    """A point moved onto the nearest usable edge: where, and how far it moved."""

    edge: int  # index into StreetGraph arrays
    fraction: float  # 0 at the edge's source .. 1 at its target (metres in UTM)
    distance_m: float
    lon: float
    lat: float


@dataclass(frozen=True)
class Step:
    """Part of an edge travelled by a route: fractions along the edge's geometry."""

    edge: int
    start: float  # 0..1 from the edge's source
    end: float  # travelling forwards when end > start

    @property
    def forward(self) -> bool:
        return self.end >= self.start

    @property
    def share(self) -> float:
        return abs(self.end - self.start)

    @property
    def whole(self) -> bool:
        return self.share >= 1.0 - 1e-9


@dataclass
class ModeGraph:
    """The arcs one mode may use, grouped by (from, to) vertex pair in CSR order."""

    arc_edge: np.ndarray  # (A,) edge index of each arc
    arc_forward: np.ndarray  # (A,) bool: source -> target
    arc_seconds: np.ndarray  # (A,)
    order: np.ndarray  # arcs sorted by (from, to)
    starts: np.ndarray  # (P,) first position in ``order`` of each vertex pair
    pair_key: np.ndarray  # (P,) from * n_vertices + to, sorted
    pair_to: np.ndarray  # (P,)
    indptr: np.ndarray  # (n_vertices + 1,)
    tree: shapely.STRtree  # usable, connected edges (UTM)
    tree_edges: np.ndarray  # edge index of each tree item
    fwd_seconds: np.ndarray  # (E,) nan where the mode may not go forwards
    back_seconds: np.ndarray  # (E,)
    # What each search needs, built once (a search then computes only the costs):
    # per vertex pair its first arc's edge and seconds, the other arcs of the few
    # pairs with parallel arcs, the pairs' costs at factor 1, and the CSR index
    # arrays (int32, as csgraph wants them) with the start point's row of 0, 1 or 2
    # arcs appended.
    ends: np.ndarray  # (P + 1,) starts and the number of arcs
    pair_edge: np.ndarray  # (P,)
    pair_seconds: np.ndarray  # (P,)
    extra_pair: np.ndarray  # (A - P,) the pair of each parallel arc after the first
    extra_edge: np.ndarray
    extra_seconds: np.ndarray
    pair_base: np.ndarray  # (P,) pair costs with no edge factor
    indices32: np.ndarray  # (P,) pair_to
    indptr_with_start: tuple[np.ndarray, np.ndarray, np.ndarray]  # (n + 2,) each
    # The pairs into each vertex (StreetGraph._sure): in_order[in_ptr[v]:in_ptr[v+1]]
    pair_from: np.ndarray  # (P,)
    in_order: np.ndarray  # (P,) pair positions sorted by the vertex they go to
    in_ptr: np.ndarray  # (n_vertices + 1,)


@dataclass(frozen=True)
class SearchWeights:
    """One search's costs: seconds x the edge factor (1 when None), floored at
    _MIN_COST per arc. Only the cheapest arc per vertex pair (the CSR's data) is
    computed for the whole graph; an edge's or an arc's cost is computed when read,
    with the same arithmetic, so the answers are those of whole arrays.
    """

    graph: ModeGraph
    factor: np.ndarray | None
    pairs: np.ndarray  # (P,) in CSR order

    def fwd(self, edge: int) -> float:
        """The cost of the whole edge source -> target (NaN: not allowed)."""
        seconds = self.graph.fwd_seconds[edge]
        return seconds if self.factor is None else seconds * self.factor[edge]

    def back(self, edge: int) -> float:
        seconds = self.graph.back_seconds[edge]
        return seconds if self.factor is None else seconds * self.factor[edge]

    def arcs(self, arcs: np.ndarray) -> np.ndarray:
        """The costs of some arcs (indices into the mode's arc arrays)."""
        seconds = self.graph.arc_seconds[arcs]
        if self.factor is not None:
            seconds = seconds * self.factor[self.graph.arc_edge[arcs]]
        return np.maximum(seconds, _MIN_COST)


@dataclass
class StreetGraph:
    key: tuple
    edge_ids: np.ndarray  # (E,) StreetEdge ids
    source: np.ndarray  # (E,) vertex index
    target: np.ndarray  # (E,)
    vertex_osm: np.ndarray  # (V,) OSM node ids
    length_m: np.ndarray  # (E,)
    labels: list[str]
    highway: list[str]
    lines_utm: np.ndarray  # (E,) shapely LineStrings, EPSG:32610
    coords: list[np.ndarray]  # (E,) lon/lat vertices of each edge
    cell_indptr: np.ndarray  # (E + 1,) CSR of each edge's cell ids
    cell_ids: np.ndarray  # (nnz,)
    # Travel direction (degrees clockwise from north, in UTM) leaving the source and
    # arriving at the target, for turn delays.
    bearing_start: np.ndarray  # (E,)
    bearing_end: np.ndarray  # (E,)
    junction: np.ndarray  # (V,) bool: three or more drivable edges meet there
    # Every edge's vertices, edge after edge (edge e's are rows coord_indptr[e] to
    # coord_indptr[e + 1]): a route's whole edges are read from them in one gather.
    # Made from ``coords`` and ``lines_utm`` when not given.
    coord_indptr: np.ndarray | None = None  # (E + 1,)
    lonlat: np.ndarray | None = None  # (N, 2) ``coords`` end to end
    utm_xy: np.ndarray | None = None  # (N, 2) the vertices of ``lines_utm``
    modes: dict[str, ModeGraph] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.utm_xy is None or self.coord_indptr is None:
            self.utm_xy, index = shapely.get_coordinates(
                self.lines_utm, return_index=True
            )
            counts = np.bincount(index, minlength=len(self.lines_utm))
            self.coord_indptr = np.concatenate([[0], np.cumsum(counts)])
        if self.lonlat is None:
            self.lonlat = (
                np.concatenate(self.coords) if len(self.coords) else np.empty((0, 2))
            )

    @property
    def n_vertices(self) -> int:
        return int(self.vertex_osm.size)

    def edge_cells(self, edge: int) -> np.ndarray:
        return self.cell_ids[self.cell_indptr[edge] : self.cell_indptr[edge + 1]]

    def memo(self, key, build):
        """Per-graph memo for derived arrays (e.g. the edge x cell matrix)."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = build()
        with self._lock:
            self._memo[key] = value
            while len(self._memo) > 8:
                self._memo.pop(next(iter(self._memo)))
        return value

    # --- snapping --------------------------------------------------------------
    def snap(self, lon: float, lat: float, mode: str) -> Snap | None:
        """Nearest point on the nearest edge ``mode`` may use, within SNAP_MAX_M."""
        x, y = _to_utm().transform(lon, lat)
        point = shapely.Point(x, y)
        graph = self.modes[mode]
        found, dist = graph.tree.query_nearest(
            point, max_distance=SNAP_MAX_M, return_distance=True, all_matches=False
        )
        if not len(found):
            return None
        edge = int(graph.tree_edges[found[0]])
        line = self.lines_utm[edge]
        along = float(line.project(point))
        fraction = along / line.length if line.length > 0 else 0.0
        on = line.interpolate(along)
        slon, slat = _to_wgs84().transform(on.x, on.y)
        return Snap(edge, fraction, float(dist[0]), float(slon), float(slat))

    # --- shortest paths --------------------------------------------------------
    def pair_costs(self, mode: str, arc_weight: np.ndarray) -> np.ndarray:
        """The cheapest arc per vertex pair (parallel edges), in CSR order."""
        graph = self.modes[mode]
        return np.minimum.reduceat(arc_weight[graph.order], graph.starts)

    def search_weights(
        self, mode: str, edge_factor: np.ndarray | None = None
    ) -> SearchWeights:
        """The costs a search under ``edge_factor`` uses (seconds x the factor per
        edge; 1 when None). Several searches under one factor (the legs of a route)
        may share them: pass them to ``shortest_path`` as its ``edge_factor``."""
        graph = self.modes[mode]
        if edge_factor is None:
            return SearchWeights(graph, None, graph.pair_base)
        pairs = graph.pair_seconds * edge_factor[graph.pair_edge]
        np.maximum(pairs, _MIN_COST, out=pairs)
        if graph.extra_pair.size:
            extra = graph.extra_seconds * edge_factor[graph.extra_edge]
            np.minimum.at(pairs, graph.extra_pair, np.maximum(extra, _MIN_COST))
        return SearchWeights(graph, edge_factor, pairs)

    def shortest_path(
        self,
        mode: str,
        start: Snap,
        end: Snap,
        edge_factor: np.ndarray | SearchWeights | None = None,
        limit: float = np.inf,
        first_try: float | None = None,
    ) -> tuple[list[Step], float]:
        """Cheapest steps from ``start`` to ``end`` and their cost.

        Cost = seconds x ``edge_factor`` (per edge; 1 when None; or the
        ``search_weights`` of one). Raises NoRoute.
        Dijkstra runs from the start point, added as one more vertex (n) with arcs
        to the ends of its edge; the end point is reached from either end of its
        edge (or along the start edge when both lie on it); the path is then read
        back from the predecessors and turned into steps.

        ``first_try``: a smaller limit to search under first (e.g. what another
        route costs under these weights), as a search that reaches fewer vertices
        is quicker. Its answer is kept when it is certainly the one under ``limit``
        (``_sure``), else the search runs again under ``limit``.
        """
        if isinstance(edge_factor, SearchWeights):
            weights = edge_factor
            if weights.graph is not self.modes[mode]:
                raise ValueError(f"these search weights are not for {mode} here")
        else:
            weights = self.search_weights(mode, edge_factor)
        matrix = self._from_start(weights, start)
        if first_try is not None and first_try < limit:
            found = self._search(mode, weights, matrix, start, end, first_try, True)
            if found is not None:
                return found
        return self._search(mode, weights, matrix, start, end, limit)

    def _search(
        self,
        mode: str,
        weights: SearchWeights,
        matrix: csr_matrix,
        start: Snap,
        end: Snap,
        limit: float,
        first_try: bool = False,
    ) -> tuple[list[Step], float] | None:
        """One search under ``limit``; as a first try, None where it is not sure."""
        dist, pred = dijkstra(
            matrix,
            directed=True,
            indices=self.n_vertices,
            return_predecessors=True,
            limit=limit,
        )
        try:
            cost, last_vertex, last_step = self._arrival(
                mode, weights, dist, start, end
            )
        except NoRoute:
            if first_try:
                return None
            raise
        if first_try and not cost <= limit:
            return None
        if last_vertex is None:
            return [last_step], cost
        vertices = self._path_back(mode, pred, last_vertex)
        if first_try and not self._sure(weights, dist, pred, vertices):
            return None
        first_step = self._leaving_start(weights, start, vertices[0])
        steps = self._arc_steps(mode, weights, vertices)
        # Whole edges always have a share; the partial first and last may not.
        if first_step.share > 0:
            steps.insert(0, first_step)
        if last_step.share > 0:
            steps.append(last_step)
        return steps, cost

    def _sure(
        self,
        weights: SearchWeights,
        dist: np.ndarray,
        pred: np.ndarray,
        vertices: list[int],
    ) -> bool:
        """Whether a path found under a smaller limit is the one a larger limit
        finds: yes when no vertex of it (after the first, which the start point
        reaches) has a second predecessor reached exactly as cheaply as its own
        through which it is reached exactly as cheaply.

        Why: the answer's cost is within the smaller limit (checked before), so
        every vertex of the path is too, and a vertex's distance depends only on
        cheaper ones, which both searches reach: the distances along the path are
        the same. Dijkstra keeps as a vertex's predecessor the first vertex it
        settles that reaches it at that distance; settled in order of distance,
        that is the cheapest such predecessor, unless two are equally cheap: then
        the heap's order decides, and it depends on every vertex the search
        reached, so on the limit. Without such a tie the predecessors along the
        path, so the path, are those of the larger limit."""
        graph = weights.graph
        v = np.asarray(vertices[1:], dtype=np.int64)
        if not v.size:
            return True
        p = pred[v]
        lo, counts = graph.in_ptr[v], np.diff(graph.in_ptr)[v]
        total = int(counts.sum())
        offsets = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        pairs = graph.in_order[np.arange(total) + offsets]
        u = graph.pair_from[pairs]
        rival = (
            (u != np.repeat(p, counts))
            & (dist[u] == np.repeat(dist[p], counts))
            & (dist[u] + weights.pairs[pairs] == np.repeat(dist[v], counts))
        )
        return not rival.any()

    def _from_start(self, weights: SearchWeights, start: Snap) -> csr_matrix:
        """The mode's graph plus the start point as the last row: arcs to the ends
        of its edge for the part of the edge left in each direction. The index
        arrays are the mode's (built once); only the data is new."""
        graph = weights.graph
        n = self.n_vertices
        e0, f0 = start.edge, start.fraction
        first_to, first_cost = [], []
        fwd, back = weights.fwd(e0), weights.back(e0)
        if np.isfinite(fwd):
            first_to.append(self.target[e0])
            first_cost.append(max((1 - f0) * fwd, _MIN_COST))
        if np.isfinite(back):
            first_to.append(self.source[e0])
            first_cost.append(max(f0 * back, _MIN_COST))
        if len(first_to) == 2 and first_to[0] == first_to[1]:  # a loop edge
            first_to, first_cost = first_to[:1], [min(first_cost)]
        pairs = weights.pairs.size
        data = np.empty(pairs + len(first_to))
        data[:pairs] = weights.pairs
        data[pairs:] = first_cost
        indices = np.empty(pairs + len(first_to), dtype=np.int32)
        indices[:pairs] = graph.indices32
        indices[pairs:] = first_to
        return csr_matrix(
            (data, indices, graph.indptr_with_start[len(first_to)]),
            shape=(n + 1, n + 1),
        )

    def _arrival(
        self,
        mode: str,
        weights: SearchWeights,
        dist: np.ndarray,
        start: Snap,
        end: Snap,
    ) -> tuple[float, int | None, Step]:
        """(cost, the vertex it comes from or None along the start edge, the last
        step) of the cheapest way onto the end point; NoRoute when there is none."""
        e0, f0 = start.edge, start.fraction
        e1, f1 = end.edge, end.fraction
        fwd1, back1 = weights.fwd(e1), weights.back(e1)
        options: list[tuple[float, int | None, Step]] = []
        if np.isfinite(fwd1):
            options.append(
                (dist[self.source[e1]] + f1 * fwd1, self.source[e1], Step(e1, 0, f1))
            )
        if np.isfinite(back1):
            options.append(
                (
                    dist[self.target[e1]] + (1 - f1) * back1,
                    self.target[e1],
                    Step(e1, 1, f1),
                )
            )
        if e0 == e1:
            fwd0, back0 = weights.fwd(e0), weights.back(e0)
            if f1 >= f0 and np.isfinite(fwd0):
                options.append(((f1 - f0) * fwd0, None, Step(e0, f0, f1)))
            elif f1 < f0 and np.isfinite(back0):
                options.append(((f0 - f1) * back0, None, Step(e0, f0, f1)))
        options = [o for o in options if np.isfinite(o[0])]
        if not options:
            raise NoRoute(mode)
        cost, last_vertex, last_step = min(options, key=lambda o: o[0])
        return float(cost), last_vertex, last_step

    def _path_back(self, mode: str, pred: np.ndarray, last_vertex: int) -> list[int]:
        """The vertices from the start point's first vertex to ``last_vertex``."""
        n = self.n_vertices
        vertices = [last_vertex]
        while vertices[-1] != n:
            previous = int(pred[vertices[-1]])
            if previous < 0:
                raise NoRoute(mode)
            vertices.append(previous)
        vertices.reverse()  # n (the start point), v1, ..., last_vertex
        return vertices[1:]

    def _leaving_start(self, weights: SearchWeights, start: Snap, towards: int) -> Step:
        """The part of the start edge towards the path's first vertex (on a loop
        edge both ways reach it: the cheaper)."""
        e0, f0 = start.edge, start.fraction
        fwd, back = weights.fwd(e0), weights.back(e0)
        leave = []
        if np.isfinite(fwd) and self.target[e0] == towards:
            leave.append(((1 - f0) * fwd, Step(e0, f0, 1.0)))
        if np.isfinite(back) and self.source[e0] == towards:
            leave.append((f0 * back, Step(e0, f0, 0.0)))
        return min(leave, key=lambda o: o[0])[1]

    def _arc_steps(
        self, mode: str, weights: SearchWeights, vertices: list[int]
    ) -> list[Step]:
        """Whole edges between consecutive vertices, each by its cheapest arc."""
        graph = self.modes[mode]
        path = np.asarray(vertices, dtype=np.int64)
        arcs = self._cheapest_arcs(graph, weights.arcs, path[:-1], path[1:])
        return [
            Step(edge, 0.0, 1.0) if forward else Step(edge, 1.0, 0.0)
            for edge, forward in zip(
                graph.arc_edge[arcs].tolist(),
                graph.arc_forward[arcs].tolist(),
                strict=True,
            )
        ]

    def cheapest_arcs(
        self, mode: str, arc_weight: np.ndarray, u: np.ndarray, v: np.ndarray
    ) -> np.ndarray:
        """For each consecutive vertex pair of a path, the arc it used: the cheapest
        of the parallel arcs between the two (most pairs have one)."""
        return self._cheapest_arcs(self.modes[mode], arc_weight.__getitem__, u, v)

    def _cheapest_arcs(
        self, graph: ModeGraph, weigh, u: np.ndarray, v: np.ndarray
    ) -> np.ndarray:
        """cheapest_arcs with ``weigh(arcs)`` giving the costs of some arcs."""
        pair = np.searchsorted(graph.pair_key, u * self.n_vertices + v)
        lo, hi = graph.ends[pair], graph.ends[pair + 1]
        arcs = graph.order[lo]
        for i in np.flatnonzero(hi - lo > 1):
            group = graph.order[lo[i] : hi[i]]
            arcs[i] = group[np.argmin(weigh(group))]
        return arcs

    def turn_seconds(self, mode: str, steps: list[Step]) -> float:
        """Turn delays along consecutive steps (driving only): at each junction the
        route passes, from the direction it arrived in to the one it leaves in."""
        if mode != "drive" or len(steps) < 2:
            return 0.0
        edge = np.array([s.edge for s in steps])
        forward = np.array([s.forward for s in steps])
        # A step arriving at a vertex ends at 0 or 1 of its edge.
        end = np.array([s.end for s in steps])
        at_vertex = (end[:-1] == 0.0) | (end[:-1] == 1.0)
        vertex = np.where(forward[:-1], self.target[edge[:-1]], self.source[edge[:-1]])
        turns = at_vertex & self.junction[vertex]
        if not turns.any():
            return 0.0
        arrive = np.where(
            forward, self.bearing_end[edge], self.bearing_start[edge] + 180.0
        )
        leave = np.where(
            forward, self.bearing_start[edge], self.bearing_end[edge] + 180.0
        )
        delays = turn_delay_s(arrive[:-1][turns], leave[1:][turns])
        return float(delays.sum())

    # --- geometry of steps -----------------------------------------------------
    def step_coords(self, step: Step) -> np.ndarray:
        """lon/lat vertices of a step, in travel order."""
        if step.whole:
            coords = self.coords[step.edge]
            return coords if step.forward else coords[::-1]
        line = self.step_line_utm(step)
        x, y = _to_wgs84().transform(*shapely.get_coordinates(line).T)
        return np.column_stack([x, y])

    def step_line_utm(self, step: Step) -> shapely.LineString:
        line = self.lines_utm[step.edge]
        if step.whole:
            return line if step.forward else shapely.reverse(line)
        from shapely.ops import substring

        piece = substring(line, step.start, step.end, normalized=True)
        if piece.geom_type == "Point":  # a zero-length piece
            return shapely.LineString([piece.coords[0], piece.coords[0]])
        return piece

    def step_cells(self, step: Step, radius_m: float) -> np.ndarray:
        """Grid cells within ``radius_m`` of the part of the edge a step covers."""
        cells = self.edge_cells(step.edge)
        if step.whole or not cells.size:
            return cells
        return _cells_near(cells, self.step_line_utm(step), radius_m)

    # --- geometry of a route's steps at once -------------------------------------
    # Most steps of a route are whole edges: their vertices and cells are gathered
    # from the graph's flat arrays in one go, and only the few partial steps (a
    # leg's first and last) are cut one by one (step_line_utm, step_cells). A loop
    # over steps here was a tenth of a new commute's time (docs/benchmarks.md).
    def steps_points(self, steps: list[Step]) -> StepPoints:
        """The steps' vertices end to end, exactly as ``step_coords`` (lon/lat) and
        ``step_line_utm`` (EPSG:32610) give them step by step."""
        edge, forward, whole = _step_arrays(steps)
        lo, hi = self.coord_indptr[edge], self.coord_indptr[edge + 1]
        count = np.where(whole, hi - lo, 0)
        pieces = {}
        for i in np.flatnonzero(~whole).tolist():
            pieces[i] = shapely.get_coordinates(self.step_line_utm(steps[i]))
            count[i] = len(pieces[i])
        at, rows = _gather(np.where(forward, lo, hi - 1), forward & whole, whole, count)
        lonlat, utm = self.lonlat[rows], self.utm_xy[rows]
        for i, piece in pieces.items():
            x, y = _to_wgs84().transform(*piece.T)
            lonlat[at[i] : at[i + 1]] = np.column_stack([x, y])
            utm[at[i] : at[i + 1]] = piece
        return StepPoints(at=at, lonlat=lonlat, utm=utm)

    def steps_cells(
        self, steps: list[Step], radius_m: float, points: StepPoints | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(at, cells): step i's cells, as ``step_cells`` gives them, are
        ``cells[at[i]:at[i + 1]]``. ``points``: the steps' (steps_points), whose
        cut steps need not be cut again."""
        edge, _, whole = _step_arrays(steps)
        lo, hi = self.cell_indptr[edge], self.cell_indptr[edge + 1]
        count = hi - lo
        pieces = {}
        for i in np.flatnonzero(~whole & (count > 0)).tolist():
            if points is None:
                piece = self.step_line_utm(steps[i])
            else:
                piece = shapely.linestrings(points.utm[points.at[i] : points.at[i + 1]])
            pieces[i] = _cells_near(self.edge_cells(int(edge[i])), piece, radius_m)
            count[i] = pieces[i].size
        # A cut step keeps some of its edge's cells: its rows stay inside the edge's
        # until they are overwritten.
        every = np.ones(edge.size, bool)
        at, rows = _gather(lo, every, every, count)
        cells = self.cell_ids[rows]
        for i, piece in pieces.items():
            cells[at[i] : at[i + 1]] = piece
        return at, cells


def _cells_near(
    cells: np.ndarray, piece: shapely.LineString, radius_m: float
) -> np.ndarray:
    from core.grid_sql import cell_bounds

    boxes = shapely.box(*cell_bounds(cells))
    return cells[shapely.dwithin(boxes, piece, radius_m)]


@dataclass(frozen=True)
class StepPoints:
    """Steps' vertices end to end: step i's are rows ``at[i]:at[i + 1]``."""

    at: np.ndarray  # (S + 1,)
    lonlat: np.ndarray  # (N, 2)
    utm: np.ndarray  # (N, 2) EPSG:32610


def step_arrays(steps: list[Step]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(edge, start, end) of each step, as arrays."""
    n = len(steps)
    return (
        np.fromiter((s.edge for s in steps), np.int64, n),
        np.fromiter((s.start for s in steps), float, n),
        np.fromiter((s.end for s in steps), float, n),
    )


def _step_arrays(steps: list[Step]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(edge, forward, whole) of each step, as arrays (Step's own rules)."""
    edge, start, end = step_arrays(steps)
    return edge, end >= start, np.abs(end - start) >= 1.0 - 1e-9


def _gather(
    first: np.ndarray, ascending: np.ndarray, valid: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(at, rows): ``count[i]`` rows per item, consecutive from ``first[i]`` going up
    (``ascending``) or down; an item that is not ``valid`` gets row 0 ``count[i]``
    times (the caller fills its rows)."""
    at = np.zeros(count.size + 1, np.int64)
    np.cumsum(count, out=at[1:])
    k = np.arange(at[-1]) - np.repeat(at[:-1], count)
    step = np.where(valid, np.where(ascending, 1, -1), 0)
    return at, np.repeat(np.where(valid, first, 0), count) + np.repeat(step, count) * k


_cache_lock = threading.Lock()
_cache: dict[str, StreetGraph] = {}


def _to_utm() -> Transformer:
    return _transformer(settings.STORAGE_SRID, settings.ANALYSIS_SRID)


def _to_wgs84() -> Transformer:
    return _transformer(settings.ANALYSIS_SRID, settings.STORAGE_SRID)


_transformers: dict[tuple[int, int, int], Transformer] = {}


def _transformer(a: int, b: int) -> Transformer:
    # pyproj Transformers are not thread-safe: one per thread and direction.
    key = (a, b, threading.get_ident())
    found = _transformers.get(key)
    if found is None:
        found = Transformer.from_crs(a, b, always_xy=True)
        _transformers[key] = found
    return found


def network_key() -> tuple | None:
    """(load id, grid signature) of the newest network load; None when none."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, grid_signature FROM commutes_streetnetworkload"
            " ORDER BY id DESC LIMIT 1"
        )
        row = cur.fetchone()
    return tuple(row) if row else None


# The newest load's key per version of the streets: every commute asked for it, a
# PostgreSQL round trip of its own (inside core.cache.pinned, none at all).
_KEYS = VersionedCache("street-network-key", (STREETS,), local=2)


def current_network_key() -> tuple | None:
    """``network_key``, read once per version of the streets and process."""
    if connection.in_atomic_block:
        # This transaction may hold a load of its own that can still roll back.
        return network_key()
    return _KEYS.get("newest", network_key)


class NoNetwork(RuntimeError):
    """The street network is not loaded (run ``manage.py load_streets``)."""


def street_graph() -> StreetGraph:
    """The current network, built once per process and network load.

    Keyed on the newest load row (its id and the grid its cells were computed
    against), not on a core.cache version: the graph is a compiled index of one
    load, costly to rebuild (~1 s), and a load rolled back takes its row with it.
    The row is read again whenever the streets' version moves.
    """
    key = current_network_key()
    if key is None:
        raise NoNetwork("the street network is not loaded: run manage.py load_streets")
    with _cache_lock:
        graph = _cache.get("graph")
        if graph is not None and graph.key == key:
            return graph
    graph = _build(key)
    with _cache_lock:
        _cache["graph"] = graph
    return graph


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


_COLUMNS = (
    "id source target label highway length_m speed_kmh walk_s walk_back_s bike_s"
    " bike_back_s drive_s drive_back_s connected"
).split()


def _build(key: tuple) -> StreetGraph:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(_COLUMNS)}, ST_AsBinary(geom),"
            " coalesce(cell_ids, '{}') FROM commutes_streetedge ORDER BY id"
        )
        rows = cur.fetchall()
    n = len(rows)
    col = {name: i for i, name in enumerate(_COLUMNS)}

    def floats(name: str) -> np.ndarray:
        i = col[name]
        return np.array([np.nan if r[i] is None else r[i] for r in rows], dtype=float)

    edge_ids = np.array([r[0] for r in rows], dtype=np.int64)
    osm_source = np.array([r[1] for r in rows], dtype=np.int64)
    osm_target = np.array([r[2] for r in rows], dtype=np.int64)
    vertex_osm, inverse = np.unique(
        np.concatenate([osm_source, osm_target]), return_inverse=True
    )
    source, target = inverse[:n].astype(np.int64), inverse[n:].astype(np.int64)
    lines = shapely.from_wkb([bytes(r[-2]) for r in rows])
    points, index = shapely.get_coordinates(lines, return_index=True)
    coords = np.split(points, np.flatnonzero(np.diff(index)) + 1)
    x, y = _to_utm().transform(points[:, 0], points[:, 1])
    utm_xy = np.column_stack([x, y])
    lines_utm = shapely.linestrings(utm_xy, indices=index)
    bearing_start, bearing_end = _end_bearings(x, y, index)
    cells = [r[-1] for r in rows]
    cell_indptr = np.concatenate([[0], np.cumsum([len(c) for c in cells])])
    cell_ids = (
        np.fromiter((c for cs in cells for c in cs), dtype=np.int64)
        if cell_indptr[-1]
        else np.empty(0, np.int64)
    )
    graph = StreetGraph(
        key=key,
        edge_ids=edge_ids,
        source=source,
        target=target,
        vertex_osm=vertex_osm,
        length_m=floats("length_m"),
        labels=[r[col["label"]] for r in rows],
        highway=[r[col["highway"]] for r in rows],
        lines_utm=lines_utm,
        coords=coords,
        coord_indptr=np.concatenate([[0], np.cumsum(np.bincount(index, minlength=n))]),
        lonlat=points,
        utm_xy=utm_xy,
        cell_indptr=cell_indptr,
        cell_ids=cell_ids,
        bearing_start=bearing_start,
        bearing_end=bearing_end,
        junction=np.zeros(vertex_osm.size, dtype=bool),
    )
    connected = np.array([bool(r[col["connected"]]) for r in rows])
    seconds = {name: floats(name) for cols in COST_COLUMNS.values() for name in cols}
    seconds.update(_drive_seconds(graph, seconds, floats("speed_kmh")))
    for mode, (fwd_col, back_col) in COST_COLUMNS.items():
        graph.modes[mode] = _mode_graph(
            graph, seconds[fwd_col], seconds[back_col], connected
        )
    return graph


def _end_bearings(
    x: np.ndarray, y: np.ndarray, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per line, the bearing of its first and of its last segment (degrees)."""
    first = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    last = np.r_[first[1:], index.size] - 1

    def bearing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.degrees(np.arctan2(x[b] - x[a], y[b] - y[a])) % 360.0

    return bearing(first, first + 1), bearing(last - 1, last)


def _drive_seconds(
    graph: StreetGraph, stored: dict[str, np.ndarray], limit_kmh: np.ndarray
) -> dict[str, np.ndarray]:
    """Driving times as routed (osm.drive_times): the edge at its cruising speed
    plus the delay of the junction it arrives at. The stored ``drive_s`` is the time
    at the limit; only which directions may be driven is read from it."""
    fwd_ok = np.isfinite(stored["drive_s"])
    back_ok = np.isfinite(stored["drive_back_s"])
    drivable = fwd_ok | back_ok
    cruise = np.array(
        [cruise_kmh(h, v) for h, v in zip(graph.highway, limit_kmh, strict=True)]
    )
    run_s = graph.length_m / cruise * 3.6
    delay_fwd, delay_back = junction_delays(
        graph.source, graph.target, graph.highway, graph.labels, drivable
    )
    degree = np.bincount(
        np.concatenate([graph.source[drivable], graph.target[drivable]]),
        minlength=graph.n_vertices,
    )
    graph.junction = degree >= 3
    return {
        "drive_s": np.where(fwd_ok, run_s + delay_fwd, np.nan),
        "drive_back_s": np.where(back_ok, run_s + delay_back, np.nan),
    }


def _mode_graph(
    graph: StreetGraph, fwd: np.ndarray, back: np.ndarray, connected: np.ndarray
) -> ModeGraph:
    n = graph.n_vertices
    f_ok, b_ok = np.isfinite(fwd), np.isfinite(back)
    edges = np.arange(fwd.size)
    arc_edge = np.concatenate([edges[f_ok], edges[b_ok]])
    arc_forward = np.concatenate(
        [np.ones(f_ok.sum(), bool), np.zeros(b_ok.sum(), bool)]
    )
    arc_from = np.concatenate([graph.source[f_ok], graph.target[b_ok]])
    arc_to = np.concatenate([graph.target[f_ok], graph.source[b_ok]])
    arc_seconds = np.concatenate([fwd[f_ok], back[b_ok]])
    key = arc_from * n + arc_to
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    first = np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]])
    starts = np.flatnonzero(first)
    pair_key = sorted_key[starts]
    pair_from, pair_to = np.divmod(pair_key, n)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(pair_from, minlength=n))])
    usable = (f_ok | b_ok) & connected
    tree_edges = np.flatnonzero(usable)
    ends = np.append(starts, order.size)
    first_arc = order[starts]
    extra = np.ones(order.size, dtype=bool)
    extra[starts] = False
    extra_arc = order[extra]
    pair_base = np.minimum.reduceat(np.maximum(arc_seconds[order], _MIN_COST), starts)
    pair_base.setflags(write=False)  # shared by every search with no edge factor
    indptr_with_start = tuple(
        np.append(indptr, indptr[-1] + k).astype(np.int32) for k in range(3)
    )
    return ModeGraph(
        arc_edge=arc_edge,
        arc_forward=arc_forward,
        arc_seconds=arc_seconds,
        order=order,
        starts=starts,
        pair_key=pair_key,
        pair_to=pair_to,
        indptr=indptr,
        tree=shapely.STRtree(graph.lines_utm[tree_edges]),
        tree_edges=tree_edges,
        fwd_seconds=fwd,
        back_seconds=back,
        ends=ends,
        pair_edge=arc_edge[first_arc],
        pair_seconds=arc_seconds[first_arc],
        extra_pair=np.searchsorted(starts, np.flatnonzero(extra), side="right") - 1,
        extra_edge=arc_edge[extra_arc],
        extra_seconds=arc_seconds[extra_arc],
        pair_base=pair_base,
        indices32=pair_to.astype(np.int32),
        indptr_with_start=indptr_with_start,
        pair_from=pair_from.astype(np.int32),
        in_order=np.argsort(pair_to, kind="stable").astype(np.int32),
        in_ptr=np.concatenate([[0], np.cumsum(np.bincount(pair_to, minlength=n))]),
    )
