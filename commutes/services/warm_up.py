"""What a web process builds before its first request, so that the first commute
after a restart answers as fast as the next (issue 19: it took 2-5 s while the
street graph loaded).

Called by gunicorn's ``post_worker_init`` hook (crimepredict_site/gunicorn.conf.py):
each worker builds these before it accepts a connection, so a restarted site is slow
to become ready rather than slow to answer. Not from ``AppConfig.ready()``: that also
runs for every manage.py command, Celery worker and test session, which would each
pay seconds (and query the database during app loading, which Django warns against)
for a graph most of them never use. Everything here is the same lazy, per-process
cache the first request would otherwise fill: nothing is computed differently.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

# A short bike trip on Capitol Hill: parsing it loads the city limits.
_PROBE = {"start": [-122.3208, 47.6153], "end": [-122.3170, 47.6230], "mode": "bike"}


def warm_up() -> dict[str, float]:
    """Import the views; build the city limits, the street graph (and the street
    names at its junctions), the active forecast week (all categories) and the edge x
    cell matrix, the similar-trips references; the seconds each took.

    Never raises: a site with no network or no forecast yet starts anyway (its
    requests say what is missing, as before)."""
    from django.db import connections
    from django.urls import get_resolver

    from commutes.services import (
        alternatives,
        commute,
        commute_payload,
        scoring,
        street_routes,
        trip_reference,
    )
    from commutes.services.routes import ROUTED_MODES, parse_route
    from core.cache import versions
    from predictions.services.forecast_store import SCOPES, load_forecast
    from streets.services.street_graph import street_graph

    seconds: dict[str, float] = {}
    started = time.monotonic()

    def done(what: str) -> None:
        nonlocal started
        now = time.monotonic()
        seconds[what] = now - started
        started = now

    try:
        # The URLconf imports every app's views (scipy.ndimage for the glyphs, ...):
        # the first request would, and reverse() builds its lookup tables.
        get_resolver().url_patterns  # noqa: B018 - imported for its side effect
        commute_payload.model_card_url()
        done("url patterns")
        route = parse_route(_PROBE)
        done("city limits")
        graph = street_graph()
        snaps = [graph.snap(*point, route.mode) for point in route.points]
        # Naming its stretches builds the table of street names per junction.
        street_routes.stretches(
            graph, street_routes.route_through(graph, route.mode, snaps)
        )
        done("street graph")
        current = versions(*SCOPES)
        week = load_forecast("all", hours=commute.FORECAST_HOURS, versions=current)
        done("forecast week")
        alternatives.edge_mean_matrix(graph, week.cell_ids)
        scoring.columns_for(graph.cell_ids[:1], week.cell_ids)
        done("edge cells")
        for mode in ROUTED_MODES:
            trip_reference.reference_for(week, mode)
        done("similar trips")
    except Exception:  # noqa: BLE001 - a cold cache is no reason not to serve
        log.warning(
            "warm-up stopped after %s", ", ".join(seconds) or "nothing", exc_info=True
        )
    finally:
        # Requests run in other threads, each with its own connection: this one
        # would sit idle for the worker's life (unless a caller's transaction
        # holds it).
        for conn in connections.all(initialized_only=True):
            if not conn.in_atomic_block:
                conn.close()
    log.info(
        "warmed up: %s",
        ", ".join(f"{what} {s:.2f} s" for what, s in seconds.items()) or "nothing",
    )
    return seconds


def post_worker_init(worker) -> None:
    """gunicorn's hook (crimepredict_site/gunicorn.conf.py), in each worker after the
    application is loaded and before it accepts a connection. WEB_WARM_UP=0 leaves
    everything to the first request (the reference of benchmarks/bench_first_score.py).
    """
    from django.conf import settings

    if settings.WEB_WARM_UP:
        warm_up()
