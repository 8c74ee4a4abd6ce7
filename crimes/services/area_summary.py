"""The sentence an area page leads with: how many reports, mostly what, busiest when.

"In 2021, 1,234 reports in Beat U1, mostly larceny-theft; busiest Friday evenings."
Built from the same aggregations as the API (history_queries) for the page's
filters, and cached under the data's and areas' versions like them.
"""

from __future__ import annotations

import datetime as dt

from core.cache import VersionedCache
from crimes.models import Area
from crimes.services import history_queries
from crimes.services.filters import HistoryFilters

_SENTENCES = VersionedCache("area-sentence", history_queries.SCOPES, shared=True)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Parts of a local day: (name, first hour, hours). A night runs past midnight and
# belongs to the day it began on ("Friday nights" = Friday 22:00 to Saturday 06:00).
PARTS = (
    ("mornings", 6, 6),
    ("afternoons", 12, 5),
    ("evenings", 17, 5),
    ("nights", 22, 8),
)
# Fewer reports with a known time than this, and no busiest time is named.
MIN_FOR_BUSIEST = 30


def area_sentence(area: Area, filters: HistoryFilters) -> str:
    key = (area.kind, area.code, filters.cache_key())
    return _SENTENCES.get(key, lambda: _sentence(area, filters))


def place_words(area: Area) -> str:
    """How a sentence names the area: "Beat U1", "Capitol Hill"."""
    return f"Beat {area.code}" if area.kind == "beat" else area.name


def period_words(start: dt.date, end: dt.date) -> str:
    """In 2021 / In June 2021 / On June 1, 2021 / From June 1, 2021 to May 31, 2022."""

    def day(d: dt.date) -> str:
        return f"{d:%B} {d.day}, {d.year}"

    if start == end:
        return f"On {day(start)}"
    next_day = end + dt.timedelta(days=1)
    if (
        start.year == end.year
        and (start.month, start.day) == (1, 1)
        and ((end.month, end.day) == (12, 31))
    ):
        return f"In {start.year}"
    if (
        start.day == 1
        and next_day.day == 1
        and (start.year, start.month)
        == (
            end.year,
            end.month,
        )
    ):
        return f"In {start:%B} {start.year}"
    return f"From {day(start)} to {day(end)}"


def busiest(matrix: list[list[int]]) -> str | None:
    """The day and part of day with the most reports per hour ("Friday evenings")."""
    best, best_rate = None, 0.0
    for dow in range(7):
        for part, first, hours in PARTS:
            n = 0
            for h in range(first, first + hours):
                n += matrix[(dow + h // 24) % 7][h % 24]
            if n / hours > best_rate:
                best, best_rate = f"{DAYS[dow]} {part}", n / hours
    return best


def _sentence(area: Area, filters: HistoryFilters) -> str:
    period = period_words(filters.start, filters.end)
    place = place_words(area)
    groups, matrix = history_queries.groups_and_precise_times(filters)
    total = sum(n for _c, _g, n in groups)
    if total == 0:
        return f"{period}, no reports in {place} match these filters."
    reports = "1 report" if total == 1 else f"{total:,} reports"
    text = f"{period}, {reports} in {place}"
    category, group, top = groups[0]
    label = history_queries.group_labels([(category, group)])[(category, group)]
    what = label[:1].lower() + label[1:]
    share = top / total
    if share == 1:
        text += f", all {what}"
    elif share >= 0.5:
        text += f", mostly {what}"
    else:
        text += f", most often {what} ({share:.0%})"
    timed = sum(map(sum, matrix))
    when = busiest(matrix) if timed >= MIN_FOR_BUSIEST else None
    if when:
        text += f"; busiest {when}"
    return text + "."
