"""Which neighbourhood a point is in, by the Neighborhood Map Atlas (crimes.Area)."""

from __future__ import annotations

from django.contrib.gis.geos import Point

from crimes.models import Area


def neighbourhood_at(lon: float, lat: float) -> str | None:
    """The name of the neighbourhood (S_HOOD) holding the point, or None outside them.

    Neighbourhoods never overlap; a point on a shared border gets the first by name.
    """
    return (
        Area.objects.filter(
            kind=Area.Kind.NEIGHBORHOOD, geom__intersects=Point(lon, lat, srid=4326)
        )
        .order_by("name")
        .values_list("name", flat=True)
        .first()
    )
