"""What commutes does when other apps tell it something changed."""

from __future__ import annotations

import logging

from django.db import transaction
from kombu.exceptions import KombuError

from core import redis_guard

log = logging.getLogger(__name__)


def queue_trip_reference(sender, run_id: int, **kwargs) -> None:
    """predictions.signals.forecast_stored: build the run's trip reference in the
    worker. A broker that cannot take it only costs the reference (commutes then
    use the version's previous one, or say nothing of similar trips): the forecast
    run itself has succeeded and must stay so."""
    from commutes.tasks import build_trip_reference

    def send() -> None:
        try:
            build_trip_reference.apply_async(args=[run_id])
        except (KombuError, *redis_guard.ERRORS) as exc:
            log.warning("trip reference of forecast run %s not queued: %s", run_id, exc)

    transaction.on_commit(send)
