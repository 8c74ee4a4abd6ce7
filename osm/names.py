"""Street names as Seattle writes them: "East Pine Street" -> "E Pine St".

OpenStreetMap spells names out; SPD's addresses, street signs and people abbreviate
them. Labels on the page and the typeahead use the short form so "broadway & e pine"
finds the network's "Broadway / East Pine Street".
"""

from __future__ import annotations

DIRECTIONS = {
    "North": "N",
    "South": "S",
    "East": "E",
    "West": "W",
    "Northeast": "NE",
    "Northwest": "NW",
    "Southeast": "SE",
    "Southwest": "SW",
}
STREET_TYPES = {
    "Avenue": "Ave",
    "Boulevard": "Blvd",
    "Circle": "Cir",
    "Court": "Ct",
    "Drive": "Dr",
    "Expressway": "Expy",
    "Freeway": "Fwy",
    "Highway": "Hwy",
    "Junior": "Jr",
    "Lane": "Ln",
    "Parkway": "Pkwy",
    "Place": "Pl",
    "Road": "Rd",
    "Square": "Sq",
    "Street": "St",
    "Terrace": "Ter",
}


def short_name(name: str) -> str:
    """Abbreviate directions (first or last word) and street types (never first)."""
    words = name.split()
    out = []
    last = len(words) - 1
    for i, word in enumerate(words):
        if word in DIRECTIONS and (i == 0 or i == last) and last > 0:
            out.append(DIRECTIONS[word])
        elif word in STREET_TYPES and i > 0:
            out.append(STREET_TYPES[word])
        else:
            out.append(word)
    return " ".join(out)


def edge_label(tags: dict) -> str:
    """What to call an OSM way: its short name, else its route number ("I 5")."""
    name = (tags.get("name") or "").strip()
    if name:
        return short_name(name)
    ref = (tags.get("ref") or "").strip()
    return ref.split(";")[0].strip()


_SHORT_DIRECTIONS = frozenset(DIRECTIONS.values())


def base_name(label: str) -> str:
    """A label without its directions: "Broadway E" and "Broadway" are one street."""
    words = label.split()
    while len(words) > 1 and words[0] in _SHORT_DIRECTIONS:
        words = words[1:]
    while len(words) > 1 and words[-1] in _SHORT_DIRECTIONS:
        words = words[:-1]
    return " ".join(words)
