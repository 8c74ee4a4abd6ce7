"""Celery tasks: thin wrappers taking ids, calling commutes.services."""

from __future__ import annotations

from celery import shared_task

from commutes.services import trip_reference


@shared_task(
    name="commutes.tasks.build_trip_reference",
    acks_late=True,
    soft_time_limit=900,
    time_limit=960,
)
def build_trip_reference(run_id: int) -> int:
    """The random trips a commute is placed among, for one finished forecast run."""
    return trip_reference.build(run_id)
