"""The credits page: where the site's data comes from, and under which licence."""

from __future__ import annotations

from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_safe

from places.models import Place


@require_safe
def credits(request):
    """Every source of the data the site shows, with its licence; the named places
    grouped by the source and licence each feature carries."""
    named = (
        Place.objects.filter(source=Place.Source.NAMED)
        .values("origin", "licence")
        .annotate(places=Count("id"))
        .order_by("-places", "origin")
    )
    return render(request, "places/credits.html", {"named": list(named)})
