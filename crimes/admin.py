"""Admin for operators: incidents and areas read-only; imports uploaded and watched.

Only staff reach any of it (admin_view); the extra import views also check the
model's view permission. The import itself runs in a Celery task, never in the request.
"""

from __future__ import annotations

import csv

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html

from core.csv_safe import safe_row
from core.queue import enqueue
from core.request_limits import upload_refused
from crimes.models import Area, ImportRun, Incident
from crimes.services import importing
from crimes.services.importing import reclaim_stale_runs
from crimes.tasks import import_upload


class ReadOnlyAdmin(admin.ModelAdmin):
    """Data that only an import may change."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = (
        "offense_id",
        "report_number",
        "offense_start",
        "reported_at",
        "crime_against",
        "offense",
        "precinct",
        "beat",
        "mcpp",
        "has_location",
        "source",
    )
    list_filter = ("crime_against", "precinct", "source", "group_a_b")
    search_fields = ("=offense_id", "=report_number", "offense", "block_address")
    # Counting 700k rows on every page view is pointless work.
    show_full_result_count = False
    ordering = ("-reported_at",)
    exclude = ("location",)
    readonly_fields = ("x_utm", "y_utm", "local_hour", "local_dow")

    @admin.display(boolean=True, description="location")
    def has_location(self, obj: Incident) -> bool:
        return obj.location is not None


@admin.register(Area)
class AreaAdmin(ReadOnlyAdmin):
    list_display = ("kind", "code", "name")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    # The polygons are big and drawing them needs internet tiles: not shown here.
    exclude = ("geom",)


class ImportUploadForm(forms.ModelForm):
    class Meta:
        model = ImportRun
        fields = ["upload", "dry_run"]
        help_texts = {
            "upload": "SPD portal CSV, 2025 NIBRS CSV or SODA JSON (.gz accepted).",
            "dry_run": "Parse, validate and count only; write no incidents.",
        }

    # The request whose files this form reads (set by ImportRunAdmin.get_form).
    request = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["upload"].required = True

    def clean(self):
        # The upload handler stopped a file at the limit: it never reached the form.
        refused = upload_refused(self.request)
        if refused is not None:
            self.add_error("upload", self.too_large(refused + 1, refused))
        return super().clean()

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        limit = settings.IMPORT_UPLOAD_MAX_BYTES
        if upload is not None and upload.size > limit:
            raise ValidationError(self.too_large(upload.size, limit))
        return upload

    @staticmethod
    def too_large(size: int, limit: int) -> str:
        more = "More than " if size == limit + 1 else ""
        return (
            f"{more}{filesizeformat(size)}: uploads are limited to "
            f"{filesizeformat(limit)} (setting IMPORT_UPLOAD_MAX_BYTES). Import "
            "larger files with `manage.py import_spd` on the server."
        )


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "source",
        "file_name",
        "status",
        "dry_run",
        *ImportRun.COUNT_FIELDS,
    )
    list_filter = ("status", "source", "dry_run")
    search_fields = ("file_name",)
    readonly_fields = (
        "source",
        "file_name",
        "file_format",
        "dry_run",
        "status",
        "progress_display",
        *ImportRun.COUNT_FIELDS,
        "rejected_rows_link",
        "error",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "duration_seconds",
    )

    def changelist_view(self, request, extra_context=None):
        reclaim_stale_runs()  # never show a run "running" whose worker died
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if str(object_id).isascii() and str(object_id).isdigit():
            reclaim_stale_runs([int(object_id)])
        return super().change_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = type(
                "ImportUploadForm", (ImportUploadForm,), {"request": request}
            )
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["upload", "dry_run"]
        return list(self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a run is a record of what happened

    def save_model(self, request, obj: ImportRun, form, change: bool) -> None:
        upload = form.cleaned_data["upload"]
        obj.source = ImportRun.Source.UPLOAD
        obj.file_name = upload.name[:255]
        obj.bytes_total = upload.size
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        # After the commit (the worker must see the row and the file); a 503 and a
        # failed run when the queue is down.
        enqueue(import_upload, obj.pk, importing.RUNS)

    def response_add(self, request, obj, post_url_continue=None):
        # Straight to the run's page, where the progress shows.
        self.message_user(
            request, f"Import #{obj.pk} of {obj.file_name} is queued; progress below."
        )
        return HttpResponseRedirect(
            reverse("admin:crimes_importrun_change", args=[obj.pk])
        )

    @admin.display(description="progress")
    def progress_display(self, obj: ImportRun) -> str:
        return format_html(
            '<progress id="import-progress-bar" max="1" value="{}"></progress> '
            '<span id="import-progress-text">{}%</span>',
            f"{obj.progress:.3f}",
            f"{obj.progress * 100:.0f}",
        )

    @admin.display(description="rejected rows")
    def rejected_rows_link(self, obj: ImportRun) -> str:
        if not obj.rejected:
            return "none"
        url = reverse("admin:crimes_importrun_rejects", args=[obj.pk])
        return format_html(
            '<a href="{}">Download {} rows as CSV</a>', url, obj.rejected
        )

    def get_urls(self):
        extra = [
            path(
                "<int:run_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="crimes_importrun_status",
            ),
            path(
                "<int:run_id>/rejects.csv",
                self.admin_site.admin_view(self.rejects_view),
                name="crimes_importrun_rejects",
            ),
        ]
        return extra + super().get_urls()

    def _run_for(self, request, run_id: int) -> ImportRun:
        run = get_object_or_404(ImportRun, pk=run_id)
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        return run

    def status_view(self, request, run_id: int) -> JsonResponse:
        run = self._run_for(request, run_id)
        if run.status == ImportRun.Status.RUNNING and reclaim_stale_runs([run.pk]):
            run.refresh_from_db()
        data = {
            "id": run.pk,
            "status": run.status,
            "done": run.is_finished,
            "progress": round(run.progress, 4),
            "bytes_done": run.bytes_done,
            "bytes_total": run.bytes_total,
            "error": run.error,
        }
        for field in ImportRun.COUNT_FIELDS:
            data[field] = getattr(run, field)
        return JsonResponse(data, headers={"Cache-Control": "no-store"})

    def rejects_view(self, request, run_id: int) -> StreamingHttpResponse:
        run = self._run_for(request, run_id)

        class Echo:
            def write(self, value: str) -> str:
                return value

        writer = csv.writer(Echo())
        rows = run.rejects.order_by("line_number").values_list(
            "line_number", "reason", "raw"
        )

        def lines():
            yield writer.writerow(["line_number", "reason", "raw"])
            for row in rows.iterator(chunk_size=2000):
                # The raw line is whatever the file held: never a live formula.
                yield writer.writerow(safe_row(row))

        response = StreamingHttpResponse(lines(), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="import-{run.pk}-rejected-rows.csv"'
        )
        return response
