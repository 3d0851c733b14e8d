"""Ledger read paths (CONTRACT.md §4), exactly as the contract spells them."""

from django.urls import path

from ledger.api.entries.views import LedgerBalanceApi, LedgerInfoApi, LedgerInfoConnectedOrgApi

urlpatterns = [
    path("v2/pointsLedger/getCustomerLedgerInfo", LedgerInfoApi.as_view(), name="ledger-info"),
    path(
        "v2.1/pointsLedger/getCustomerLedgerInfo",
        LedgerInfoConnectedOrgApi.as_view(),
        name="ledger-info-connected",
    ),
    path(
        "v2/pointsLedger/getCustomerLedgerBalance",
        LedgerBalanceApi.as_view(),
        name="ledger-balance",
    ),
]
