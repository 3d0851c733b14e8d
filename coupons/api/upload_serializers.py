"""Coupon upload v1 payloads (CONTRACT.md §3): the multipart form and the job status object."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from coupons.models import CouponUpload
from coupons.services.uploads import MAX_COLUMN
from loyalty_site.core.models import Job

# Job runner status -> the contract's uploadStatus ("STARTED ... FINISHED").
UPLOAD_STATUSES = {
    Job.Status.QUEUED: "STARTED",
    Job.Status.RUNNING: "PROCESSING",
    Job.Status.FINISHED: "FINISHED",
    Job.Status.FAILED: "FAILED",
}


class CouponUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, UTF-8; an optional header row is skipped.")
    customerIdentifier = serializers.ChoiceField(
        choices=CouponUpload.CustomerIdentifier.values,
        help_text="NOT_TAGGED: codes only (offers with uploaded codes).",
    )
    customerIdentifierColumn = serializers.IntegerField(
        min_value=0, max_value=MAX_COLUMN, default=0, help_text="0-based."
    )
    couponCodeColumn = serializers.IntegerField(
        min_value=0,
        max_value=MAX_COLUMN,
        required=False,
        help_text="Extension, 0-based: default the column that is not the identifier's.",
    )


class CouponUploadJobStatusOutputSerializer(serializers.Serializer):
    jobId = serializers.IntegerField()
    uploadStatus = serializers.ChoiceField(choices=sorted(set(UPLOAD_STATUSES.values())))
    createdOn = serializers.CharField(help_text="Epoch milliseconds, as a string.")
    updatedOn = serializers.CharField(help_text="Epoch milliseconds, as a string.")
    errorFileUrl = serializers.CharField(
        allow_null=True, help_text="Download URL of the error report; null until a row fails."
    )
    successFileUrl = serializers.CharField(allow_null=True)
    uploadedFileUrl = serializers.CharField(help_text="The stored file's name.")
    totalUploadedCount = serializers.IntegerField(help_text="Data rows in the file.")
    actualRowCount = serializers.IntegerField(help_text="Rows processed so far.")
    errorCount = serializers.IntegerField(help_text="Rows that failed.")
    uploadTableName = serializers.CharField(allow_null=True)
    uploadedFileName = serializers.CharField()
    audienceGroupId = serializers.IntegerField(
        help_text="The audience the uploaded customers joined, or 0."
    )
    audienceGroupVersionId = serializers.IntegerField()


class CouponUploadResultOutputSerializer(serializers.Serializer):
    orgId = serializers.IntegerField()
    couponSeriesId = serializers.IntegerField()
    uploadJobStatuses = CouponUploadJobStatusOutputSerializer(many=True)
    fileName = serializers.CharField(required=False, help_text="Upload answer only.")


class CouponUploadOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    status = serializers.IntegerField()
    result = CouponUploadResultOutputSerializer()


def _epoch_ms_text(value) -> str:
    return str(int(value.timestamp() * 1000)) if value is not None else ""


def coupon_upload_status_representation(
    upload: CouponUpload, *, error_file_url: str | None
) -> dict[str, Any]:
    job = upload.job
    return {
        "jobId": job.pk,
        "uploadStatus": UPLOAD_STATUSES.get(job.status, job.status),
        "createdOn": _epoch_ms_text(job.created_at),
        "updatedOn": _epoch_ms_text(job.updated_at),
        "errorFileUrl": error_file_url if job.failed else None,
        "successFileUrl": None,
        "uploadedFileUrl": upload.stored_name,
        "totalUploadedCount": job.total,
        "actualRowCount": job.processed,
        "errorCount": job.failed,
        "uploadTableName": None,
        "uploadedFileName": upload.file_name,
        "audienceGroupId": upload.audience_id or 0,
        "audienceGroupVersionId": 0,
    }
