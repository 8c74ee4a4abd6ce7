"""Points are kept rounded to a 50 m grid (in EPSG:32610 metres): enough to route a
commute, too coarse to name a house. Nearby commuters share a rounded point, so their
notes share the scoring work too (alerts.services.planning)."""

from __future__ import annotations

import numpy as np

from ml.events import lonlat_to_utm, utm_to_lonlat

STEP_M = 50.0


def round_points(points: list[tuple[float, float]]) -> list[list[float]]:
    """[lon, lat] pairs snapped to the nearest 50 m grid node, 6 decimals."""
    lon, lat = np.asarray(points, dtype=np.float64).reshape(-1, 2).T
    x, y = lonlat_to_utm(lon, lat)
    lon2, lat2 = utm_to_lonlat(
        np.round(x / STEP_M) * STEP_M, np.round(y / STEP_M) * STEP_M
    )
    return [
        [round(float(a), 6), round(float(b), 6)]
        for a, b in zip(lon2, lat2, strict=True)
    ]
