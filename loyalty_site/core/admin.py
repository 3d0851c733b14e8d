"""Admin for bulk jobs: read-only progress, result and error report. Jobs are started by the
screens that own the work (uploads, bulk issue), never added or edited here."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from loyalty_site.core.jobs import job_retry
from loyalty_site.core.models import Job, JobRowError

INLINE_ROW_ERRORS = 50


class FirstRowErrorsFormSet(BaseInlineFormSet):
    def get_queryset(self) -> QuerySet:
        if not hasattr(self, "_first_rows"):
            self._first_rows = super().get_queryset()[:INLINE_ROW_ERRORS]
        return self._first_rows


class JobRowErrorInline(admin.TabularInline):
    model = JobRowError
    formset = FirstRowErrorsFormSet
    fields = ("row_number", "row_key", "code", "message", "row_data")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name = "row error"
    verbose_name_plural = f"Row errors (first {INLINE_ROW_ERRORS}; download the report for all)"

    def has_view_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return request.user.has_perm("core.view_job")

    def has_add_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "org",
        "status",
        "progress_bar",
        "started_by",
        "created_at",
        "started_at",
        "finished_at",
    )
    list_display_links = ("id", "kind")
    list_filter = ("status", "kind", "org")
    list_select_related = ("org", "started_by")
    search_fields = ("kind", "org__name", "error_message")
    date_hierarchy = "created_at"
    actions = ("retry_failed_jobs",)
    inlines = (JobRowErrorInline,)
    fieldsets = (
        (None, {"fields": ("kind", "org", "status", "progress_bar", "started_by", "attempts")}),
        ("Outcome", {"fields": ("result_summary", "error_message", "error_report")}),
        ("Input", {"fields": ("params_display",)}),
        (
            "Timing",
            {"fields": ("created_at", "started_at", "heartbeat_at", "finished_at", "cursor")},
        ),
    )
    readonly_fields = (
        "kind",
        "org",
        "status",
        "progress_bar",
        "started_by",
        "attempts",
        "result_summary",
        "error_message",
        "error_report",
        "params_display",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "cursor",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return request.user.is_superuser

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or request.user.has_perm("core.change_job")

    @admin.display(description="Progress")
    def progress_bar(self, job: Job) -> str:
        total = job.total or "?"
        if job.total or job.status == Job.Status.FINISHED:
            bar = format_html(
                '<progress max="100" value="{}" title="{}%" style="width:8em">{}%</progress>',
                job.progress_percent,
                job.progress_percent,
                job.progress_percent,
            )
        else:
            # Unknown total: an indeterminate bar while running, empty otherwise.
            value = "" if job.status == Job.Status.RUNNING else ' value="0"'
            bar = format_html('<progress max="100"{} style="width:8em"></progress>', value)
        return format_html(
            "{} <span>{} / {} ({} failed)</span>", bar, job.processed, total, job.failed
        )

    @admin.display(description="Result summary")
    def result_summary(self, job: Job) -> str:
        return _pretty_json(job.result) if job.result else "-"

    @admin.display(description="Parameters")
    def params_display(self, job: Job) -> str:
        return _pretty_json(job.params) if job.params else "-"

    @admin.display(description="Error report")
    def error_report(self, job: Job) -> str:
        count = job.row_errors.count()
        if not count:
            return "No row errors"
        url = reverse("core:job-error-report", kwargs={"job_id": job.pk})
        return format_html('<a href="{}">Download error report ({} rows)</a>', url, count)

    @admin.action(description="Retry selected failed jobs", permissions=["retry"])
    def retry_failed_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        job_ids = list(queryset.filter(status=Job.Status.FAILED).values_list("pk", flat=True))
        retried = sum(job_retry(job_id=job_id) for job_id in job_ids)
        skipped = queryset.count() - retried
        self.message_user(request, f"Queued {retried} job(s) again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Skipped {skipped} job(s) that had not failed.", messages.WARNING
            )


def _pretty_json(value: object) -> str:
    return format_html(
        '<pre style="margin:0">{}</pre>', json.dumps(value, indent=2, sort_keys=True, default=str)
    )
