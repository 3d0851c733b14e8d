"""Members API routes: customers, user groups and transactions, at the contract's paths."""

from members.api.customers.urls import urlpatterns as customer_urls
from members.api.groups.urls import urlpatterns as group_urls
from members.api.transactions.urls import urlpatterns as transaction_urls

urlpatterns = [*customer_urls, *group_urls, *transaction_urls]
