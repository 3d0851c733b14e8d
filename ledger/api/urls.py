"""Ledger API routes: ledger reads (entries, closing balance) and points operations."""

from ledger.api.entries.urls import urlpatterns as entry_urls
from ledger.api.points.urls import urlpatterns as points_urls

urlpatterns = [*entry_urls, *points_urls]
