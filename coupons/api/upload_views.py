"""Coupon upload v1 APIs (CONTRACT.md §3): upload a CSV for an offer, read its uploads' job
status, and download a job's error report ("Download issues"; the status' `errorFileUrl`).

The upload is a multipart form; the file is stored under MEDIA_ROOT/uploads/ and processed by a
job (coupons.services.uploads), so the answer is the job's first status (STARTED, counts 0).
Answers use the upload family's `{"success", "status", "result"}`; errors the v2 envelope.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from coupons.api import upload_serializers as s
from coupons.models import CouponUpload
from coupons.selectors import coupon_series_get, coupon_upload_get_by_job, coupon_uploads_list
from coupons.services.uploads import coupon_upload_start
from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.views import BaseApi
from loyalty_site.core.jobs import job_error_report_csv

TAGS = ["coupon upload v1"]


def _status(request: Request, upload: CouponUpload) -> dict:
    url = request.build_absolute_uri(
        reverse("coupon-upload-error-file", kwargs={"job_id": upload.job_id})
    )
    return s.coupon_upload_status_representation(upload, error_file_url=url)


def _envelope(result: dict) -> dict:
    return {"success": True, "status": 200, "result": result}


class CouponUploadFileApi(BaseApi):
    """`POST /coupon/api/v1/upload/file/{couponSeriesId}`."""

    envelope = Envelope.V2
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=TAGS,
        summary="Upload coupon codes, codes with customers, or customers to issue to",
        description=(
            "multipart/form-data. An offer with uploaded codes (DISC_CODE_PIN) takes codes "
            "only (`customerIdentifier` NOT_TAGGED, one column) or codes with customers "
            "(`customer_identifier,coupon code`); any other offer takes a customer list and "
            "issues one coupon per row under its rules. Rows are checked one by one; failures "
            "are in the error report (`errorFileUrl`). 400 for a bad form or file, 799 when the "
            "offer does not take that upload, 707 for an offer outside the caller's org."
        ),
        request={"multipart/form-data": s.CouponUploadInputSerializer},
        responses={200: s.CouponUploadOutputSerializer},
    )
    def post(self, request: Request, series_id: int) -> Response:
        series = coupon_series_get(org_ids=[self.scope.write_org_id], series_id=series_id)
        serializer = s.CouponUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = coupon_upload_start(
            series=series,
            file=data["file"],
            file_name=data["file"].name,
            customer_identifier=data["customerIdentifier"],
            identifier_column=data["customerIdentifierColumn"],
            code_column=data.get("couponCodeColumn"),
            actor=self.principal.till,
        )
        upload = coupon_upload_get_by_job(org_ids=[series.org_id], job_id=upload.job_id)
        result = {
            "orgId": series.org_id,
            "couponSeriesId": series.pk,
            "uploadJobStatuses": [_status(request, upload)],
            "fileName": upload.stored_name,
        }
        return Response(_envelope(result))


class CouponUploadStatusApi(BaseApi):
    """`GET /coupon/api/v1/upload/getUploadStatus/{couponSeriesId}`."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS,
        summary="Status of an offer's uploads",
        description="The offer's upload jobs, newest first (the last 100).",
        responses={200: s.CouponUploadOutputSerializer},
    )
    def get(self, request: Request, series_id: int) -> Response:
        uploads = coupon_uploads_list(org_ids=self.scope.org_ids, series_id=series_id)
        series = coupon_series_get(org_ids=self.scope.org_ids, series_id=series_id)
        result = {
            "orgId": series.org_id,
            "couponSeriesId": series.pk,
            "uploadJobStatuses": [_status(request, upload) for upload in uploads],
        }
        return Response(_envelope(result))


class CouponUploadErrorFileApi(BaseApi):
    """`GET /coupon/api/v1/upload/errorFile/{jobId}` (extension): the error report as CSV."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS,
        summary="Download an upload's error report (CSV)",
        description=(
            "Columns row_number, row_key, code, message, customer_identifier, coupon_code: one "
            "line per failed row, with the row number in the uploaded file."
        ),
        responses={
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="CSV")
        },
    )
    def get(self, request: Request, job_id: int) -> HttpResponse:
        upload = coupon_upload_get_by_job(org_ids=self.scope.org_ids, job_id=job_id)
        response = HttpResponse(
            job_error_report_csv(upload.job), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="error_{upload.job_id}.csv"'
        return response
