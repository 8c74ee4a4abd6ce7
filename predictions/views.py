"""Server-rendered forecast pages (thin: data comes from predictions.services)."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from core.models import RunStatus
from crimes.services.summary import data_summary
from predictions.models import Category, ForecastRun, ModelVersion
from predictions.services import forecast_store, payloads
from predictions.services.data_age import forecast_age
from predictions.services.headline_metrics import (
    calibration,
    headline,
    measured_error,
    table,
)

REPORT_DIR = settings.BASE_DIR / "reports" / "backtest"


def _page_state():
    version = forecast_store.active_version()
    run = forecast_store.newest_run(version.pk) if version else None
    start = None
    if version and run:
        start = forecast_store.default_start(version.pk)
    return version, run, start


def _reverse_lookup_url() -> str:
    """The place index's reverse lookup (names a clicked place), where installed."""
    try:
        return reverse("v1:places-reverse")
    except NoReverseMatch:
        return ""


@require_safe
def forecast_page(request):
    version, run, start = _page_state()
    return render(
        request,
        "predictions/forecast.html",
        {
            "version": version,
            "run": run,
            "start": start,
            "forecast_age": forecast_age() if start else None,
            "categories": Category.choices,
            "headline": headline(version) if version else {},
            "summary": data_summary(),
            "config": {
                "forecastUrl": reverse("v1:forecasts"),
                "gridUrl": reverse("v1:forecast-grid"),
                "pointUrl": reverse("v1:forecast-point"),
                "reverseUrl": _reverse_lookup_url(),
                "start": start.isoformat() if start else None,
                "cellSize": settings.GRID_CELL_SIZE,
                "q8": payloads.Q8,
            },
        },
    )


def _plots() -> list[str]:
    if not REPORT_DIR.is_dir():
        return []
    return sorted(p.name for p in REPORT_DIR.glob("*.png"))


@require_safe
def model_card(request):
    version = forecast_store.active_version()
    bt = (version.metrics or {}).get("backtest", {}) if version else {}
    tables = [(w, table(bt, w)) for w in ("8h", "24h", "7d")] if bt else []
    paired = bt.get("paired", {}).get("150m", {}).get("8h", {}) if bt else {}
    found = calibration(version)
    calibration_rows = (
        list(zip(found["mean_pred"], found["mean_obs"], strict=False)) if found else []
    )
    return render(
        request,
        "predictions/model_card.html",
        {
            "version": version,
            "bt": bt,
            "tables": tables,
            "paired": sorted(paired.items()),
            "calibration_rows": calibration_rows,
            "measured_error": measured_error(version) if version else None,
            "headline": headline(version) if version else {},
            "versions": ModelVersion.objects.order_by("-created_at")[:10],
            "last_run": ForecastRun.objects.filter(status=RunStatus.SUCCEEDED)
            .order_by("-finished_at")
            .first(),
            "summary": data_summary(),
            "forecast_age": forecast_age(),
            "plots": _plots(),
        },
    )


@require_safe
@cache_control(public=True, max_age=3600)
def report_plot(request, name: str):
    # Only PNGs that exist in the report folder: no path traversal possible.
    if name not in _plots():
        raise Http404("no such plot")
    return FileResponse(open(REPORT_DIR / name, "rb"), content_type="image/png")
