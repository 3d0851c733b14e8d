"""Coupon routes at the contract's paths: series (§2), issue and resend (§1.1, §1.2, §2.2) and
the upload v1 API (§3)."""

from django.urls import include, path

from coupons.api.issue_views import (
    CouponV2BulkIssueApi,
    CouponV2IssueApi,
    CouponV2IssueMultipleApi,
    CouponV11IssueApi,
    CouponV11ResendApi,
)
from coupons.api.upload_views import (
    CouponUploadErrorFileApi,
    CouponUploadFileApi,
    CouponUploadStatusApi,
)
from coupons.api.views import CouponSeriesApi, CouponSeriesUpdateApi

urlpatterns = [
    path("v2/coupon/series", CouponSeriesApi.as_view(), name="coupon-series"),
    path(
        "v2/coupon/series/<int:series_id>",
        CouponSeriesUpdateApi.as_view(),
        name="coupon-series-update",
    ),
    path("v1.1/coupon/issue", CouponV11IssueApi.as_view(), name="coupon-v11-issue"),
    path("v1.1/coupon/resend", CouponV11ResendApi.as_view(), name="coupon-v11-resend"),
    path("v2/coupon/issue", CouponV2IssueApi.as_view(), name="coupon-issue"),
    path(
        "v2/coupon/issue/multiple",
        CouponV2IssueMultipleApi.as_view(),
        name="coupon-issue-multiple",
    ),
    path("v2/coupon/bulk/issue", CouponV2BulkIssueApi.as_view(), name="coupon-bulk-issue"),
    path(
        "coupon/api/v1/upload/file/<int:series_id>",
        CouponUploadFileApi.as_view(),
        name="coupon-upload-file",
    ),
    path(
        "coupon/api/v1/upload/getUploadStatus/<int:series_id>",
        CouponUploadStatusApi.as_view(),
        name="coupon-upload-status",
    ),
    path(
        "coupon/api/v1/upload/errorFile/<int:job_id>",
        CouponUploadErrorFileApi.as_view(),
        name="coupon-upload-error-file",
    ),
    path("", include("coupons.api.read_urls")),
    path("", include("coupons.api.redeem_urls")),
]
