"""The names people know for SPD's codes: areas and offense groups.

SPD's records and boundary files speak in codes and capitals ("U1", "SLU/CASCADE",
"HOMICIDE OFFENSES" under two categories). Every list the site shows uses the labels
made here; the API keeps the source values and adds these labels beside them.
Area labels are computed once when the boundaries load (crimes.boundaries) and stored
on crimes.Area; offense labels once per data version (history_queries.history_state).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from crimes.models import CrimeAgainst

# SPD precinct codes (spd_precincts.geojson `name`, beats' `first_precinct`, MCPP's
# `PRECINCT`, the records' `precinct`).
PRECINCTS = {"N": "North", "E": "East", "S": "South", "W": "West", "SW": "Southwest"}

# Neighborhood Map Atlas small areas (S_HOOD) that residents call by another name:
# the Atlas's own larger area (L_HOOD) or its listed alternative (S_HOOD_ALT_NAMES).
SAID_AS = {
    "Broadway": "Capitol Hill",  # L_HOOD; alt "Pike/Pine"
    "Stevens": "Capitol Hill",  # L_HOOD; alt "Interlaken Park, Madison-Miller"
    "Minor": "Central District",  # alt "Central District, Squire Park"
    "Mann": "Central District",  # alt "Central District, Garfield"
    "Atlantic": "Judkins Park",  # alt "Judkins Park, Jackson Place, Colman"
    "Central Business District": "Downtown",  # L_HOOD; alt "Commercial Core"
    "Pike-Market": "Pike Place Market",  # alt
    "Holly Park": "New Holly",  # alt
    "Lawton Park": "Magnolia",  # L_HOOD
    "Briarcliff": "Magnolia",  # L_HOOD
    "Southeast Magnolia": "Magnolia",  # L_HOOD
}

# Beats that are no neighbourhood: 99 is a thin buffer ring along the city limits,
# H1-H3 are open water (measured against OpenStreetMap's water polygons: H1 61%
# Puget Sound / Elliott Bay within the file's clip, H2 and H3 all Lake Washington).
OUTSIDE_BEATS = {
    "99": "buffer strip along the city limits",
    "H1": "Puget Sound and Elliott Bay (water)",
    "H2": "Union Bay (water)",
    "H3": "Lake Washington (water)",
}
# What records write when they name no area.
RECORD_CODES = {
    "UNKNOWN": "Location unknown (UNKNOWN)",
    "OOJ": "Out of Seattle police jurisdiction (OOJ)",
    "<NULL>": "No area recorded (<NULL>)",
    "": "No area recorded (blank)",
}
KIND_WORDS = {"beat": "a beat", "mcpp": "an MCPP area"}


def outside_title(kind: str) -> str:
    return f"Outside {KIND_WORDS[kind]} / location unknown"


def outside_note(kind: str) -> str:
    """What the "outside" group of a list of areas means, in one sentence."""
    if kind == "beat":
        return (
            "Reports SPD placed in no neighbourhood beat: beat 99 is a buffer strip "
            "along the city limits, beats H1-H3 are open water (Puget Sound, Union "
            "Bay, Lake Washington), and some records say UNKNOWN, OOJ (outside "
            "Seattle police jurisdiction) or nothing at all, usually because the "
            "place was not known."
        )
    return (
        "Reports whose record names no MCPP area: it says UNKNOWN, OOJ (outside "
        "Seattle police jurisdiction) or nothing at all, usually because the place "
        "was not known."
    )


def record_code_label(kind: str, code: str) -> str:
    """The label of a code a record holds that is no current area of this kind."""
    known = RECORD_CODES.get(code.upper())
    if known is not None:
        return known
    word = "beat" if kind == "beat" else "MCPP area"
    return f"Retired {word} code {code}"


def precinct_name(code: str | None) -> str:
    return PRECINCTS.get((code or "").upper(), "")


def precinct_label(code: str | None) -> str:
    name = precinct_name(code)
    return f"{name} precinct" if name else ""


# --- MCPP areas: their own names in title case --------------------------------------

# Words an MCPP name keeps in capitals, and names the file runs together.
UPPER_WORDS = {"SLU", "SODO", "SW"}
MCPP_SPELLING = {
    "BITTERLAKE": "Bitter Lake",
    "LAKECITY": "Lake City",
    "SANDPOINT": "Sand Point",
}


def mcpp_name(code: str) -> str:
    """CAPITOL HILL -> Capitol Hill, SLU/CASCADE -> SLU/Cascade, LAKECITY -> Lake
    City."""
    if code.upper() in MCPP_SPELLING:
        return MCPP_SPELLING[code.upper()]

    def word(match: re.Match) -> str:
        w = match.group(0)
        return w.upper() if w.upper() in UPPER_WORDS else w.capitalize()

    return re.sub(r"[A-Za-z]+", word, code.lower())


# --- beats: the neighbourhoods they cover ------------------------------------------

MAX_HOODS = 3
# A neighbourhood is named when it holds at least this share of the beat's land.
MIN_SHARE = 0.10


def beat_name(code: str, overlaps: Iterable[tuple[str, float]]) -> str:
    """The neighbourhoods a beat covers, largest share first, as people say them.

    overlaps: (Atlas S_HOOD name, area shared with the beat), any unit. Shares are of
    the land the Atlas covers, so water inside a beat does not thin them out.
    """
    if code.upper() in OUTSIDE_BEATS:
        return OUTSIDE_BEATS[code.upper()]
    merged: dict[str, float] = {}
    for hood, area in overlaps:
        said = SAID_AS.get(hood, hood)
        merged[said] = merged.get(said, 0.0) + area
    land = sum(merged.values())
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
    named = [h for i, (h, a) in enumerate(ranked) if i == 0 or a >= MIN_SHARE * land]
    if not named:
        return ""
    # "and 1 more" would take the room of the name itself.
    shown = named if len(named) <= MAX_HOODS + 1 else named[:MAX_HOODS]
    more = len(named) - len(shown)
    names = ", ".join(shown)
    return f"{names} and {more} more" if more else names


def beat_label(code: str, name: str, precinct: str | None) -> str:
    """Beat U1: Ravenna, Roosevelt, University Heights (North precinct)."""
    label = f"Beat {code}: {name}" if name else f"Beat {code}"
    where = precinct_label(precinct)
    return f"{label} ({where})" if where else label


# --- offense groups ----------------------------------------------------------------

# Whole labels where the source's words need more than a change of case.
GROUP_LABELS = {
    ("NOT_A_CRIME", "HOMICIDE OFFENSES"): "Homicide (justifiable, not a crime)",
}
# The filter selects a group in every category; its option says so.
GROUP_FILTER_LABELS = {"HOMICIDE OFFENSES": "Homicide offenses, incl. justifiable"}
PROPER_WORDS = {"tom": "Tom"}  # PEEPING TOM
CRIME_CATEGORIES = (CrimeAgainst.PERSON, CrimeAgainst.PROPERTY, CrimeAgainst.SOCIETY)


def sentence_case(text: str) -> str:
    """LARCENY-THEFT -> Larceny-theft; BURGLARY/BREAKING&ENTERING -> Burglary/breaking
    & entering."""
    lowered = re.sub(r"\s*&\s*", " & ", text.strip().lower())
    lowered = re.sub(
        r"[a-z]+", lambda m: PROPER_WORDS.get(m.group(0), m.group(0)), lowered
    )
    return lowered[:1].upper() + lowered[1:]


def category_label(category: str) -> str:
    return dict(CrimeAgainst.choices).get(category.upper(), sentence_case(category))


def group_labels(rows: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """A label per (category, group), unique: a group under several categories says
    which it is ("Homicide (justifiable, not a crime)").

    The label of a group is plain when it is under one category, or when it is the
    one crime category beside NOT_A_CRIME / OTHER rows of the same group.
    """
    pairs = sorted(set(rows))
    categories_of: dict[str, set[str]] = {}
    for category, group in pairs:
        categories_of.setdefault(group, set()).add(category)
    labels = {}
    for category, group in pairs:
        cats = categories_of[group]
        crimes = cats & set(CRIME_CATEGORIES)
        plain = len(cats) == 1 or (category in crimes and len(crimes) == 1)
        if (category, group) in GROUP_LABELS:
            labels[(category, group)] = GROUP_LABELS[(category, group)]
        elif plain:
            labels[(category, group)] = sentence_case(group) if group else "No group"
        else:
            base = sentence_case(group) if group else "No group"
            labels[(category, group)] = f"{base} ({category_label(category).lower()})"
    return labels


def group_filter_labels(rows: Sequence[tuple[str, str]]) -> dict[str, str]:
    """A label per group value, for a filter that selects the group in every
    category: a group under several categories says so."""
    categories_of: dict[str, list[str]] = {}
    for category, group in rows:
        categories_of.setdefault(group, []).append(category)
    labels = {}
    for group, cats in categories_of.items():
        if len(set(cats)) == 1 or not group:
            labels[group] = sentence_case(group) if group else "No group"
        elif group in GROUP_FILTER_LABELS:
            labels[group] = GROUP_FILTER_LABELS[group]
        else:
            names = ", ".join(category_label(c).lower() for c in sorted(set(cats)))
            labels[group] = f"{sentence_case(group)} (any of: {names})"
    return labels
