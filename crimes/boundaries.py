"""Load the committed Seattle boundary files (data/boundaries) into crimes.Area."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon

from core.cache import AREAS, bump

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
            if kind == "mcpp":
                name = code.title()
            merged.setdefault(code, (name, []))[1].extend(
                _multipolygon(feature["geometry"])
            )
        for code, (name, polys) in merged.items():
            yield kind, code, name, MultiPolygon(*polys, srid=4326)


def load_boundaries(area_model, directory: Path) -> int:
    """Replace every Area with the committed boundaries; return the count."""
    area_model.objects.all().delete()
    rows = [
        area_model(kind=kind, code=code, name=name, geom=geom)
        for kind, code, name, geom in iter_areas(directory)
    ]
    area_model.objects.bulk_create(rows)
    # A migration passes its historical model, which sends no signal.
    bump(AREAS)
    return len(rows)
