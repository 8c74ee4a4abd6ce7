"""Forward search of the place index: what a person types -> places, best first.

The query is normalised like the index (``places.services.names``). Every place whose
name holds each word of the query is ranked (the whole match set, before any cut):
exact name, then prefix, then a word's start, then the words anywhere; among exact
matches a place (neighbourhood, park, station...) comes before a street, block or
intersection of the same name; then nearness to ``near`` (the map's view), then
prominence. Intersections match side by side in either order ("pine & broadway").
Only when that finds nothing, a fuzzy pass (pg_trgm word similarity) adds typos'
matches ("capital hill"). A house number puts the address first
(``places.services.addresses``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from pyproj import Transformer

from core.cache import AREAS, DATA, STREETS, VersionedCache
from places.services.addresses import Address, NoSuchNumber, locate
from places.services.names import as_hundred_block, house_number, normalise

# The fuzzy pass keeps places at least this similar to the query; pg_trgm's default
# 0.6 misses one-letter typos in short street names.
FUZZY_THRESHOLD = 0.5
# Match classes, best first.
EXACT, PREFIX, WORD_START, WORDS, FUZZY = range(5)
MATCH_WORDS = ("exact", "prefix", "word start", "words", "fuzzy")
STREET_KINDS = ("street", "block", "intersection")


@dataclass(frozen=True)
class PlaceMatch:
    name: str
    kind: str
    lon: float
    lat: float
    incidents: int
    score: float
    source: str = "spd"
    match: int = WORDS
    licence: str = ""
    # The other name that matched ("Empire Way S"), when not the place's own.
    alias: str = ""


@dataclass
class SearchResult:
    matches: list[PlaceMatch] = field(default_factory=list)
    # Said when nothing fits, or when the typed house number does not exist.
    message: str = ""
    # Nothing fits (the message quotes what was typed).
    no_match: bool = False


def _no_match(query: str) -> SearchResult:
    return SearchResult(
        message=f"No match in Seattle for “{query.strip()}”", no_match=True
    )


_TO_METRIC = Transformer.from_crs(4326, settings.ANALYSIS_SRID, always_xy=True)

_COLUMNS = """name, kind, ST_X(location), ST_Y(location), incidents, source,
    licence, {match} AS match, {score} AS score, x, y, prominence, alias"""
_MATCH = f"""CASE
    WHEN search_text = %(q)s THEN {EXACT}
    WHEN search_text LIKE %(prefix)s THEN {PREFIX}
    WHEN {{sides}} THEN {PREFIX}
    WHEN search_text LIKE %(word)s THEN {WORD_START}
    ELSE {WORDS} END"""
# Intersections typed side by side, in either order: "PINE / BROADWAY".
_SIDES = """(kind = 'intersection' AND (
    (street LIKE %(a)s AND cross_street LIKE %(b)s)
    OR (street LIKE %(b)s AND cross_street LIKE %(a)s)))"""
_ORDER = f"""ORDER BY match,
    CASE WHEN match = {EXACT} AND kind IN {STREET_KINDS} THEN 1 ELSE 0 END,
    {{near}}, prominence DESC, (source = 'streets') DESC, name
