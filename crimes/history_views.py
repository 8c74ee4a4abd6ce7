"""The history pages: server-rendered shells whose data comes from /api/v1/.

The page parses its URL with the same filter parser as the API, so the form is
pre-filled from a shared link and the browser asks the API for exactly that selection.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_safe

from crimes import names
from crimes.models import Area, CrimeAgainst
from crimes.services import area_summary, history_queries
from crimes.services.filters import DAY_NAMES, FilterError, parse_filters

VIEW_MODES = (("heat", "Heat grid"), ("beat", "SPD beats"), ("mcpp", "MCPP areas"))
# How a map of areas is coloured: per km² by default, so big areas do not look the
# most dangerous for their size alone.
MEASURES = (("density", "Reports per km² per year"), ("count", "Reports (raw counts)"))
PAGE_ONLY = ("view", "measure")


def _reverse_lookup_url() -> str:
    """The place index's reverse lookup (names a clicked square), where installed."""
    try:
        return reverse("v1:places-reverse")
    except NoReverseMatch:
        return ""


def _context(request, fixed: dict[str, str] | None = None) -> tuple[dict, int]:
    state = history_queries.history_state()
    query = request.GET.copy()
    for key, value in (fixed or {}).items():
        query.setlist(key, [value])
    error = None
    try:
        filters = parse_filters(query, state.vocabulary, strict=False)
    except FilterError as exc:
        # Show the page with the default selection and say what was wrong.
        error = exc.as_dict()["detail"]
        filters = parse_filters({}, state.vocabulary, strict=False)
    view = request.GET.get("view", "heat")
    if view not in dict(VIEW_MODES):
        view = "heat"
    measure = request.GET.get("measure", "density")
    if measure not in dict(MEASURES):
        measure = "density"
    meta = history_queries.meta()
    # The group filter selects a group in every category: one option per group.
    group_options: dict[str, tuple[str, str]] = {}
    for g in meta["groups"]:
        label = state.group_filter_labels.get(g["value"], g["label"])
        group_options.setdefault(g["value"], (label, g["category"]))
    config = {
        "api": {
            name: reverse(f"v1:{name}")
            for name in (
                "history-grid",
                "history-timeseries",
                "history-profile",
                "history-groups",
                "areas",
                "incidents",
                "export-csv",
                "export-geojson",
            )
        },
        "boundaries": {
            kind: reverse("crimes:boundary", args=[kind]) for kind in ("beat", "mcpp")
        },
        "areaPage": reverse("crimes:history-area", args=["KIND", "CODE"]),
        "reverseUrl": _reverse_lookup_url(),
        "cellSizes": list(settings.HISTORY_CELL_SIZES),
        "exportMaxRows": settings.HISTORY_EXPORT_MAX_ROWS,
        # Every record loaded, so a selection's count can say what it leaves out.
        "loadedTotal": meta["total"],
        "defaultStart": meta["default_start"].isoformat(),
        "defaultEnd": meta["default_end"].isoformat(),
        "fixed": fixed or {},
        "pageParams": list(PAGE_ONLY),
    }
    context = {
        "filters": filters,
        "error": error,
        "meta": meta,
        "view": view,
        "view_modes": VIEW_MODES,
        "measure": measure,
        "measures": MEASURES,
        "total_words": f"{meta['total']:,}",
        "group_options": [(v, label, c) for v, (label, c) in group_options.items()],
        "categories": [
            (c.lower(), label)
            for c, label in CrimeAgainst.choices
            if c in (CrimeAgainst.PERSON, CrimeAgainst.PROPERTY, CrimeAgainst.SOCIETY)
        ],
        "selected_categories": {c.lower() for c in filters.categories},
        "days": [(d, d.title()) for d in DAY_NAMES],
        "selected_days": {DAY_NAMES[d] for d in filters.dows},
        "hours": range(24),
        "history_config": config,
    }
    return context, 400 if error else 200


@require_safe
def history_page(request):
    context, status = _context(request)
    return render(request, "crimes/history.html", context, status=status)


@require_safe
def area_page(request, kind: str, code: str):
    if kind not in history_queries.AREA_KINDS:
        raise Http404(f"No area pages for {kind!r}")
    area = get_object_or_404(Area, kind=kind, code=code)
    context, status = _context(request, fixed={kind: area.code})
    context["area"] = area
    context["area_geojson"] = area.geom.json
    context["area_sentence"] = area_summary.area_sentence(area, context["filters"])
    context["precinct_label"] = names.precinct_label(area.precinct)
    if area.outside:
        context["outside_title"] = names.outside_title(kind)
        context["outside_note"] = names.outside_note(kind)
    return render(request, "crimes/history.html", context, status=status)
