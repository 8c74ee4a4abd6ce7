"""History in names people know (issue 22): area labels stored at boundary load,
offense group labels unique in every list, the API keeping the source values beside
the labels, and the sentence an area page leads with.

Expected values are worked out here from the boundary files (shapely) and the
imported rows (plain Python), never with the SQL under test.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from django.conf import settings
from shapely.geometry import shape

from core.local_time import SEATTLE
from crimes import names
from crimes.boundaries import load_boundaries
from crimes.models import Area
from crimes.services.area_summary import busiest, period_words
from tests.spd_rows import delete_imported, incident_rows, load_spd

BASE = "start=2021-01-01&end=2021-12-31"
OUTSIDE = {"99", "H1", "H2", "H3"}
ODD_BEATS = {"UNKNOWN", "OOJ", "<Null>", "", "99"}


def _features(filename: str) -> list[dict]:
    path = settings.BOUNDARIES_DIR / filename
    return json.loads(path.read_text())["features"]


# --- areas: computed once at load, stored -------------------------------------------


@pytest.mark.django_db
def test_every_beat_has_a_name_and_its_precinct():
    beats = {a.code: a for a in Area.objects.filter(kind="beat")}
    assert len(beats) == 55
    precincts = {
        f["properties"]["beat"]: f["properties"]["first_precinct"]
        for f in _features("spd_beats_2018.geojson")
    }
    for code, area in beats.items():
        assert area.name, code
        assert area.label.startswith(f"Beat {code}: {area.name}"), area.label
        assert area.name != code and not re.fullmatch(r"[A-Z][0-9]", area.name)
        if code in OUTSIDE:
            assert area.outside and not area.precinct
        else:
            word = names.PRECINCTS[precincts[code]]
            assert area.label.endswith(f"({word} precinct)"), area.label
            assert area.precinct == precincts[code] and not area.outside
    assert {c for c, a in beats.items() if a.outside} == OUTSIDE


@pytest.mark.django_db
def test_a_beat_is_named_by_the_neighbourhood_covering_most_of_it():
    hoods = [
        (f["properties"]["S_HOOD"], shape(f["geometry"]))
        for f in _features("neighborhoods.geojson")
    ]
    beats = {
        f["properties"]["beat"]: shape(f["geometry"]).buffer(0)
        for f in _features("spd_beats_2018.geojson")
    }
    for code, geom in beats.items():
        if code in OUTSIDE:
            continue
        # Degrees are fine for a ranking inside one small beat.
        shares = Counter()
        for hood, hood_geom in hoods:
            if hood_geom.intersects(geom):
                said = names.SAID_AS.get(hood, hood)
                shares[said] += hood_geom.intersection(geom).area
        first = shares.most_common(1)[0][0]
        area = Area.objects.get(kind="beat", code=code)
        assert area.name.split(",")[0] == first, (code, area.name, shares)
    assert Area.objects.get(kind="beat", code="U2").name == (
        "University of Washington, University District"
    )
    assert Area.objects.get(kind="beat", code="E1").name == "Capitol Hill"


@pytest.mark.django_db
def test_labels_are_unique_in_each_kind():
    for kind in Area.Kind.values:
        labels = list(Area.objects.filter(kind=kind).values_list("label", flat=True))
        assert all(labels), kind
        assert len(labels) == len(set(labels)), kind


@pytest.mark.django_db
def test_mcpp_areas_keep_the_records_code_and_get_their_own_name_in_title_case():
    mcpp = dict(Area.objects.filter(kind="mcpp").values_list("code", "label"))
    assert len(mcpp) == 58
    # The two names the polygons spell differently from the records (data/README).
    assert mcpp["CHINATOWN/INTERNATIONAL DISTRICT"] == (
        "Chinatown/International District"
    )
    assert mcpp["MADRONA/LESCHI"] == "Madrona/Leschi"
    assert "INTERNATIONAL DISTRICT" not in mcpp and "LESCHI/MADRONA" not in mcpp
    assert mcpp["SLU/CASCADE"] == "SLU/Cascade"
    assert mcpp["LAKECITY"] == "Lake City"
    assert mcpp["FAUNTLEROY SW"] == "Fauntleroy SW"
    for code, label in mcpp.items():
        assert label.upper().replace(" ", "") == code.replace(" ", ""), code
        assert label != code or code in names.UPPER_WORDS, code


@pytest.mark.django_db
def test_precincts_are_named_in_words():
    labels = dict(Area.objects.filter(kind="precinct").values_list("code", "label"))
    assert labels == {
        "N": "North precinct",
        "E": "East precinct",
        "S": "South precinct",
        "W": "West precinct",
        "SW": "Southwest precinct",
    }


@pytest.mark.django_db
def test_a_reload_stores_the_labels_again():
    Area.objects.filter(kind="beat").update(label="", name="")
    load_boundaries(Area, settings.BOUNDARIES_DIR)
    assert not Area.objects.filter(kind="beat", label="").exists()
    assert Area.objects.get(kind="beat", code="H3").label == (
        "Beat H3: Lake Washington (water)"
    )


# --- offense groups -----------------------------------------------------------------


def test_sentence_case_of_source_capitals():
    assert names.sentence_case("LARCENY-THEFT") == "Larceny-theft"
    assert names.sentence_case("BURGLARY/BREAKING&ENTERING") == (
        "Burglary/breaking & entering"
    )
    assert names.sentence_case("PEEPING TOM") == "Peeping Tom"
    assert names.category_label("NOT_A_CRIME") == "Not a crime"


def test_a_group_under_two_categories_says_which():
    rows = [
        ("PERSON", "HOMICIDE OFFENSES"),
        ("NOT_A_CRIME", "HOMICIDE OFFENSES"),
        ("PROPERTY", "LARCENY-THEFT"),
        ("PERSON", "MADE UP"),
        ("PROPERTY", "MADE UP"),
    ]
    labels = names.group_labels(rows)
    assert labels[("PERSON", "HOMICIDE OFFENSES")] == "Homicide offenses"
    assert labels[("NOT_A_CRIME", "HOMICIDE OFFENSES")] == (
        "Homicide (justifiable, not a crime)"
    )
    assert labels[("PROPERTY", "LARCENY-THEFT")] == "Larceny-theft"
    assert labels[("PERSON", "MADE UP")] == "Made up (person)"
    assert len(set(labels.values())) == len(labels)
    options = names.group_filter_labels(rows)
    assert options["HOMICIDE OFFENSES"] == "Homicide offenses, incl. justifiable"
    assert options["MADE UP"] == "Made up (any of: person, property)"
    assert len(set(options.values())) == len(options)


def test_codes_records_hold_for_no_area_are_said_in_words():
    assert names.record_code_label("beat", "OOJ").startswith("Out of Seattle police")
    assert names.record_code_label("beat", "<NULL>") == "No area recorded (<NULL>)"
    assert names.record_code_label("beat", "Z9") == "Retired beat code Z9"
    assert names.outside_title("beat") == "Outside a beat / location unknown"


# --- the area sentence's words ------------------------------------------------------


def test_periods_are_said_with_years():
    import datetime as dt

    d = dt.date
    assert period_words(d(2021, 1, 1), d(2021, 12, 31)) == "In 2021"
    assert period_words(d(2021, 6, 1), d(2021, 6, 30)) == "In June 2021"
    assert period_words(d(2021, 6, 5), d(2021, 6, 5)) == "On June 5, 2021"
    assert period_words(d(2020, 12, 2), d(2021, 12, 1)) == (
        "From December 2, 2020 to December 1, 2021"
    )


def test_busiest_counts_a_night_with_the_day_it_began():
    matrix = [[0] * 24 for _ in range(7)]
    for hour in (22, 23):
        matrix[4][hour] = 10  # Friday 22:00-23:59
    for hour in range(6):
        matrix[5][hour] = 10  # Saturday 00:00-05:59
    matrix[5][18] = 30  # one busy Saturday evening hour: 6 per hour over five
    assert busiest(matrix) == "Friday nights"


# --- the API: source values kept, labels added, unique in every list -----------------


@pytest.fixture(scope="module")
def rows(django_db_setup, django_db_blocker):
    """Every 20th row reported in 2021, plus every homicide (one is justifiable:
    NOT_A_CRIME) and every record with a buffer or unknown beat."""
    with django_db_blocker.unblock():
        delete_imported()
        load_spd(every=20)
        load_spd(
            keep=lambda r: (
                "HOMICIDE" in r["Offense Parent Group"] or r["Beat"] in ODD_BEATS
            )
        )
        data = incident_rows()
    yield data
    with django_db_blocker.unblock():
        delete_imported()


@pytest.fixture
def api(client, rows, db):
    def get(path: str, query: str = BASE):
        response = client.get(f"/api/v1/{path}?{query}")
        assert response.status_code == 200, response.content
        return response.json()

    return get


def _in_2021(rows) -> list[dict]:
    return [
        r
        for r in rows
        if r["offense_start"] and r["offense_start"].astimezone(SEATTLE).year == 2021
    ]


def test_groups_keep_source_values_and_labels_are_unique(api, rows):
    body = api("history/groups/")
    pairs = Counter(
        (r["crime_against"], r["offense_parent_group"]) for r in _in_2021(rows)
    )
    assert {(g["category"], g["group"]): g["count"] for g in body["groups"]} == pairs
    labels = [g["label"] for g in body["groups"]]
    assert len(labels) == len(set(labels))
    homicide = {
        g["category"]: g["label"]
        for g in body["groups"]
        if g["group"] == "HOMICIDE OFFENSES"
    }
    assert homicide == {
        "PERSON": "Homicide offenses",
        "NOT_A_CRIME": "Homicide (justifiable, not a crime)",
    }
    assert all(not g["label"].isupper() for g in body["groups"])
    category_labels = [c["label"] for c in body["categories"]]
    assert len(category_labels) == len(set(category_labels))
    # One selection with only the justifiable homicide still names it so.
    justifiable = api(
        "history/groups/", BASE + "&category=not_a_crime&group=HOMICIDE OFFENSES"
    )
    assert [g["label"] for g in justifiable["groups"]] == [
        "Homicide (justifiable, not a crime)"
    ]


def test_meta_lists_have_unique_labels(api):
    meta = api("meta/", "")
    for key in ("groups", "categories"):
        labels = [item["label"] for item in meta[key]]
        assert len(labels) == len(set(labels)), key


@pytest.mark.parametrize("kind", ["beat", "mcpp"])
def test_areas_carry_labels_and_group_what_is_outside(api, rows, kind):
    body = api("areas/", f"{BASE}&kind={kind}&geometry=false")
    labels = [f["properties"]["label"] for f in body["features"]]
    assert all(labels) and len(labels) == len(set(labels))
    assert all(f["properties"]["code"] == f["id"] for f in body["features"])
    wanted = _in_2021(rows)
    by_code = Counter(r[kind].upper() for r in wanted)
    known = {f["id"].upper() for f in body["features"]}
    unmatched = {c: n for c, n in by_code.items() if c not in known}
    outside = body["outside"]
    assert {c["code"]: c["count"] for c in outside["codes"]} == unmatched
    assert all(c["label"] != c["code"] for c in outside["codes"])
    in_outside_areas = sum(
        f["properties"]["count"] for f in body["features"] if f["properties"]["outside"]
    )
    assert outside["count"] == in_outside_areas + sum(unmatched.values())
    assert outside["label"].startswith("Outside ") and outside["note"].endswith(".")
    if kind == "beat":
        assert "UNKNOWN" in unmatched and by_code["99"] > 0
        assert {f["id"] for f in body["features"] if f["properties"]["outside"]} == (
            OUTSIDE
        )
        u1 = next(f["properties"] for f in body["features"] if f["id"] == "U1")
        assert u1["precinct"] == "N" and u1["precinct_label"] == "North precinct"
        assert u1["per_km2_per_year"] == pytest.approx(
            u1["count"] / u1["area_km2"], rel=0.01
        )
        h3 = next(f["properties"] for f in body["features"] if f["id"] == "H3")
        assert h3["per_km2_per_year"] is None


def test_boundaries_carry_the_labels(client, db):
    body = client.get("/boundaries/beat.geojson").json()
    labels = {f["id"]: f["properties"]["label"] for f in body["features"]}
    assert labels["H1"] == "Beat H1: Puget Sound and Elliott Bay (water)"


# --- pages --------------------------------------------------------------------------


def test_area_page_leads_with_a_sentence(client, rows, db):
    wanted = [r for r in _in_2021(rows) if r["beat"] == "K3"]
    top = Counter(r["offense_parent_group"] for r in wanted).most_common(1)[0][0]
    html = client.get(f"/history/area/beat/K3/?{BASE}").content.decode()
    heading = Area.objects.get(kind="beat", code="K3").label
    assert f"<h1>{heading}</h1>" in html
    sentence = re.search(r'id="area-sentence">([^<]*)<', html).group(1)
    assert sentence.startswith(f"In 2021, {len(wanted):,} reports in Beat K3, ")
    assert names.sentence_case(top).lower() in sentence.lower()
    assert re.search(
        r"; busiest (Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day "
        r"(mornings|afternoons|evenings|nights)\.$",
        sentence,
    ), sentence
    assert html.index('id="area-sentence"') < html.index('class="charts"')


def test_an_outside_area_page_says_what_outside_means(client, rows, db):
    html = client.get(f"/history/area/beat/99/?{BASE}").content.decode()
    assert "Beat 99: buffer strip along the city limits" in html
    assert names.outside_note("beat") in html


def test_history_page_group_options_are_unique(client, rows, db):
    html = client.get(f"/history/?{BASE}").content.decode()
    select = re.search(r'<select id="f-group".*?</select>', html, re.S).group(0)
    options = re.findall(r"<option [^>]*>([^<]*)</option>", select)
    assert "Homicide offenses, incl. justifiable" in options
    assert len(options) == len(set(options)) > 10
    values = re.findall(r'<option value="([^"]*)"', select)
    assert len(values) == len(set(values))


def test_an_mcpp_page_names_the_area_and_says_when_nothing_matches(client, rows, db):
    wanted = [r for r in _in_2021(rows) if r["mcpp"] == "SLU/CASCADE"]
    html = client.get(f"/history/area/mcpp/SLU/CASCADE/?{BASE}").content.decode()
    assert "<h1>SLU/Cascade</h1>" in html and "<code>SLU/CASCADE</code>" in html
    assert "West precinct" in html
    assert f"In 2021, {len(wanted):,} reports in SLU/Cascade, " in html
    empty = client.get(
        "/history/area/mcpp/SLU/CASCADE/?start=2030-06-01&end=2030-06-30"
    ).content.decode()
    assert "In June 2030, no reports in SLU/Cascade match these filters." in empty
