"""Customer API paths, exactly as the contract spells them (§11.1, §11.2)."""

from django.urls import path

from members.api.customers.views import (
    CustomerDetailApi,
    CustomerLookupApi,
    CustomerLookupDetailsApi,
    CustomerRegisterApi,
    CustomerV11AddApi,
    CustomerV11GetApi,
    CustomerV11UpdateApi,
)

urlpatterns = [
    path("v2/customers", CustomerRegisterApi.as_view(), name="customer-register"),
    path("v2/customers/lookup", CustomerLookupApi.as_view(), name="customer-lookup"),
    path(
        "v2/customers/lookup/customerDetails",
        CustomerLookupDetailsApi.as_view(),
        name="customer-lookup-details",
    ),
    path("v2/customers/<int:customer_id>", CustomerDetailApi.as_view(), name="customer-detail"),
    path("v1.1/customer/add", CustomerV11AddApi.as_view(), name="customer-v11-add"),
    path("v1.1/customer/get", CustomerV11GetApi.as_view(), name="customer-v11-get"),
    path("v1.1/customer/update", CustomerV11UpdateApi.as_view(), name="customer-v11-update"),
]
