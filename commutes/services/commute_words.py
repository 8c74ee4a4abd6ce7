"""A commute's numbers in words a person can act on (issue 19): pure functions.

The page, the API (``words``) and the commute notes say the same sentences, so they
are made once, here, from numbers the scorer computed. No Django, no database.
"""

from __future__ import annotations

import math
from datetime import datetime

from commutes.services.corridor import CORRIDOR_HALF_WIDTH_M

# Similar trips, by mode, as a person says them.
TRIPS_NOUN = {"walk": "walks", "bike": "bike trips", "drive": "drives"}
# A percentile this close to 50 is an ordinary trip of its kind.
ORDINARY = 5
NEAR = f"within {CORRIDOR_HALF_WIDTH_M:.0f} m of your way"


def clock(moment: datetime) -> str:
    """8 am, 8:40 am, noon, midnight (the moment as it is: Seattle local)."""
    if moment.minute == 0 and moment.hour in (0, 12):
        return "midnight" if moment.hour == 0 else "noon"
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes} {suffix}"


def standing(similar: dict | None, mode: str, depart: datetime) -> str | None:
    """ "quieter than 70% of similar bike trips leaving at 8 am" from a route's
    ``similar_trips``; None when it has no percentile."""
    if not similar or similar.get("percentile") is None or mode not in TRIPS_NOUN:
        return None
    p = int(similar["percentile"])
    kind = f"similar {TRIPS_NOUN[mode]} leaving at {clock(depart.replace(minute=0))}"
    if p <= 50 - ORDINARY:
        return f"quieter than {100 - p}% of {kind}"
    if p >= 50 + ORDINARY:
        return f"busier than {p}% of {kind}"
    return f"about as busy as most {kind}"


def _round_nicely(n: float) -> int:
    """Two significant figures: 1 in every 123 trips reads as 1 in every 120."""
    if n < 10:
        return max(1, round(n))
    digits = 10 ** (int(math.log10(n)) - 1)
    return int(round(n / digits) * digits)


def one_in_n(expected_within: float) -> str | None:
    """ "About 1 reported incident within [the corridor's half width] of your way in
    every 40 trips like this", from the count expected that near the way itself (not
    in the whole cells the forecast is kept in: see ``corridor.area_shares``)."""
    if not math.isfinite(expected_within) or expected_within <= 0:
        return None
    if expected_within >= 1.5:
        return (
            f"About {round(expected_within)} reported incidents {NEAR} on each trip "
            "like this"
        )
    if expected_within >= 0.75:
        return f"About 1 reported incident {NEAR} on each trip like this"
    n = _round_nicely(1 / expected_within)
    return f"About 1 reported incident {NEAR} in every {n} trips like this"


def minutes_more(extra_min: float) -> str:
    m = round(extra_min)
    return "about the same time" if m == 0 else f"{'+' if m > 0 else '−'}{abs(m)} min"


def alternative(extra_min: float, avoided: str | None, fewer_pct: float) -> str:
    """ "+3 min, avoids the busiest blocks of Broadway" (or, with no one street it
    leaves out, "+3 min, 25% fewer expected reported incidents")."""
    if avoided:
        return f"{minutes_more(extra_min)}, avoids the busiest blocks of {avoided}"
    return (
        f"{minutes_more(extra_min)}, {round(fewer_pct)}% fewer expected reported "
        "incidents"
    )


def best_time(
    best: datetime,
    best_expected: float,
    other: datetime,
    other_expected: float,
    measured_error: float | None,
) -> str | None:
    """ "Leave at 8:40 rather than 8:00: 20% fewer", or, when the difference is
    within the model's measured error, that any time in the window is about the
    same. ``measured_error``: the model's relative error (0.05 = 5%), None when
    the model has none measured."""
    if other_expected <= 0 or best == other:
        return None
    fewer = (1 - best_expected / other_expected) * 100
    if measured_error is not None and fewer < measured_error * 100:
        return (
            f"Any time in your window is about the same: leaving at {clock(best)} "
            f"rather than {clock(other)} changes the expected count by {fewer:.0f}%, "
            f"within the model's measured error (about {measured_error * 100:.0f}%)"
        )
    return f"Leave at {clock(best)} rather than {clock(other)}: {fewer:.0f}% fewer"
