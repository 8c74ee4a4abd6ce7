"""OpenStreetMap, read as this site needs it: extracts, ways split into edges, who may
use a way in which direction and how fast, and street names as Seattle writes them.

Pure Python (shapely/numpy at most); imports neither Django nor Celery nor any app,
like ``ml/`` (docs/TEAM_NOTES.md; tests/test_architecture.py checks). The ``streets``
app loads what this package reads into PostGIS.
"""
