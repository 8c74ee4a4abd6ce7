"""Incidents from PostGIS -> ml.events.Events (the only bridge from the ORM to ml/).

The modelling time follows ml.events.event_times (DESIGN "Event time"), and only
incidents *reported* before the cut-off are read, so nothing later can leak into a
model or a forecast made as of that instant.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from django.db import connection

from crimes.models import CrimeAgainst
from ml.events import (
    CATEGORY_CODES,
    MISSING,
    OTHER_CATEGORY,
    Events,
    incident_events,
)

# ml.events' category codes (0 PERSON, 1 PROPERTY, 2 SOCIETY, 3 other) as SQL.
_CATEGORY_SQL = (
    "CASE crime_against "
    + " ".join(
        f"WHEN '{CrimeAgainst(name).value}' THEN {code}"
        for name, code in CATEGORY_CODES.items()
    )
    + f" ELSE {OTHER_CATEGORY} END"
)

SQL = f"""
SELECT extract(epoch FROM offense_start)::bigint,
       coalesce(extract(epoch FROM offense_end)::bigint, {MISSING}),
       extract(epoch FROM reported_at)::bigint,
       x_utm, y_utm, {_CATEGORY_SQL}
FROM crimes_incident
WHERE x_utm IS NOT NULL AND offense_start IS NOT NULL AND reported_at < %s
"""


def load_events(reported_before: datetime):
    """Every located incident reported before ``reported_before`` as ml Events.

    Offenses whose span is over 72 h are dropped (unusable for hourly modelling);
    placeholder start times come back flagged ``imprecise``.
    """
    with connection.cursor() as cur:
        cur.execute(SQL, [reported_before])
        rows = cur.fetchall()
    if not rows:
        return Events.empty()
    start = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    end = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    report = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
    x = np.fromiter((r[3] for r in rows), dtype=np.float64, count=len(rows))
    y = np.fromiter((r[4] for r in rows), dtype=np.float64, count=len(rows))
    cat = np.fromiter((r[5] for r in rows), dtype=np.int8, count=len(rows))
    del rows
    events, usable = incident_events(start, end, report, x, y, cat)
    # Keep the cut-off explicit even though SQL filtered already: ml/ re-checks too.
    return events.select(usable & (report < int(reported_before.timestamp())))
