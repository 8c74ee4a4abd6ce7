"""Operators see how many subscribe and how sending goes, not who subscribed: the
list pages show counts and states; an address is shown only on a single
subscription's page (to answer a person who writes in)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q

from alerts.models import SentNote, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "mode",
        "cadence",
        "window",
        "day_count",
        "notes_sent",
        "notes_failed",
        "created_at",
    )
    list_filter = ("status", "cadence", "mode")
    readonly_fields = [f.name for f in Subscription._meta.fields]
    ordering = ("-created_at",)
    change_list_template = "admin/alerts/subscription/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _sent=Count("notes", filter=Q(notes__status=SentNote.Status.SENT)),
                _failed=Count("notes", filter=Q(notes__status=SentNote.Status.FAILED)),
            )
        )

    @admin.display(description="window")
    def window(self, obj: Subscription) -> str:
        return f"{obj.window_start:%H:%M}–{obj.window_end:%H:%M}"

    @admin.display(description="days")
    def day_count(self, obj: Subscription) -> int:
        return len(obj.days)

    @admin.display(description="sent", ordering="_sent")
    def notes_sent(self, obj) -> int:
        return obj._sent

    @admin.display(description="failed", ordering="_failed")
    def notes_failed(self, obj) -> int:
        return obj._failed

    def changelist_view(self, request, extra_context=None):
        counts = Subscription.objects.aggregate(
            total=Count("id"),
            active=Count("id", filter=Q(status=Subscription.Status.ACTIVE)),
            pending=Count("id", filter=Q(status=Subscription.Status.PENDING)),
            weekly=Count("id", filter=Q(cadence=Subscription.Cadence.WEEKLY)),
        )
        return super().changelist_view(
            request, {**(extra_context or {}), "counts": counts}
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SentNote)
class SentNoteAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "subscription_id",
        "kind",
        "day",
        "status",
        "attempts",
        "send_at",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "kind", "day")
    readonly_fields = [f.name for f in SentNote._meta.fields]
    exclude = ("text", "html")
    ordering = ("-send_at",)

    @admin.display(description="last error")
    def short_error(self, obj: SentNote) -> str:
        return obj.last_error[:80]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
