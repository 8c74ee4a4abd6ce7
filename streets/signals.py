"""What the street network tells the apps that build on it."""

from django.dispatch import Signal

# Sent by load_network inside its transaction, after the edges are written and
# before the load is recorded; kwargs ``cursor``, ``edges`` (osm.extract.EdgeRow,
# clipped to the city), ``nodes`` (id -> (lon, lat)) and ``say`` (progress). A
# receiver returns a dict of what it did: merged into the load's counts, and its
# ``cells_computed`` and ``grid_signature`` recorded on the StreetNetworkLoad row.
network_loaded = Signal()
