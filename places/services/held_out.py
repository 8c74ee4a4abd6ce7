"""Score house numbers on blocks the index does not hold (tests and benchmarks).

Each held-out SPD block ("49XX BLOCK OF 49TH AVE S" at the mean location of its
incidents) is typed as an address at the block's middle ("4950 49th Ave S") and
the top answer of the search is compared with where SPD put the block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from pyproj import Transformer

from places.services.names import hundred_block, normalise
from places.services.search import search

HIT_RADIUS_M = 250.0


@dataclass(frozen=True)
class Score:
    blocks: int
    hits: int
    no_answer: int

    @property
    def hit_rate(self) -> float:
        return self.hits / self.blocks if self.blocks else 0.0


def score(blocks: list[tuple[str, float, float]], radius_m: float = HIT_RADIUS_M):
    """``blocks``: (SPD block address, lon, lat) of blocks the index lacks."""
    to_metric = Transformer.from_crs(4326, settings.ANALYSIS_SRID, always_xy=True)
    hits = missing = total = 0
    for address, lon, lat in blocks:
        parsed = hundred_block(normalise(address))
        if parsed is None:
            continue
        number, street = parsed
        total += 1
        found = search(f"{number + 50} {street}", 1).matches
        if not found:
            missing += 1
            continue
        x0, y0 = to_metric.transform(lon, lat)
        x1, y1 = to_metric.transform(found[0].lon, found[0].lat)
        hits += math.hypot(x1 - x0, y1 - y0) <= radius_m
    return Score(total, hits, missing)
