"""Signals other apps may listen to (they import predictions; it never imports them)."""

from django.dispatch import Signal

# Sent by services.cells.build_cells after the grid was rebuilt, inside its
# transaction, with ``cursor`` (the connection it used) and ``cell_size``. Data
# computed against the old cells (commutes: each street edge's cells) is recomputed.
grid_rebuilt = Signal()
