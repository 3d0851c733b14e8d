"""Coupon read routes (contract §1.5, §1.6, §2.4, series details)."""

from django.urls import path

from coupons.api.read_views import (
    CouponSeriesV11Api,
    CouponV2GetApi,
    CouponV11GetApi,
    CustomerCouponsDetailedV2Api,
    CustomerCouponsV2Api,
    CustomerCouponsV11Api,
)

urlpatterns = [
    path("v1.1/coupon/get", CouponV11GetApi.as_view(), name="coupon-v11-get"),
    path("v1.1/coupon/series", CouponSeriesV11Api.as_view(), name="coupon-v11-series"),
    path("v1.1/customer/coupons", CustomerCouponsV11Api.as_view(), name="customer-v11-coupons"),
    path("v2/coupon", CouponV2GetApi.as_view(), name="coupon-get"),
    # Not shadowed by members' `v2/customers/<int:customer_id>`: "coupons" is no int and the
    # detailed path has one more segment.
    path("v2/customers/coupons", CustomerCouponsV2Api.as_view(), name="customer-coupons"),
    path(
        "v2/customers/<int:customer_id>/coupons",
        CustomerCouponsDetailedV2Api.as_view(),
        name="customer-coupons-detailed",
    ),
]
