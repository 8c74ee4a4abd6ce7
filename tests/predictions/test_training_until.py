"""Training without --until trains up to the newest report and says so; a cut-off far
past the data is refused with a message naming the newest report (it used to fail
with "need at least one array to concatenate")."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from core.local_time import SEATTLE
from crimes.models import Incident
from predictions.models import ModelVersion, TrainingRun
from predictions.services import training
from tests.spd_rows import load_spd, reported_between

pytestmark = pytest.mark.django_db


@pytest.fixture
def autumn_2021(grid):
    """Six weeks of real reports, the newest on 2021-10-31."""
    load_spd(
        keep=reported_between(
            datetime(2021, 9, 20, tzinfo=SEATTLE), datetime(2021, 11, 1, tzinfo=SEATTLE)
        ),
        every=3,
    )
    return Incident.objects.order_by("-reported_at").first().reported_at


def test_without_until_the_run_ends_after_the_newest_report(autumn_2021):
    run = training.create_run(preset="tiny")
    newest = autumn_2021.astimezone(SEATTLE)
    assert run.until - timedelta(hours=1) <= autumn_2021 < run.until
    assert run.until.minute == 0
    assert f"newest report, {newest:%Y-%m-%d %H:%M}" in run.message


def test_train_model_without_until_trains_up_to_the_newest_report(
    autumn_2021, tiny_artifacts, capsys
):
    call_command("train_model", preset="tiny")
    out = capsys.readouterr().out
    assert "no --until given: training on everything reported up to the newest" in out
    version = ModelVersion.objects.get()
    assert version.data_until > autumn_2021
    assert version.metrics["backtest"]["weeks"] == 1  # the backtest ran, too
    assert TrainingRun.objects.get().status == "succeeded"


def test_an_until_years_after_the_data_is_refused_naming_the_newest_report(
    autumn_2021, tiny_artifacts
):
    with pytest.raises(CommandError) as error:
        call_command("train_model", preset="tiny", until="2026-11-30T00:00")
    text = str(error.value)
    newest = autumn_2021.astimezone(SEATTLE)
    assert f"the newest report is {newest:%Y-%m-%d %H:%M}" in text
    after = newest.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert "concatenate" not in text and f"--until {after:%Y-%m-%dT%H:%M}" in text
    run = TrainingRun.objects.get()
    assert run.status == "failed" and "newest report" in run.error
    assert not ModelVersion.objects.exists()


def test_without_data_there_is_nothing_to_train(grid):
    Incident.objects.all().delete()
    with pytest.raises(CommandError, match="import data before training"):
        call_command("train_model", preset="tiny")
