"""Operators: start training and watch it, compare versions, activate, rerun."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.html import format_html

from core.queue import enqueue
from predictions.models import ForecastRun, ModelVersion, TrainingRun
from predictions.services import forecasting, training
from predictions.services.headline_metrics import METRICS, headline


def _progress(obj) -> str:
    pct = round((obj.progress or 0) * 100)
    return format_html(
        '<progress max="100" value="{}"></progress> {}% {}', pct, pct, obj.message
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "is_active",
        "data_until",
        "device",
        "training_seconds",
        "pai_1_8h",
        "best_baseline",
        "created_at",
    )
    list_filter = ("is_active", "kind", "status")
    readonly_fields = (
        "kind",
        "config",
        "checkpoint",
        "data_until",
        "data_first_event",
        "n_events",
        "metrics",
        "training_seconds",
        "device",
        "is_active",
        "activated_at",
        "created_at",
    )
    actions = ["activate", "compare", "rerun_forecasts"]

    def has_add_permission(self, request):
        return False  # versions come from training runs only

    @admin.display(description="PAI 1% (8h)")
    def pai_1_8h(self, obj):
        value = headline(obj).get("pai_1_8h")
        return f"{value:.2f}" if value is not None else "–"

    @admin.display(description="best baseline (8h)")
    def best_baseline(self, obj):
        h = headline(obj)
        if not h.get("best_baseline_8h"):
            return "–"
        return f"{h['best_baseline_8h']} {h['best_baseline_pai_1_8h']:.2f}"

    @admin.action(description="Activate the selected version (exactly one)")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        version = queryset.get()
        version.activate()
        self.message_user(request, f"Version {version.pk} is now active.")

    @admin.action(description="Compare backtest metrics side by side")
    def compare(self, request, queryset):
        versions = list(queryset.order_by("id"))
        rows = []
        for window in ("8h", "24h", "7d"):
            for metric in METRICS:
                cells = []
                for v in versions:
                    s = (v.metrics or {}).get("backtest", {}).get("summary", {})
                    m = s.get("150m", {}).get(window, {}).get(v.kind, {}).get(metric)
                    cells.append(m["mean"] if m else None)
                rows.append((window, metric, cells))
        return TemplateResponse(
            request,
            "admin/predictions/compare.html",
            {
                **self.admin_site.each_context(request),
                "title": "Compare model versions",
                "versions": versions,
                "rows": rows,
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Rerun forecasts (168 h from the newest run's start)")
    def rerun_forecasts(self, request, queryset):
        from predictions.services.forecast_store import newest_run
        from predictions.tasks import precompute_forecasts

        for version in queryset:
            last = newest_run(version.pk)
            with transaction.atomic():
                run = forecasting.create_run(
                    start=last.start if last else None,
                    hours=last.hours if last else 168,
                    model_version_id=version.pk,
                    user=request.user,
                )
                enqueue(precompute_forecasts, run.pk, forecasting.RUNS)
            self.message_user(
                request, f"Queued forecast run {run.pk} for v{version.pk}."
            )


class _RunAdmin(admin.ModelAdmin):
    list_filter = ("status",)
    date_hierarchy = "created_at"
    ownership = None  # the model's run_ownership.RunOwnership

    def changelist_view(self, request, extra_context=None):
        self.ownership.reclaim_dead()  # never show a run "running" whose worker died
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if str(object_id).isascii() and str(object_id).isdigit():
            self.ownership.reclaim_dead([int(object_id)])
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="progress")
    def progress_bar(self, obj):
        return _progress(obj)

    @admin.display(description="seconds")
    def duration(self, obj):
        d = obj.duration_seconds
        return f"{d:.1f}" if d is not None else "–"


@admin.register(TrainingRun)
class TrainingRunAdmin(_RunAdmin):
    ownership = training.RUNS
    list_display = (
        "id",
        "status",
        "progress_bar",
        "until",
        "device",
        "activate",
        "model_version",
        "started_at",
        "duration",
    )
    fields = ("until", "device", "activate", "kind", "config")
    readonly_fields = (
        "status",
        "progress_bar",
        "error",
        "worker",
        "started_at",
        "finished_at",
        "model_version",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("until", "device", "activate")
        return (*self.fields, *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (*self.fields, *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        if change:
            return  # runs are immutable once created
        from predictions.tasks import train_model

        run = training.create_run(
            until=obj.until, device=obj.device, activate=obj.activate, user=request.user
        )
        obj.pk = run.pk
        enqueue(train_model, run.pk, training.RUNS)
        self.message_user(request, f"Training run {run.pk} queued on the gpu queue.")


@admin.register(ForecastRun)
class ForecastRunAdmin(_RunAdmin):
    ownership = forecasting.RUNS
    list_display = (
        "id",
        "status",
        "progress_bar",
        "model_version",
        "start",
        "hours",
        "rows_written",
        "seconds",
        "finished_at",
    )
    readonly_fields = (
        "status",
        "progress_bar",
        "rows_written",
        "n_cells",
        "seconds",
        "error",
        "worker",
        "started_at",
        "finished_at",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("model_version", "start", "hours")
        return ("model_version", "start", "hours", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("model_version", "start", "hours", *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        if change:
            return
        from predictions.tasks import precompute_forecasts

        run = forecasting.create_run(
            start=obj.start,
            hours=obj.hours,
            model_version_id=obj.model_version_id,
            user=request.user,
        )
        obj.pk = run.pk
        enqueue(precompute_forecasts, run.pk, forecasting.RUNS)
        self.message_user(request, f"Forecast run {run.pk} queued.")