LIMIT %(limit)s"""
_NEAR = "((x - %(nx)s) * (x - %(nx)s) + (y - %(ny)s) * (y - %(ny)s))"


def _tokens(q: str) -> list[str]:
    # Tokens under three characters ("E", "N") give pg_trgm no trigram to look up,
    # so they only rank, never filter.
    return [t for t in q.replace("/", " ").split() if len(t) >= 3]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _params(q: str, limit: int, near: tuple[float, float] | None) -> dict:
    a, _, b = q.partition(" / ")
    params: dict[str, object] = {
        "q": q,
        "prefix": f"{_like(q)}%",
        "word": f"% {_like(q)}%",
        "a": f"%{_like(a.strip())}%",
        "b": f"%{_like(b.strip())}%",
        # Room for the duplicates _one_per_junction drops.
        "limit": 2 * int(limit),
    }
    if near is not None:
        params["nx"], params["ny"] = _TO_METRIC.transform(*near)
    return params


def _sql(where: str, q: str, near, score: str = "0.0", match: str = "") -> str:
    sides = _SIDES if " / " in q else "false"
    columns = _COLUMNS.format(match=match or _MATCH.format(sides=sides), score=score)
    order = _ORDER.format(near=_NEAR if near is not None else "match")
    return f"SELECT * FROM (SELECT {columns} FROM places_place WHERE {where}) c {order}"


def _ranked(q: str, limit: int, near) -> list[PlaceMatch]:
    params = _params(q, limit, near)
    tokens = _tokens(q)
    if tokens:
        likes = []
        for i, token in enumerate(tokens):
            params[f"t{i}"] = f"%{_like(token)}%"
            likes.append(f"search_text LIKE %(t{i})s")
        where = " AND ".join(likes)
    else:
        # Only one- and two-letter words ("NE", "10"): word starts must match.
        where = "(search_text LIKE %(prefix)s OR search_text LIKE %(word)s)"
    with connection.cursor() as cur:
        cur.execute(_sql(where, q, near), params)
        return [_match(r) for r in cur.fetchall()]


def _fuzzy(q: str, limit: int, near) -> list[PlaceMatch]:
    params = _params(q, limit, near)
    # The whole query: a one-letter typo leaves a single word too unlike its
    # target ("NEADLE" vs "NEEDLE": 0.4) but the whole name alike (0.63).
    sql = _sql(
        "%(q)s <%% search_text",
        q,
        near,
        score="word_similarity(%(q)s, search_text)",
        match=str(FUZZY),
    ).replace("ORDER BY match,", "ORDER BY score DESC,")
    with transaction.atomic(), connection.cursor() as cur:
        # set_config(..., true) = SET LOCAL: both hold for this transaction only.
        # The planner prices word_similarity far too cheaply and picks a sequential
        # scan (90 ms on 15k places) over the GIN index (4 ms).
        cur.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true),"
            " set_config('enable_seqscan', 'off', true)",
            [str(FUZZY_THRESHOLD)],
        )
        cur.execute(sql, params)
        return [_match(r) for r in cur.fetchall()]


def search(
    query: str, limit: int = 10, near: tuple[float, float] | None = None
) -> SearchResult:
    """Places best matching ``query`` (``near``: (lon, lat) of the map's view)."""
    q = normalise(query)
    if len(q.replace("/", "").strip()) < 2:
        return _no_match(query)
    found: list[PlaceMatch] = []
    house = house_number(q)
    if house is not None:
        located = locate(house)
        if isinstance(located, NoSuchNumber):
            return SearchResult(message=located.message)
        if isinstance(located, Address):
            found.append(_address(located))
        q = as_hundred_block(q)
    ranked = _ranked(q, limit, near)
    found += ranked
    if not ranked:
        found += _fuzzy(q, limit, near)
    matches = _one_per_junction(_unique(found), limit)
    if not matches:
        return _no_match(query)
    return SearchResult(matches)


# Answers by what was typed, normalised: a typeahead sends the same prefixes for
# everybody ("cap", "capi", ...). Kept under the index's state (its scopes' versions
# and its build token), in this process and in Redis.
NEAR_DECIMALS = 3  # a thousandth of a degree: the map's view, not a point
ANSWERS = VersionedCache(
    "places-search", (DATA, STREETS, AREAS), local=4096, shared=True, timeout=3600
)


def cached_search(
    query: str, limit: int, near: tuple[float, float] | None, state
) -> SearchResult:
    """``search`` by (normalised query, limit, ``near`` to NEAR_DECIMALS) under
    the index's ``state`` (places.services.index.ensure_fresh); uncached when it is
    None."""
    if near is not None:
        near = (round(near[0], NEAR_DECIMALS), round(near[1], NEAR_DECIMALS))
    if state is None:
        return search(query, limit, near)
    key = (state.token, normalise(query), limit, near)
    found = ANSWERS.get(
        key, lambda: search(query, limit, near), versions=state.versions
    )
    # Two spellings of one query share an answer; "no match" quotes this one.
    return _no_match(query) if found.no_match else found


def search_places(query: str, limit: int = 10, near=None) -> list[PlaceMatch]:
    return search(query, limit, near).matches


def _address(found: Address) -> PlaceMatch:
    return PlaceMatch(
        name=found.name,
        kind="address",
        lon=found.lon,
        lat=found.lat,
        incidents=0,
        score=1.0,
        source="streets",
        match=EXACT,
    )


def _match(r) -> PlaceMatch:
    return PlaceMatch(
        name=r[0],
        kind=r[1],
        lon=round(float(r[2]), 6),
        lat=round(float(r[3]), 6),
        incidents=int(r[4]),
        source=r[5],
        licence=r[6],
        match=int(r[7]),
        score=round(float(r[8]), 3),
        alias=r[12],
    )


def _unique(matches: list[PlaceMatch]) -> list[PlaceMatch]:
    seen, out = set(), []
    for m in matches:
        # A street is one place however it was found (its own name or another).
        key = (m.name, m.kind) if m.kind == "street" else (m.name, m.kind, m.lon, m.lat)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


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
