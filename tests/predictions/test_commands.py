"""The stable commands, including the no-leakage property through them."""

from __future__ import annotations

import csv
from datetime import datetime

import pytest
from django.core.management import CommandError, call_command

from core.local_time import SEATTLE
from crimes.models import Incident
from predictions.models import ModelVersion
from tests.spd_rows import load_spd, reported_between

T = datetime(2021, 10, 25, 0, 0, tzinfo=SEATTLE)


def _export(path, **extra) -> str:
    call_command(
        "export_forecast", start="2021-10-25T00:00", hours=24, out=str(path), **extra
    )
    return path.read_text()


def test_forecast_as_of_t_ignores_later_incidents(grid, tmp_path, tiny_artifacts):
    load_spd(keep=reported_between(datetime(2021, 9, 1, tzinfo=SEATTLE), T))
    # No backtest here: this test is about what precompute reads, not model quality.
    call_command(
        "train_model",
        until="2021-10-25T00:00",
        preset="tiny",
        activate=True,
        config='{"_backtest_weeks": 0}',
    )
    assert ModelVersion.objects.filter(is_active=True).count() == 1
    call_command("precompute_forecasts", start="2021-10-25T00:00", hours=24)
    before = _export(tmp_path / "before.csv")
    n_before = Incident.objects.count()
    # Later reports, including offenses that started before T but were reported after.
    load_spd(keep=reported_between(T, datetime(2021, 11, 15, tzinfo=SEATTLE)))
    assert Incident.objects.count() > n_before + 1000
    assert Incident.objects.filter(reported_at__gte=T, offense_start__lt=T).exists()
    call_command("precompute_forecasts", start="2021-10-25T00:00", hours=24)
    after = _export(tmp_path / "after.csv")
    assert before == after
    rows = list(csv.DictReader((tmp_path / "after.csv").open()))
    assert rows[0]["hour_start"] == "2021-10-25T00:00:00-07:00"
    assert len(rows) == 24 * len({r["cell_id"] for r in rows})
    person = _export(tmp_path / "person.csv", category="person")
    assert person != after

    call_command("export_grid", out=str(tmp_path / "grid.csv"))
    grid_rows = list(csv.DictReader((tmp_path / "grid.csv").open()))
    assert grid_rows[0]["wkt"].startswith("POLYGON((-122.")
    assert len(grid_rows) == len({r["cell_id"] for r in rows})


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("train_model", {"until": "tomorrow"}, "--until"),
        ("precompute_forecasts", {"start": "2021-02-30"}, "--start"),
        ("precompute_forecasts", {"start": "2021-12-01", "hours": 0}, "--hours"),
        ("precompute_forecasts", {"start": "2021-12-01", "model": 999}, "999"),
        (
            "export_forecast",
            {"start": "2021-12-01", "hours": 2, "out": "/nonexistent/x"},
            "--out",
        ),
        (
            "export_forecast",
            {
                "start": "2021-12-01",
                "hours": 2,
                "out": "/tmp/x.csv",
                "category": "society",
            },
            "--category",
        ),
    ],
)
def test_bad_arguments_fail_clearly(grid, name, kwargs, message):
    with pytest.raises(CommandError, match=message.replace("-", r"\-")):
        call_command(name, **kwargs)
