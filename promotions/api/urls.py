"""Loyalty promotion paths (CONTRACT.md §5.1) and this implementation's extensions beside them."""

from django.urls import path

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
]
