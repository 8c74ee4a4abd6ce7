"""One spelling for the index and for what people type.

"1520 broadway east", "1520 Broadway E, Seattle, WA 98122", "E Pine/Broadway",
"Pike Place Market" and SPD's "7XX BLOCK OF E PINE ST" all go through ``normalise``:
upper case, no punctuation, directions and street types abbreviated as SPD and street
signs write them ("EAST" -> "E", "AVENUE" -> "AVE"), intersections joined by " / ".
The index stores every name in this form (``Place.search_text``), so matching is
plain string and trigram work in PostgreSQL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from osm import names as street_names

MAX_QUERY_LENGTH = 80

_DIRECTIONS = {k.upper(): v.upper() for k, v in street_names.DIRECTIONS.items()}
_SHORT_DIRECTIONS = frozenset(_DIRECTIONS.values())
# The short forms, as a list: "N", "S", ..., "SW".
DIRECTIONS = tuple(_DIRECTIONS.values())
_TYPES = {k.upper(): v.upper() for k, v in street_names.STREET_TYPES.items()} | {
    "AV": "AVE"
}
# The tail people add to an address: ", Seattle, WA 98122", ", USA", "Seattle WA".
_CITY_TAIL = re.compile(
    r"(?:,\s*(?:SEATTLE|WA|WASHINGTON|USA|\d{5})\b.*|\s+SEATTLE,?\s+WA\b.*)$"
)
_JOINERS = re.compile(r"\s*(?:&|@|\+|/|\bAND\b|\bAT\b)\s*")
_BLOCK_OF = re.compile(r"\bBLOCK OF\b")
_NOT_WORD = re.compile(r"[^A-Z0-9/ ]")
_SPACES = re.compile(r"\s+")
# "1520 BROADWAY E", "4937-B 49TH AVE S": a house number, then a street with a letter.
_HOUSE_NUMBER = re.compile(r"^(\d{1,5})(?:-?[A-Z])?\s+(?=\S*[A-Z])(?!/)(.+)$")


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _street_words(side: str) -> str:
    """Abbreviate one street's words: directions first or last, types never first."""
    words = side.split()
    last = len(words) - 1
    out = []
    for i, word in enumerate(words):
        if word in _DIRECTIONS and (i == 0 or i == last) and last > 0:
            out.append(_DIRECTIONS[word])
        elif word in _TYPES and i > 0:
            out.append(_TYPES[word])
        else:
            out.append(word)
    return " ".join(out)


def normalise(text: str) -> str:
    """Any name or query -> the index's form ("" when nothing is left)."""
    text = _ascii(text).upper()[:MAX_QUERY_LENGTH].replace("'", "").replace("’", "")
    text = _CITY_TAIL.sub("", text)
    text = _JOINERS.sub(" / ", text)
    text = _BLOCK_OF.sub(" ", text)
    text = _NOT_WORD.sub(" ", text)
    sides = [_street_words(side) for side in text.split("/")]
    return " / ".join(s for s in sides if s)


@dataclass(frozen=True)
class HouseNumber:
    number: int
    street: str  # normalised: "BROADWAY E"

    @property
    def hundred(self) -> int:
        return self.number // 100 * 100


def house_number(normalised: str) -> HouseNumber | None:
    """ "1520 BROADWAY E" -> HouseNumber(1520, "BROADWAY E"); None for anything else."""
    if "/" in normalised:
        return None
    match = _HOUSE_NUMBER.match(normalised)
    if not match:
        return None
    return HouseNumber(int(match.group(1)), match.group(2))


def as_hundred_block(normalised: str) -> str:
    """ "712 E PINE ST" -> "7XX E PINE ST": SPD's spelling of the block."""
    found = house_number(normalised)
    if found is None:
        return normalised
    return f"{found.number // 100}XX {found.street}"


_HUNDRED = re.compile(r"^(\d+)XX (.+)$")


def hundred_block(search_text: str) -> tuple[int, str] | None:
    """ "7XX E PINE ST" -> (700, "E PINE ST"); None when it is no hundred block."""
    match = _HUNDRED.match(search_text)
    if not match:
        return None
    return int(match.group(1)) * 100, match.group(2)


def directions_of(street: str) -> str:
    """The street's direction words ("S" for "49TH AVE S", "NE" for "NE 45TH ST"):
    Seattle numbers each direction's quarter from its own base line."""
    words = street.split()
    found = [
        w
        for i, w in enumerate(words)
        if w in _SHORT_DIRECTIONS and i in (0, len(words) - 1)
    ]
    return " ".join(found)
