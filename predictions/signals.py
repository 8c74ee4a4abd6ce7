"""Signals other apps may listen to (they import predictions; it never imports them)."""

from django.dispatch import Signal

# Sent by services.cells.build_cells after the grid was rebuilt, inside its
# transaction, with ``cursor`` (the connection it used) and ``cell_size``. Data
# computed against the old cells (commutes: each street edge's cells) is recomputed.
grid_rebuilt = Signal()

# Sent by services.forecasting.execute when a forecast run has succeeded (its rows
# committed), with ``run_id``. What other apps derive from a run's forecast (commutes:
# the reference of random trips each commute is placed among) is queued from here.
forecast_stored = Signal()
