"""The street an alternative avoids (commute._avoided), tried busiest stretch first,
names the same street as checking every stretch did (issue 16, "Fast routing")."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import shapely

from commutes.services import commute
from commutes.services.commute import AVOIDED_M, _avoided
from tests.commutes.test_scoring_db import CAPITOL_HILL_TO_UW

URL = "/api/v1/commutes/score/"


def _every_stretch(alternative, shortest) -> str | None:
    """The check as it was (d71c163): every stretch's distances, the busiest kept."""
    line = shapely.LineString(alternative.path.line_xy)
    core = shortest.core
    best, best_density = None, 0.0
    for i, stretch in enumerate(shortest.path.stretches):
        if not stretch.street or len(stretch.xy) < 2:
            continue
        away = shapely.distance(shapely.points(stretch.xy), line) > AVOIDED_M
        density = core.segment_rate[i] / max(core.segment_cells[i], 1)
        if away.mean() > 0.5 and density > best_density:
            best, best_density = stretch.street, float(density)
    return best


def _scored(stretches, rates=(), cells=()):
    xy = [s.xy for s in stretches if len(s.xy)]
    return SimpleNamespace(
        path=SimpleNamespace(
            stretches=stretches,
            line_xy=np.concatenate(xy) if xy else np.empty((0, 2)),
        ),
        core=SimpleNamespace(
            segment_rate=np.asarray(rates, dtype=float),
            segment_cells=np.asarray(cells, dtype=np.int64),
        ),
    )


def test_random_stretches_name_what_every_stretch_named():
    """Stretches along a line, some moved off it; equal densities, zero densities,
    unnamed and one-point stretches included."""
    rng = np.random.default_rng(4)
    answers = []
    for _ in range(300):
        count = int(rng.integers(1, 12))
        stretches, alt = [], []
        for i in range(count):
            xy = np.column_stack(
                [np.linspace(i * 100, i * 100 + 90, 6), np.zeros(6)]
            ) + rng.normal(0, 3, (6, 2))
            off = rng.choice([0.0, 10.0, 24.0, 26.0, 60.0])
            alt.append(xy + [0.0, off])
            if rng.random() < 0.15:
                xy = xy[:1]
            name = None if rng.random() < 0.15 else f"street {i % 4}"
            stretches.append(SimpleNamespace(street=name, xy=xy))
        rates = rng.choice([0.0, 0.5, 1.0, 2.0], count)
        cells = rng.choice([0, 1, 2, 4], count)
        shortest = _scored(stretches, rates, cells)
        alternative = _scored([SimpleNamespace(street="x", xy=np.concatenate(alt))])
        found = _avoided(alternative, shortest)
        assert found == _every_stretch(alternative, shortest)
        answers.append(found)
    assert None in answers and len(set(answers)) == 5  # some, and each street


@pytest.mark.django_db
def test_real_alternatives_name_what_every_stretch_named(
    client, commute_data, monkeypatch
):
    """Commutes on the real network with alternatives: each avoided street is the
    one the check of every stretch names."""
    seen = []

    def both(alternative, shortest):
        found = _avoided(alternative, shortest)
        seen.append((found, _every_stretch(alternative, shortest)))
        return found

    monkeypatch.setattr(commute, "_avoided", both)
    bodies = [
        CAPITOL_HILL_TO_UW | {"mode": mode, "depart": f"2021-12-2{day}T{hour}:00"}
        for mode in ("walk", "bike", "drive")
        for day, hour in (("1", "08"), ("3", "17"), ("4", "23"))
    ]
    bodies.append(
        {"start": [-122.3350, 47.6080], "end": [-122.3870, 47.6680], "mode": "bike"}
    )
    for body in bodies:
        response = client.post(
            URL, data=json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 200, response.content
    assert seen, "some commute has an alternative"
    assert all(found == reference for found, reference in seen), seen
