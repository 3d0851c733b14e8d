"""Coupon redemption, reversal and revoke routes (contract §1.3, §1.4, §1.8, §2.2, §2.3)."""

from django.urls import path

from coupons.api import redeem_views as views

urlpatterns = [
    path("v1.1/coupon/redeem", views.CouponV11RedeemApi.as_view(), name="coupon-v11-redeem"),
    path(
        "v1.1/coupon/isredeemable",
        views.CouponV11IsRedeemableApi.as_view(),
        name="coupon-v11-isredeemable",
    ),
    path("v2/coupon/redeem", views.CouponV2RedeemApi.as_view(), name="coupon-redeem"),
    path("v2/coupon/bulk/redeem", views.CouponV2BulkRedeemApi.as_view(), name="coupon-bulk-redeem"),
    path(
        "v2/coupon/is_redeemable",
        views.CouponV2IsRedeemableApi.as_view(),
        name="coupon-is-redeemable",
    ),
    path("v2/coupon/reactivate", views.CouponV2ReactivateApi.as_view(), name="coupon-reactivate"),
    path("v2/coupon/revoke", views.CouponV2RevokeApi.as_view(), name="coupon-revoke"),
]
