"""What was reported near a stretch of route in the last 12 months of data."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.gis.geos import LineString
from django.db import connection

from core.cache import DATA, VersionedCache
from crimes.models import placeholder_sql
from crimes.names import sentence_case
from crimes.services.history_queries import history_state
from crimes.services.summary import data_summary

TOP_GROUPS = 5
# Seattle clock. "uncertain": SPD's placeholder start times (ml.events.is_placeholder)
# say nothing about the hour, so they get their own bucket rather than inflating
# midnight and noon (DESIGN "Event time").
TIME_OF_DAY = (
    ("night", "00:00-06:00"),
    ("morning", "06:00-12:00"),
    ("afternoon", "12:00-18:00"),
    ("evening", "18:00-24:00"),
    ("uncertain", "time not recorded"),
)

_SQL = f"""
WITH near AS (
    SELECT offense_parent_group AS grp,
        CASE
            WHEN {placeholder_sql()} THEN 'uncertain'
            WHEN local_hour < 6 THEN 'night'
            WHEN local_hour < 12 THEN 'morning'
            WHEN local_hour < 18 THEN 'afternoon'
            ELSE 'evening'
        END AS tod
    FROM crimes_incident, (SELECT ST_GeomFromEWKB(%(seg)s) AS g) s
    WHERE location && ST_Transform(ST_Expand(s.g, %(width)s), {settings.STORAGE_SRID})
        AND ST_DWithin(ST_Transform(location, {settings.ANALYSIS_SRID}), s.g,
            %(width)s)
        AND offense_start >= %(since)s AND offense_start <= %(until)s
)
SELECT coalesce(nullif(grp, ''), 'UNKNOWN'), tod, count(*) FROM near GROUP BY 1, 2
"""


# Per stretch (its geometry) and version of the data, shared by every process: the
# query is most of a commute's database time (~20 ms a route), and neighbouring
# commutes share their middle stretches (issue 16).
_HISTORY = VersionedCache("stretch-history", (DATA,), local=256, shared=True)


def recent_history(segment_utm: LineString, width_m: float) -> dict:
    """Incidents within ``width_m`` of the stretch over the data's last 365 days.

    "Last 12 months of data" ends at the newest offense loaded, not today: the demo
    data stops in 2021 and an empty panel would say nothing.
    """
    return _HISTORY.get(
        (bytes(segment_utm.ewkb), float(width_m)),
        lambda: _recent_history(segment_utm, width_m),
    )


def _recent_history(segment_utm: LineString, width_m: float) -> dict:
    until = data_summary().last_offense
    empty = {
        "since": None,
        "until": None,
        "total": 0,
        "groups": [],
        "by_time_of_day": {k: 0 for k, _ in TIME_OF_DAY},
        "time_of_day_labels": dict(TIME_OF_DAY),
    }
    if until is None:
        return empty
    since = until - timedelta(days=365)
    with connection.cursor() as cur:
        cur.execute(
            _SQL,
            {
                "seg": bytes(segment_utm.ewkb),
                "width": width_m,
                "since": since,
                "until": until,
            },
        )
        rows = cur.fetchall()
    by_group: dict[str, dict[str, int]] = {}
    by_tod = {k: 0 for k, _ in TIME_OF_DAY}
    for group, tod, count in rows:
        by_group.setdefault(group, {k: 0 for k, _ in TIME_OF_DAY})[tod] += count
        by_tod[tod] += count
    groups = sorted(by_group.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    # Counted by group in every category: the history filter's labels say so.
    labels = history_state().group_filter_labels
    return {
        **empty,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "total": sum(by_tod.values()),
        "groups": [
            {
                "group": g,
                "label": labels.get(g) or sentence_case(g),
                "count": sum(t.values()),
                "by_time_of_day": t,
            }
            for g, t in groups[:TOP_GROUPS]
        ],
        "other_groups": max(0, len(groups) - TOP_GROUPS),
        "by_time_of_day": by_tod,
    }
