"""Transaction routes at the contract's paths (§11.3, §11.4)."""

from django.urls import path

from members.api.transactions.views import (
    TransactionAddApi,
    TransactionBulkAddApi,
    TransactionGetApi,
    TransactionV11AddApi,
    TransactionV11GetApi,
)

urlpatterns = [
    path("v2/transactions", TransactionAddApi.as_view(), name="transaction-add"),
    path("v2/transactions/bulk", TransactionBulkAddApi.as_view(), name="transaction-bulk-add"),
    path(
        "v2/transactions/<int:transaction_id>", TransactionGetApi.as_view(), name="transaction-get"
    ),
    path("v1.1/transaction/add", TransactionV11AddApi.as_view(), name="transaction-v11-add"),
    path("v1.1/transaction/get", TransactionV11GetApi.as_view(), name="transaction-v11-get"),
]
