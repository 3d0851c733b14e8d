"""Platform models shared by every domain: the abstract BaseModel and the bulk-work Job."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BaseModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Job(BaseModel):
    """One unit of bulk work (upload, bulk issue, revoke, backfill) and its progress."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        FINISHED = "FINISHED", "Finished"
        FAILED = "FAILED", "Failed"

    kind = models.CharField(max_length=64, db_index=True)
    org = models.ForeignKey(
        "members.Org", on_delete=models.CASCADE, related_name="jobs", null=True, blank=True
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # Keyset cursor: the last source id whose batch committed; a resumed job starts after it.
    cursor = models.CharField(max_length=255, blank=True, default="")
    result = models.JSONField(default=dict, blank=True)
    error_message = models.TextField(blank=True, default="")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="core_job_status_heartbeat")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(processed__gte=models.F("failed")),
                name="core_job_failed_within_processed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.FINISHED:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.processed * 100 / self.total))


class JobRowError(models.Model):
    """One failed input row of a job; the downloadable error report is built from these."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField(null=True, blank=True)
    row_key = models.CharField(max_length=255, blank=True, default="")
    code = models.CharField(max_length=32, blank=True, default="")
    message = models.TextField()
    row_data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["job", "id"]
        indexes = [models.Index(fields=["job", "row_number"], name="core_jobrowerror_job_row")]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.code} {self.message}"


class ThrottleCounter(models.Model):
    """A fixed-window counter (failed coupon validations per till, per customer...) for when
    there is no Redis: `key` names the subject and the window, an upsert counts atomically."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
