"""Training runs share the imports' ownership mechanism (core.run_ownership):
the lock is released on every exit path and a RUNNING run nobody owns is failed."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.urls import reverse

from core.local_time import SEATTLE
from core.models import RunStatus
from predictions.models import TrainingRun
from predictions.services import training

pytestmark = pytest.mark.django_db


UNTIL = datetime(2000, 1, 1, tzinfo=SEATTLE)


def _run() -> TrainingRun:
    return training.create_run(until=UNTIL, preset="tiny")


def test_a_failing_run_is_marked_failed_and_releases_its_lock():
    run = _run()
    with pytest.raises(training.TrainingFailed, match="no incidents"):
        training.execute(run.pk)  # nothing imported
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.worker
    assert not training.RUNS.holds(run.pk)
    with pytest.raises(training.TrainingFailed, match="not pending"):
        training.execute(run.pk)  # claimed once only


def test_an_owned_run_is_left_alone_and_an_orphan_is_failed(admin_client):
    mine = _run()
    assert training.RUNS.claim(mine.pk, worker="here:1")
    orphan = _run()
    TrainingRun.objects.filter(pk=orphan.pk).update(
        status=RunStatus.RUNNING, worker="gone:1"
    )
    page = admin_client.get(reverse("admin:predictions_trainingrun_changelist"))
    assert page.status_code == 200
    assert TrainingRun.objects.get(pk=mine.pk).status == RunStatus.RUNNING
    orphan.refresh_from_db()
    assert orphan.status == RunStatus.FAILED and orphan.finished_at
    assert orphan.error == "worker gone:1 died or was killed mid-run"
    training.RUNS.release(mine.pk)
    assert not training.RUNS.holds(mine.pk)
    assert training.RUNS.reclaim_dead() == 1  # now nobody owns `mine` either
