"""Every real data file the tests read: all of them inside the repository.

A fresh clone has no shared data folder beside it, so no test may reach for one
(tests/test_stand_alone.py checks). The bundled extract and boundaries under data/
serve where they fit; the cuts under tests/fixtures/spd were made from the full files
by tests/fixtures/spd/cut_shared_files.py (provenance and licence in its README.md).
Django-free, so the ml tests use it too.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Every record reported in 2021 (71,124 rows), cut unchanged from the 2012-2021 file.
SPD_2021 = REPO / "data" / "spd" / "spd_2021.csv.gz"
CITY_LIMITS = REPO / "data" / "boundaries" / "city_limits.geojson"

SPD_FIXTURES = REPO / "tests" / "fixtures" / "spd"
# The first 1,200 rows of the untouched portal CSV export of robberies (BOM, LF lines,
# blank end times, `0,0` locations); its first row is offense 12605567653.
ROBBERY_EXPORT = SPD_FIXTURES / "portal_export_robbery_first1200.csv"
# An untouched SODA API response cut to offense starts 2019-01-01 .. 2019-01-02
# (475 records, every value a string, nulls omitted, floating local timestamps).
SODA_WINDOW = SPD_FIXTURES / "soda_api_window_2019-01-01_2019-01-02.json"
# The rows of the 2012-2021 portal CSV with the offense ids of SODA_WINDOW: the same
# records in the other format (471: the other 4 were reported in 2022).
SODA_WINDOW_CSV_ROWS = SPD_FIXTURES / "spd_2012_2021_rows_of_soda_window.csv.gz"
# Real robbery rows rewritten in the 2025 NIBRS layout (make_nibrs_sample.py).
NIBRS_SAMPLE = SPD_FIXTURES / "nibrs_2025_sample.csv"
