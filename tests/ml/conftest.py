"""Fixtures for the pure-ml tests: synthetic events and small grids, no database."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ml.events import Events
from ml.grid import GridSpec
from ml.timeutil import TZ_NAME

SEATTLE = ZoneInfo(TZ_NAME)


def local_s(*args: int) -> int:
    """UTC epoch seconds of a Seattle wall-clock time."""
    return int(datetime(*args, tzinfo=SEATTLE).timestamp())


def square_grid(n: int = 10, size: float = 150.0) -> GridSpec:
    """n x n cells starting at row 100, col 100."""
    rr, cc = np.meshgrid(
        np.arange(100, 100 + n), np.arange(100, 100 + n), indexing="ij"
    )
    return GridSpec(540000.0, 5255000.0, size, (rr * 10000 + cc).ravel())


def cell_center(grid: GridSpec, pos: int) -> tuple[float, float]:
    x, y = grid.centers()
    return float(x[pos]), float(y[pos])


def make_events(
    times: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    category: np.ndarray | int = 1,
    report_delay_s: int = 3600,
    imprecise: np.ndarray | bool = False,
) -> Events:
    times = np.asarray(times, dtype=np.int64)
    n = len(times)
    return Events(
        event_time=times,
        report_time=times + report_delay_s,
        x=np.broadcast_to(np.asarray(xs, dtype=float), (n,)).copy(),
        y=np.broadcast_to(np.asarray(ys, dtype=float), (n,)).copy(),
        category=np.broadcast_to(np.asarray(category), (n,)).astype(np.int8),
        imprecise=np.broadcast_to(np.asarray(imprecise), (n,)).astype(bool),
    )


@pytest.fixture(autouse=True)
def _clean_cache():
    """Overrides the project-wide Redis cache reset: the ml tests need no services."""
    yield


@pytest.fixture
def grid10() -> GridSpec:
    return square_grid(10)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
