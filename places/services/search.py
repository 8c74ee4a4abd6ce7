"""Forward search of the place index: what a person types -> places, best first.

SPD publishes locations as "7XX BLOCK OF E PINE ST" or "WESTLAKE AVE / LENORA ST".
A query is normalised to that spelling and ranked by pg_trgm word similarity, then by
how often the place appears.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection, transaction

MAX_QUERY_LENGTH = 80
# The fuzzy pass (typos) keeps places at least this similar to the query; pg_trgm's
# default 0.6 misses one-letter typos in short street names.
FUZZY_THRESHOLD = 0.5

_BLOCK_OF = re.compile(r"\bBLOCK OF\b")
_SPACES = re.compile(r"\s+")
_JOINERS = re.compile(r"\s*(?:&|@|\bAND\b|\bAT\b)\s*")
_NOT_ADDRESS = re.compile(r"[^A-Z0-9/ ]")
_HOUSE_NUMBER = re.compile(r"^(\d{3,6})\b")


def normalise_query(text: str) -> str:
    """What a person types -> the stored form.

    "712 e pine" -> "7XX E PINE" (house numbers become SPD's hundred block),
    "westlake & lenora" -> "WESTLAKE / LENORA", punctuation dropped.
    """
    text = text.upper()[:MAX_QUERY_LENGTH]
    text = _JOINERS.sub(" / ", text)
    text = _NOT_ADDRESS.sub(" ", text)
    text = _BLOCK_OF.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    match = _HOUSE_NUMBER.match(text)
    if match:
        number = match.group(1)
        text = f"{int(number) // 100}XX" + text[len(number) :]
    return text


@dataclass(frozen=True)
class PlaceMatch:
    name: str
    kind: str
    lon: float
    lat: float
    incidents: int
    score: float
    source: str = "spd"


# Only one- and two-letter words ("NE", "10"): nothing for trigrams to rank, so the
# words' starts must match and the most frequent places come first.
_SHORT = """
SELECT name, kind, x, y, incidents, word_similarity(%(q)s, search_text), source
FROM (
    SELECT name, kind, ST_X(location) AS x, ST_Y(location) AS y, incidents,
        search_text, source
    FROM places_place
    WHERE search_text LIKE %(prefix)s OR search_text LIKE %(word)s
    ORDER BY incidents DESC, name
    LIMIT %(limit)s
) best
ORDER BY incidents DESC, name
"""

# A word as common as "4TH" or "2XX" matches thousands of places; ranking them all
# by word similarity costs ~50 ms. The CANDIDATES most frequent matches are ranked
# instead (a specific query has fewer matches than that anyway).
CANDIDATES = 300
_RANKED = """
SELECT name, kind, ST_X(location), ST_Y(location), incidents,
    word_similarity(%(q)s, search_text) AS score, source
FROM (
    SELECT name, kind, location, incidents, search_text, source FROM places_place
    WHERE {where}
    ORDER BY incidents DESC
    LIMIT %(candidates)s
) c
ORDER BY score DESC, incidents DESC, name
LIMIT %(limit)s
"""


def _tokens(q: str) -> list[str]:
    # Tokens under three characters ("E", "N") give pg_trgm no trigram to look up,
    # so they only rank, never filter.
    return [t for t in q.replace("/", " ").split() if len(t) >= 3]


def search_places(query: str, limit: int = 10) -> list[PlaceMatch]:
    """Places best matching ``query``; [] for a query with no letters or digits.

    First every word of the query must occur (LIKE '%word%' answered by the GIN
    trigram index: a few dozen candidates, ranked by word similarity). Only when that
    finds nothing, a fuzzy pass (``<%`` word similarity) catches typos.
    """
    q = normalise_query(query)
    if len(q.replace("/", "").strip()) < 2:
        return []
    tokens = _tokens(q)
    params: dict[str, object] = {
        "q": q,
        # Room for the duplicates _one_per_junction drops.
        "limit": 2 * int(limit),
        "candidates": CANDIDATES,
    }
    if not tokens:
        params |= {"prefix": f"{q}%", "word": f"% {q}%"}
        with connection.cursor() as cur:
            cur.execute(_SHORT, params)
            return _one_per_junction([_match(r) for r in cur.fetchall()], limit)
    likes = []
    for i, token in enumerate(tokens):
        params[f"t{i}"] = f"%{token}%"
        likes.append(f"search_text LIKE %(t{i})s")
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_RANKED.format(where=" AND ".join(likes)), params)
        rows = cur.fetchall()
        if not rows:
            # set_config(..., true) = SET LOCAL: both hold for this transaction
            # only. The planner prices word_similarity far too cheaply and picks a
            # sequential scan (90 ms on 15k places) over the GIN index (4 ms).
            cur.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true),"
                " set_config('enable_seqscan', 'off', true)",
                [str(FUZZY_THRESHOLD)],
            )
            cur.execute(_RANKED.format(where="%(q)s <%% search_text"), params)
            rows = cur.fetchall()
    return _one_per_junction([_match(r) for r in rows], limit)


def _match(r) -> PlaceMatch:
    return PlaceMatch(
        name=r[0],
        kind=r[1],
        lon=round(float(r[2]), 6),
        lat=round(float(r[3]), 6),
        incidents=int(r[4]),
        score=round(float(r[5]), 3),
        source=r[6],
    )


_NUMBERED = re.compile(r" #\d+$")


def _junction_key(name: str) -> frozenset[str]:
    return frozenset(p.strip() for p in _NUMBERED.sub("", name).split("/"))


def _one_per_junction(matches: list[PlaceMatch], limit: int) -> list[PlaceMatch]:
    """SPD and the street network both name "BROADWAY / E PINE ST" (SPD in either
    order): keep one, the network's, whose location is where the streets meet."""
    streets = {
        _junction_key(m.name)
        for m in matches
        if m.kind == "intersection" and m.source == "streets"
    }
    out = [
        m
        for m in matches
        if not (
            m.kind == "intersection"
            and m.source == "spd"
            and _junction_key(m.name) in streets
        )
    ]
    return out[:limit]
