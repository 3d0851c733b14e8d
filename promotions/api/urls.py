"""Loyalty promotion paths (CONTRACT.md §5.1), cart promotion engine paths (§5.2) and this
implementation's extensions beside them."""

from django.urls import path

from promotions.api.cart_views import (
    CartEvaluateApi,
    CartEvaluationCancelApi,
    CartPendingEvaluationsApi,
    CartPromotionActivateApi,
    CartPromotionCodesApi,
    CartPromotionCollectionApi,
    CartPromotionCollectionSlashApi,
    CartPromotionConfigApi,
    CartPromotionDeactivateApi,
    CartPromotionEarnApi,
    CartPromotionSettingsApi,
    CartPromotionUpdateApi,
    PromoCodeLinkApi,
    PromoCodeLookupApi,
)
from promotions.api.customer_views import (
    CustomerPromotionDataApi,
    CustomerPromotionDataConnectedOrgApi,
    PromotionEventAddApi,
)
from promotions.api.views import (
    ProgramPromotionListApi,
    PromotionAddApi,
    PromotionEnrolApi,
    PromotionGetApi,
    PromotionIssueApi,
    PromotionListApi,
)

LOYALTY = "api_gateway/loyalty/v1/programs"
ENGINE = "api_gateway/v1/promotions"
# The contract lists the evaluation paths without the api_gateway prefix; both are served.
CUSTOMER_EVALUATIONS = "v1/promotions/customer/<str:customer_id>"

urlpatterns = [
    path(
        f"{LOYALTY}/<int:program_id>/promotions/add/<str:promotion_type>",
        PromotionAddApi.as_view(),
        name="promotion-add",
    ),
    path(
        f"{LOYALTY}/<int:program_id>/promotions/<int:promotion_id>/get",
        PromotionGetApi.as_view(),
        name="promotion-get",
    ),
    path(
        f"{LOYALTY}/<int:program_id>/promotions/<int:promotion_id>/issue",
        PromotionIssueApi.as_view(),
        name="promotion-issue",
    ),
    path(
        f"{LOYALTY}/<int:program_id>/promotions/<int:promotion_id>/enrol",
        PromotionEnrolApi.as_view(),
        name="promotion-enrol",
    ),
    path(
        f"{LOYALTY}/<int:program_id>/promotionsV2",
        ProgramPromotionListApi.as_view(),
        name="promotion-program-list",
    ),
    path(f"{LOYALTY}/promotions/list", PromotionListApi.as_view(), name="promotion-list"),
    path(
        "v2/customers/lookup/promotionData",
        CustomerPromotionDataApi.as_view(),
        name="customer-promotion-data",
    ),
    path(
        "v2.1/customers/lookup/promotionData",
        CustomerPromotionDataConnectedOrgApi.as_view(),
        name="customer-promotion-data-connected",
    ),
    path("v2/events", PromotionEventAddApi.as_view(), name="promotion-event-add"),
    # Cart promotions (promotion engine). Fixed segments come before {promotionId}.
    path(ENGINE, CartPromotionCollectionApi.as_view(), name="cart-promotions"),
    path(f"{ENGINE}/", CartPromotionCollectionSlashApi.as_view(), name="cart-promotions-slash"),
    path(f"{ENGINE}/config", CartPromotionConfigApi.as_view(), name="cart-promotion-config"),
    path(f"{ENGINE}/evaluate", CartEvaluateApi.as_view(), name="cart-evaluate"),
    path(f"{ENGINE}/code/link", PromoCodeLinkApi.as_view(), name="cart-code-link"),
    path(f"{ENGINE}/code", PromoCodeLookupApi.as_view(), name="cart-code-lookup"),
    path(
        f"{CUSTOMER_EVALUATIONS}/evaluation/<str:evaluation_id>/cancel",
        CartEvaluationCancelApi.as_view(),
        name="cart-evaluation-cancel",
    ),
    path(
        f"api_gateway/{CUSTOMER_EVALUATIONS}/evaluation/<str:evaluation_id>/cancel",
        CartEvaluationCancelApi.as_view(),
        name="cart-evaluation-cancel-gateway",
    ),
    path(
        f"{CUSTOMER_EVALUATIONS}/evaluations/pending_carts",
        CartPendingEvaluationsApi.as_view(),
        name="cart-evaluations-pending",
    ),
    path(
        f"api_gateway/{CUSTOMER_EVALUATIONS}/evaluations/pending_carts",
        CartPendingEvaluationsApi.as_view(),
        name="cart-evaluations-pending-gateway",
    ),
    path(
        "v1/management/promotions/settings/strategy",
        CartPromotionSettingsApi.as_view(),
        name="cart-promotion-settings",
    ),
    path(
        "api_gateway/v1/management/promotions/settings/strategy",
        CartPromotionSettingsApi.as_view(),
        name="cart-promotion-settings-gateway",
    ),
    path(
        f"{ENGINE}/<str:promotion_id>/activate",
        CartPromotionActivateApi.as_view(),
        name="cart-promotion-activate",
    ),
    path(
        f"{ENGINE}/<str:promotion_id>/deactivate",
        CartPromotionDeactivateApi.as_view(),
        name="cart-promotion-deactivate",
    ),
    path(f"{ENGINE}/<str:promotion_id>/earn", CartPromotionEarnApi.as_view(), name="cart-earn"),
    path(f"{ENGINE}/<str:promotion_id>/codes", CartPromotionCodesApi.as_view(), name="cart-codes"),
    path(f"{ENGINE}/<str:promotion_id>", CartPromotionUpdateApi.as_view(), name="cart-update"),
]
