"""Load the committed Seattle boundary files (data/boundaries) into crimes.Area."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import connection

from core.cache import AREAS, bump
from crimes import names

# MCPP polygons spell two names differently from the SPD records; store the records'
# spelling so counts join on it.
MCPP_NAME_FIXES = {
    "INTERNATIONAL DISTRICT": "CHINATOWN/INTERNATIONAL DISTRICT",
    "LESCHI/MADRONA": "MADRONA/LESCHI",
}

# (kind, file, property holding the code, property holding the display name)
SOURCES = [
    ("precinct", "spd_precincts.geojson", "name", "name"),
    ("beat", "spd_beats_2018.geojson", "beat", "beat"),
    ("mcpp", "spd_mcpp_areas.geojson", "NEIGHBORHOOD", "NEIGHBORHOOD"),
    ("neighborhood", "neighborhoods.geojson", "S_HOOD", "S_HOOD"),
]


def _multipolygon(geometry: dict) -> MultiPolygon:
    geom = GEOSGeometry(json.dumps(geometry), srid=4326)
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=4326)
    if not geom.valid:
        geom = geom.buffer(0)
        if geom.geom_type == "Polygon":
            geom = MultiPolygon(geom, srid=4326)
    return geom


def iter_areas(directory: Path):
    """Yield (kind, code, name, MultiPolygon) for every boundary in the folder."""
    city = json.loads((directory / "city_limits.geojson").read_text())
    parts = []
    for feature in city["features"]:
        parts.extend(_multipolygon(feature["geometry"]))
    yield "city", "SEATTLE", "Seattle", MultiPolygon(*parts, srid=4326)

    for kind, filename, code_key, name_key in SOURCES:
        data = json.loads((directory / filename).read_text())
        merged: dict[str, tuple[str, list]] = {}
        for feature in data["features"]:
            props = feature.get("properties") or {}
            code = str(props.get(code_key) or "").strip()
            if not code:
                continue
            if kind == "mcpp":
                code = MCPP_NAME_FIXES.get(code, code)
            name = str(props.get(name_key) or code).strip()
            merged.setdefault(code, (name, []))[1].extend(
                _multipolygon(feature["geometry"])
            )
        for code, (name, polys) in merged.items():
            yield kind, code, name, MultiPolygon(*polys, srid=4326)


# Where each kind's file says the precinct (beats: their first precinct; 99 and H1-H3
# have none).
PRECINCT_KEYS = {"beat": "first_precinct", "mcpp": "PRECINCT"}
LABEL_FIELDS = ("name", "label", "precinct", "outside")


def load_boundaries(area_model, directory: Path) -> int:
    """Replace every Area with the committed boundaries, labelled; return the count."""
    area_model.objects.all().delete()
    rows = [
        area_model(kind=kind, code=code, name=name, geom=geom)
        for kind, code, name, geom in iter_areas(directory)
    ]
    area_model.objects.bulk_create(rows)
    # Migration 0002 passes the model from before the labels; 0006 labels its rows.
    fields = {f.name for f in area_model._meta.get_fields()}
    if fields.issuperset(LABEL_FIELDS):
        label_areas(area_model, directory)
    # A migration passes its historical model, which sends no signal.
    bump(AREAS)
    return len(rows)


def _precincts(directory: Path) -> dict[tuple[str, str], str]:
    out = {}
    for kind, filename, code_key, _name_key in SOURCES:
        key = PRECINCT_KEYS.get(kind)
        if key is None:
            continue
        for feature in json.loads((directory / filename).read_text())["features"]:
            props = feature.get("properties") or {}
            code = str(props.get(code_key) or "").strip()
            if kind == "mcpp":
                code = MCPP_NAME_FIXES.get(code, code)
            out[(kind, code)] = str(props.get(key) or "").strip().upper()
    return out


def _beat_overlaps(table: str) -> dict[str, list[tuple[str, float]]]:
    """(neighbourhood, m² shared) per beat, measured in the analysis SRID."""
    srid = settings.ANALYSIS_SRID
    sql = f"""
        SELECT b.code, n.name, ST_Area(ST_Intersection(
            ST_Transform(b.geom, {srid}), ST_Transform(n.geom, {srid})))
        FROM {table} b
        JOIN {table} n ON n.kind = 'neighborhood' AND ST_Intersects(b.geom, n.geom)
        WHERE b.kind = 'beat'
    """
    out: dict[str, list[tuple[str, float]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for code, hood, area in cursor.fetchall():
            out.setdefault(code, []).append((hood, area))
    return out


def label_areas(area_model, directory: Path) -> None:
    """Name every area as people say it and store its label (crimes.names):
    beats by the neighbourhoods they overlap most and their precinct, MCPP areas
    in title case, precincts by their word."""
    precincts = _precincts(directory)
    overlaps = _beat_overlaps(area_model._meta.db_table)
    rows = list(area_model.objects.all())
    for area in rows:
        area.precinct = precincts.get((area.kind, area.code), "")
        area.outside = area.kind == "beat" and area.code in names.OUTSIDE_BEATS
        if area.kind == "beat":
            area.name = names.beat_name(area.code, overlaps.get(area.code, ()))
            area.label = names.beat_label(area.code, area.name, area.precinct)
        elif area.kind == "mcpp":
            area.name = area.label = names.mcpp_name(area.code)
        elif area.kind == "precinct":
            area.precinct = area.code
            area.name = names.precinct_name(area.code) or area.code
            area.label = names.precinct_label(area.code) or area.code
        else:
            area.label = area.name
    area_model.objects.bulk_update(rows, LABEL_FIELDS)
    bump(AREAS)
