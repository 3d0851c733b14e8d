"""Coupon series routes at the contract's paths (§2)."""

from django.urls import path

from coupons.api.views import CouponSeriesApi, CouponSeriesUpdateApi

urlpatterns = [
    path("v2/coupon/series", CouponSeriesApi.as_view(), name="coupon-series"),
    path(
        "v2/coupon/series/<int:series_id>",
        CouponSeriesUpdateApi.as_view(),
        name="coupon-series-update",
    ),
]
