"""Points ledger reads (CONTRACT.md §4), v2 envelope: the ledger entries (v2 and the connected-org
v2.1) and the closing balance of a ledger view.

Each view parses the query (serializers), finds the owner inside the caller's DATA-SCOPE (another
org's customer is 8015), reads one page through ledger.selectors (balances come from stored
closing balances, never from summing entries) and answers the contract's shape.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from ledger.api.entries.lookups import (
    group_member_roles,
    ledger_owner_get,
    ledger_till_filter_get,
)
from ledger.api.entries.serializers import (
    LedgerBalanceInputSerializer,
    LedgerBalanceOutputSerializer,
    LedgerInfoInputSerializer,
    LedgerInfoOutputSerializer,
    LedgerQuery,
    closing_balances_representation,
    ledger_info_representation,
    owner_details,
    page_details,
)
from ledger.exceptions import LedgerNoEntriesError
from ledger.selectors import ledger_closing_balances, ledger_events_count, ledger_events_list
from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.scoping import SCOPE_HEADER, DataScopeError
from loyalty_site.api.views import BaseApi
from members.models import Customer, UserGroup

TAGS = ["points ledger"]
SCOPE_PARAMETERS = [
    OpenApiParameter(
        "DATA-SCOPE",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        enum=["SELF", "OTHER", "ALL"],
        description="Connected orgs (§7): SELF (default), OTHER or ALL. With OTHER or ALL each "
        "entry carries its orgId.",
    ),
    OpenApiParameter(
        "DATA-SCOPE-ORG",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="Child org id(s), comma separated, for DATA-SCOPE OTHER or ALL.",
    ),
]
INFO_DESCRIPTION = (
    "The owner's ledger events, one per entry of `ledgerEntries`, newest first unless "
    "sort=ASC. `offset` is a 0-based page number; `limit` defaults to 10 (max 100, else 11029). "
    "An empty page, or an offset past the last page, is 404 with 11003. Dates are "
    "YYYY-MM-DDThh:mm:ss in the org's time zone (11011); start after end is 11009; more than 90 "
    "days apart is 11010; one date alone opens a 90-day window (a year with "
    "includeLastOneYearData=true); neither means the full history; isFilterBasedOnDate=false "
    "ignores them. tillId, tillIds, storeId and storeCode exclude each other (11028). A group's "
    "ledger: type=USERGROUP2 or FLEET with identifierName groupId, externalId or primaryUserId "
    "(an unknown group is 404 with 1632); its entries carry customerId = minus the group id and "
    "customerDetails = the member who triggered the event. Customer errors: 11013 missing "
    "identifier or source, 8013 invalid identifier, 8003 invalid source, 8015 not found (also "
    "another org's customer), 8065 not registered on that source."
)


def _owner_kwargs(owner: Customer | UserGroup) -> dict[str, Any]:
    return {"customer": owner} if isinstance(owner, Customer) else {"user_group": owner}


class LedgerInfoApi(BaseApi):
    """`GET /v2/pointsLedger/getCustomerLedgerInfo`."""

    envelope = Envelope.V2
    # v2.1 (connected orgs) needs the DATA-SCOPE header and answers the view's closing balances.
    is_connected_org_api = False

    @extend_schema(
        tags=TAGS,
        summary="Points ledger entries of a customer or user group",
        description=INFO_DESCRIPTION,
        parameters=[LedgerInfoInputSerializer, *SCOPE_PARAMETERS],
        responses={200: LedgerInfoOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        if self.is_connected_org_api and not request.META.get(SCOPE_HEADER):
            raise DataScopeError("The v2.1 ledger read needs the DATA-SCOPE header")
        query: LedgerQuery = LedgerInfoInputSerializer.query_from(request.query_params)
        owner = ledger_owner_get(org_ids=self.scope.org_ids, query=query.owner)
        tills = ledger_till_filter_get(org_id=owner.org_id, query=query.tills)
        filters = query.selector_kwargs(tz=owner.org.tzinfo, tills=tills)
        page = ledger_events_list(
            **_owner_kwargs(owner),
            **filters,
            event_names=query.event_names,
            exclude_event_names=query.exclude_event_names,
            sort=query.sort,
            page_number=query.page_number,
            page_size=query.page_size,
            max_page_size=query.max_page_size,
        )
        if query.alternate_currencies_only or not page.items:
            raise LedgerNoEntriesError(
                f"No ledger entries on page {query.page_number} ({page.total} in the view)"
            )
        roles: dict[int, str] = {}
        if isinstance(owner, UserGroup):
            roles = group_member_roles(
                group=owner,
                customer_ids={e.triggered_by_id for e in page.items if e.triggered_by_id},
            )
        closing_balances = None
        if self.is_connected_org_api:
            closing_balances = ledger_closing_balances(
                **_owner_kwargs(owner),
                program_id=query.program_id,
                categories=query.categories,
                entry_types=query.entry_types,
                till_ids=tills.till_ids,
                store_ids=tills.store_ids,
                end=filters["end"],
            )
        data = ledger_info_representation(
            owner=owner,
            entity_type=query.owner.entity_type,
            page=page,
            include_org=self.scope.is_connected,
            roles=roles,
            closing_balances=closing_balances,
        )
        return Response(data)


class LedgerInfoConnectedOrgApi(LedgerInfoApi):
    """`GET /v2.1/pointsLedger/getCustomerLedgerInfo` (connected orgs)."""

    is_connected_org_api = True

    @extend_schema(
        tags=TAGS,
        summary="Points ledger entries across connected orgs (v2.1)",
        description=(
            "As the v2 read, for the orgs of the DATA-SCOPE header, which is required here "
            "(1064 without it). Entries carry orgId when the scope is not SELF; ledgerDetails "
            "adds ledgerClosingBalance, the closing balances of the same view. " + INFO_DESCRIPTION
        ),
        parameters=[LedgerInfoInputSerializer, *SCOPE_PARAMETERS],
        responses={200: LedgerInfoOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class LedgerBalanceApi(BaseApi):
    """`GET /v2/pointsLedger/getCustomerLedgerBalance`."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS,
        summary="Closing balance of a ledger view",
        description=(
            "The closing balance per program and points category of the ledger view the "
            "filters describe, as of its last entry (endDate: as of that time, org time zone). "
            "With no filter: the current balance of every account. Accounts with no entry in "
            "the view are left out. The paging fields count the view's events; limit is at most "
            "10 (else 11006). Owner and filter errors are those of getCustomerLedgerInfo."
        ),
        parameters=[LedgerBalanceInputSerializer, *SCOPE_PARAMETERS],
        responses={200: LedgerBalanceOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        query: LedgerQuery = LedgerBalanceInputSerializer.query_from(request.query_params)
        owner = ledger_owner_get(org_ids=self.scope.org_ids, query=query.owner)
        tills = ledger_till_filter_get(org_id=owner.org_id, query=query.tills)
        filters = query.selector_kwargs(tz=owner.org.tzinfo, tills=tills)
        total = ledger_events_count(
            **_owner_kwargs(owner),
            **filters,
            page_number=query.page_number,
            page_size=query.page_size,
            max_page_size=query.max_page_size,
        )
        balances = ledger_closing_balances(
            **_owner_kwargs(owner),
            program_id=query.program_id,
            categories=query.categories,
            entry_types=query.entry_types,
            till_ids=tills.till_ids,
            store_ids=tills.store_ids,
            end=filters["end"],
        )
        if query.alternate_currencies_only:
            balances, total = [], 0
        ledger_details: dict[str, Any] = page_details(
            page_number=query.page_number, page_size=query.page_size, total=total
        )
        ledger_details["ledgerClosingBalance"] = closing_balances_representation(balances)
        data = {
            "customerDetails": owner_details(owner, query.owner.entity_type),
            "ledgerDetails": ledger_details,
            "warnings": [],
        }
        return Response(data)
