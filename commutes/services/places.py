"""The offline address typeahead: hundred blocks and intersections from our incidents.

SPD publishes locations as "7XX BLOCK OF E PINE ST" or "WESTLAKE AVE / LENORA ST".
Each distinct address becomes a Place at the mean location of its incidents, ranked
by pg_trgm word similarity to a normalised query, then by how often it appears.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from core.cache import DATA, versions

PLACES_VERSION_KEY = "commutes:places-version"
REFRESH_LOCK_KEY = "commutes:places-refresh-lock"
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


REFRESH_SQL = f"""
INSERT INTO commutes_place (name, kind, source, search_text, location, incidents)
SELECT block_address,
    CASE WHEN position('/' IN block_address) > 0 THEN 'intersection' ELSE 'block' END,
    'spd',
    trim(regexp_replace(
        regexp_replace(upper(block_address), '\\mBLOCK OF\\M', ' ', 'g'),
        '\\s+', ' ', 'g')),
    ST_Transform(ST_SetSRID(ST_MakePoint(avg(x_utm), avg(y_utm)),
        {settings.ANALYSIS_SRID}), {settings.STORAGE_SRID}),
    count(*)
FROM crimes_incident
WHERE block_address <> '' AND x_utm IS NOT NULL
GROUP BY block_address
"""


def refresh_places() -> int:
    """Rebuild the Place table from the incidents; returns the number of places.

    One transaction: readers keep seeing the old rows until the new ones commit.
    """
    version = versions(DATA)  # before the rows are read
    with transaction.atomic(), connection.cursor() as cur:
        # Serialise concurrent refreshes (command + lazy refresh) on one lock.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('commutes_place'))")
        # Only SPD's addresses: the street network's intersections have their own
        # builder (load_streets).
        cur.execute("DELETE FROM commutes_place WHERE source = 'spd'")
        cur.execute(REFRESH_SQL)
        count = cur.rowcount
    cache.set(PLACES_VERSION_KEY, version, timeout=None)
    return count


def ensure_fresh() -> bool:
    """Refresh lazily when the data's version (core.cache) moved since the last build.

    Any change to the incidents bumps it; the first typeahead request afterwards pays
    for the rebuild (about a second on the full data) and concurrent requests keep
    answering from the previous rows. Returns True when it refreshed.
    """
    if cache.get(PLACES_VERSION_KEY) == versions(DATA):
        return False
    if not cache.add(REFRESH_LOCK_KEY, 1, timeout=120):
        return False
    try:
        refresh_places()
    finally:
        cache.delete(REFRESH_LOCK_KEY)
    return True


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
    FROM commutes_place
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
    SELECT name, kind, location, incidents, search_text, source FROM commutes_place
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
