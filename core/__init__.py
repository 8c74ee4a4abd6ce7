"""Shared infrastructure every app uses: the run model and its ownership, the cache
and the API fast path, throttling, env readers, the grid and Seattle-time helpers.

Nothing here knows about SPD records, forecasts or commutes: core imports ml/ and
Django, never another app (tests/test_architecture.py checks it).
"""
