"""Points operation API paths, exactly as the contract spells them (§11.6-§11.9)."""

from django.urls import path

from ledger.api.points import views

urlpatterns = [
    path(
        "v1.1/points/isredeemable",
        views.PointsIsRedeemableApi.as_view(),
        name="points-v11-isredeemable",
    ),
    path(
        "v1.1/points/validationcode",
        views.PointsValidationCodeApi.as_view(),
        name="points-v11-validationcode",
    ),
    path("v1.1/points/redeem", views.PointsRedeemV11Api.as_view(), name="points-v11-redeem"),
    path(
        "v2/customers/<int:customer_id>/redemptions",
        views.PointsRedeemV2Api.as_view(),
        name="points-v2-redeem",
    ),
    path(
        "v2/points/updateRedemption",
        views.PointsRedemptionUpdateApi.as_view(),
        name="points-v2-update-redemption",
    ),
    path("v2/points/reverse", views.PointsReverseApi.as_view(), name="points-v2-reverse"),
    path(
        "v2/points/isTransferrable",
        views.PointsIsTransferrableApi.as_view(),
        name="points-v2-is-transferrable",
    ),
    path("v2/points/transfer", views.PointsTransferApi.as_view(), name="points-v2-transfer"),
    path(
        "v2/points/userGroup2/isTransferrable",
        views.UserGroupPointsIsTransferrableApi.as_view(),
        name="points-v2-group-is-transferrable",
    ),
    path(
        "v2/points/userGroup2/transfer",
        views.UserGroupPointsTransferApi.as_view(),
        name="points-v2-group-transfer",
    ),
    path(
        "v2/customers/<int:customer_id>/pointsTransfers",
        views.CustomerPointsTransfersApi.as_view(),
        name="points-v2-customer-transfers",
    ),
    path("v1.1/request/add", views.PointsRequestAddApi.as_view(), name="requests-v11-add"),
    path(
        "v1.1/request/approve",
        views.PointsRequestApproveApi.as_view(),
        name="requests-v11-approve",
    ),
    path("v1.1/request/reject", views.PointsRequestRejectApi.as_view(), name="requests-v11-reject"),
    path(
        "v2/customers/<int:customer_id>/goodwillRequest",
        views.CustomerGoodwillRequestsApi.as_view(),
        name="customers-v2-goodwill-requests",
    ),
    path(
        "v2/customers/lookup/negativePointsAdjustment",
        views.PointsNegativeAdjustmentApi.as_view(),
        name="points-v2-negative-adjustment",
    ),
]
