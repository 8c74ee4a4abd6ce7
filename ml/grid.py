"""Square analysis grid in EPSG:32610: the one definition of the cell-id formula and
of the grid's origin (Django's SQL is generated from them: core/grid_sql.py).

col = floor((x - X0) / size), row = floor((y - Y0) / size), cell_id = row * 10000 + col,
with (X0, Y0) = GRID_ORIGIN for every cell size, so coarser cells nest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Fixed, so a cell id never changes while the cell size does not.
GRID_ORIGIN = (540000.0, 5255000.0)
DEFAULT_CELL_SIZE = 150.0
ID_BASE = 10000  # ids are unique for 0 <= col < ID_BASE (and row >= 0)


def cell_col_row(
    x: np.ndarray, y: np.ndarray, cell_size: float, origin=GRID_ORIGIN
) -> tuple[np.ndarray, np.ndarray]:
    """(col, row) int64 of the cells holding points (EPSG:32610 metres)."""
    col = np.floor((np.asarray(x, dtype=np.float64) - origin[0]) / cell_size)
    row = np.floor((np.asarray(y, dtype=np.float64) - origin[1]) / cell_size)
    return col.astype(np.int64), row.astype(np.int64)


def cell_id(col: np.ndarray, row: np.ndarray) -> np.ndarray:
    return np.asarray(row, dtype=np.int64) * ID_BASE + np.asarray(col, dtype=np.int64)


@dataclass
class GridSpec:
    origin_x: float
    origin_y: float
    cell_size: float
    cell_ids: np.ndarray  # int64, sorted ascending
    _lookup: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = np.unique(np.asarray(self.cell_ids, dtype=np.int64))
        self.cell_ids = ids

    @property
    def n_cells(self) -> int:
        return len(self.cell_ids)

    @property
    def rows(self) -> np.ndarray:
        return self.cell_ids // ID_BASE

    @property
    def cols(self) -> np.ndarray:
        return self.cell_ids % ID_BASE

    def cell_id_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cell id for points (whether or not the cell is in the grid)."""
        origin = (self.origin_x, self.origin_y)
        return cell_id(*cell_col_row(x, y, self.cell_size, origin))

    def index_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Position of each point's cell in ``cell_ids``, or -1 outside the grid."""
        return self.index_of_ids(self.cell_id_of(x, y))

    def index_of_ids(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if self.n_cells == 0:
            return np.full(ids.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.cell_ids, ids)
        pos_c = np.minimum(pos, self.n_cells - 1)
        return np.where(self.cell_ids[pos_c] == ids, pos_c, -1).astype(np.int64)

    def centers(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell centre coordinates (EPSG:32610)."""
        x = self.origin_x + (self.cols + 0.5) * self.cell_size
        y = self.origin_y + (self.rows + 0.5) * self.cell_size
        return x, y

    # Raster helpers for convolutional models: a bounding box of rows x cols in which
    # every cell has a (row - row0, col - col0) pixel; pixels outside the city are
    # masked.
    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(row0, col0, n_rows, n_cols) of the smallest box holding every cell."""
        r, c = self.rows, self.cols
        return (
            int(r.min()),
            int(c.min()),
            int(r.max() - r.min() + 1),
            int(c.max() - c.min() + 1),
        )

    def raster_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(pixel_row, pixel_col) of each cell in the bbox raster (row 0 =
        southmost)."""
        row0, col0, _, _ = self.bbox
        return (self.rows - row0).astype(np.int64), (self.cols - col0).astype(np.int64)

    def mask(self) -> np.ndarray:
        """bool (n_rows, n_cols): True where the raster pixel is a grid cell."""
        _, _, nr, nc = self.bbox
        m = np.zeros((nr, nc), dtype=bool)
        pr, pc = self.raster_index()
        m[pr, pc] = True
        return m

    def to_raster(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """(..., n_cells) -> (..., n_rows, n_cols), ``fill`` outside the city."""
        values = np.asarray(values)
        _, _, nr, nc = self.bbox
        out = np.full(values.shape[:-1] + (nr, nc), fill, dtype=values.dtype)
        pr, pc = self.raster_index()
        out[..., pr, pc] = values
        return out

    def from_raster(self, raster: np.ndarray) -> np.ndarray:
        """(..., n_rows, n_cols) -> (..., n_cells)."""
        pr, pc = self.raster_index()
        return np.asarray(raster)[..., pr, pc]

    def coarsen(self, factor: int) -> tuple[GridSpec, np.ndarray]:
        """A grid with ``factor``-times larger cells on the same origin, and for every
        cell here the position of its parent cell there (aggregate with np.add.at).

        A coarse cell touches the city iff one of its children does, so this equals
        building the coarse grid from the city limits directly.
        """
        parent_ids = cell_id(self.cols // factor, self.rows // factor)
        coarse = GridSpec(
            self.origin_x, self.origin_y, self.cell_size * factor, parent_ids
        )
        return coarse, coarse.index_of_ids(parent_ids)

    def to_dict(self) -> dict:
        return {
            "origin_x": float(self.origin_x),
            "origin_y": float(self.origin_y),
            "cell_size": float(self.cell_size),
            "cell_ids": self.cell_ids.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> GridSpec:
        return cls(
            d["origin_x"], d["origin_y"], d["cell_size"], np.asarray(d["cell_ids"])
        )

    @classmethod
    def from_geojson(
        cls,
        path: str | Path,
        cell_size: float = DEFAULT_CELL_SIZE,
        origin: tuple[float, float] = GRID_ORIGIN,
    ) -> GridSpec:
        """Cells touching the (WGS84) polygons of a GeoJSON file, e.g. the city
        limits."""
        import shapely
        from pyproj import Transformer
        from shapely.geometry import shape
        from shapely.ops import unary_union

        data = json.loads(Path(path).read_text())
        feats = data["features"] if data.get("type") == "FeatureCollection" else [data]
        tr = Transformer.from_crs("EPSG:4326", "EPSG:32610", always_xy=True)
        geom = unary_union(
            [
                shapely.transform(shape(f["geometry"]), tr.transform, interleaved=False)
                for f in feats
            ]
        )
        x0, y0 = origin
        minx, miny, maxx, maxy = geom.bounds
        c0, c1 = (
            int(np.floor((minx - x0) / cell_size)),
            int(np.floor((maxx - x0) / cell_size)),
        )
        r0, r1 = (
            int(np.floor((miny - y0) / cell_size)),
            int(np.floor((maxy - y0) / cell_size)),
        )
        rr, cc = np.meshgrid(
            np.arange(r0, r1 + 1), np.arange(c0, c1 + 1), indexing="ij"
        )
        rr, cc = rr.ravel(), cc.ravel()
        boxes = shapely.box(
            x0 + cc * cell_size,
            y0 + rr * cell_size,
            x0 + (cc + 1) * cell_size,
            y0 + (rr + 1) * cell_size,
        )
        shapely.prepare(geom)
        touching = shapely.intersects(geom, boxes)
        return cls(x0, y0, float(cell_size), cell_id(cc[touching], rr[touching]))
