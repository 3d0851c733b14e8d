"""Coupon read APIs at the contract's paths: v1.1 coupon details, series details and customer
coupons (CONTRACT.md §1.5, §1.6), v2 coupon details and customer coupons, basic and detailed
(§2, §2.4). Reads cover every org of the caller's scope (DATA-SCOPE); other orgs' coupons,
offers and customers are not found. Bad query parameters answer 400 naming the parameter.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from coupons.api import read_serializers as s
from coupons.exceptions import (
    CouponCodeInvalidError,
    CouponCodeNotFoundError,
    CouponSeriesNotFoundError,
)
from coupons.read_selectors import (
    V2_STATUSES,
    V11_ORDER_FIELDS,
    V11_STATUSES,
    CustomerCouponFilters,
    coupons_by_codes,
    coupons_by_ids,
    coupons_issued_to,
    customer_coupons_list,
    series_v11_list,
)
from coupons.selectors import coupon_customer_find, coupon_series_list
from loyalty_site.api.envelopes import Envelope, v11_batch_status, v11_item_status, v11_status
from loyalty_site.api.errors import InvalidParameterError
from loyalty_site.api.pagination import parse_int_param
from loyalty_site.api.views import BaseApi
from loyalty_site.core.exceptions import DomainError
from members.models import Customer, Org

TAGS_V11 = ["coupons v1.1"]
TAGS_V2 = ["coupons v2"]
MAX_REFERENCES = 100
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
COUPON_FOUND_MESSAGE = "Coupon processing successful"
SERIES_FOUND_MESSAGE = "Coupon series fetched successfully"
CUSTOMER_COUPONS_MESSAGE = "Issued coupons retrieved successfully"
V11_CUSTOMER_IDENTIFIERS = ("mobile", "email", "external_id", "id")
V2_CUSTOMER_IDENTIFIERS = ("mobile", "email", "externalId", "id")

CODE_CASE_PARAMETER = OpenApiParameter(
    "coupon_code_case",
    OpenApiTypes.STR,
    enum=list(s.CODE_CASES),
    required=False,
    description="Case of the codes answered (lookups ignore case); default UPPER.",
)
SCOPE_PARAMETERS = [
    OpenApiParameter(
        "DATA-SCOPE",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        enum=["SELF", "OTHER", "ALL"],
        description="Connected orgs (§7): SELF (default), OTHER or ALL.",
    ),
    OpenApiParameter(
        "DATA-SCOPE-ORG",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="Child org id(s), comma separated, for DATA-SCOPE OTHER or ALL.",
    ),
]


# Query parameters --------------------------------------------------------------------------
def _values(request: Request, name: str) -> list[str]:
    """A parameter given repeated (`?a=1&a=2`), comma separated, or both."""
    return [
        part.strip()
        for value in request.query_params.getlist(name)
        for part in value.split(",")
        if part.strip()
    ]


def _ints(request: Request, name: str) -> list[int]:
    values = _values(request, name)
    if len(values) > MAX_REFERENCES:
        raise InvalidParameterError(f"{name} takes at most {MAX_REFERENCES} values")
    try:
        numbers = [int(value) for value in values]
    except ValueError as exc:
        raise InvalidParameterError(f"{name} must be comma-separated integers") from exc
    if any(number < 1 or number > 2**63 - 1 for number in numbers):
        raise InvalidParameterError(f"{name} must be positive integers")
    return list(dict.fromkeys(numbers))


def _optional_int(request: Request, name: str) -> int | None:
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1 or int(raw) > 2**63 - 1:
        raise InvalidParameterError(f"{name} must be a positive integer")
    return int(raw)


def _choice(request: Request, name: str, choices: Sequence[str], default: str) -> str:
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return default
    by_upper = {choice.upper(): choice for choice in choices}
    if raw.upper() not in by_upper:
        raise InvalidParameterError(f"{name} must be one of {', '.join(choices)}")
    return by_upper[raw.upper()]


def _code_case(request: Request) -> str:
    return _choice(request, "coupon_code_case", s.CODE_CASES, "UPPER")


def _date(request: Request, name: str) -> datetime.date | None:
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidParameterError(f"{name} must be a date YYYY-MM-DD") from exc


def _statuses(request: Request, allowed: Sequence[str]) -> tuple[str, ...]:
    values = _values(request, "status")
    by_upper = {value.upper(): value for value in allowed}
    unknown = [value for value in values if value.upper() not in by_upper]
    if unknown:
        raise InvalidParameterError(
            f"Unknown status {', '.join(unknown)}: use {', '.join(allowed)}"
        )
    return tuple(dict.fromkeys(by_upper[value.upper()] for value in values))


def _bool(request: Request, name: str) -> bool:
    raw = (request.query_params.get(name) or "").strip().lower()
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise InvalidParameterError(f"{name} must be true or false")


def _paging(request: Request) -> tuple[int, int]:
    limit = parse_int_param(
        request.query_params, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT
    )
    offset = parse_int_param(request.query_params, "offset", default=0, minimum=0)
    return limit, offset


def _customer(view: BaseApi, names: Sequence[str]) -> Customer:
    identifiers = {name: view.request.query_params.get(name) for name in names}
    return coupon_customer_find(org_ids=view.scope.org_ids, identifiers=identifiers)


def _org_tz(customer: Customer) -> datetime.tzinfo:
    return Org.objects.only("time_zone").get(pk=customer.org_id).tzinfo


# v1.1 ----------------------------------------------------------------------------------------
def _item_status(success: bool, code: int, message: str) -> dict[str, Any]:
    status = v11_item_status(success=success, code=code, message=message)
    status["status"] = status["success"]  # the §1.5 sample's key
    return status


def _one_or_list(items: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    return items[0] if len(items) == 1 else items


def _run_items(
    references: list[Any],
    handle: Callable[[Any], dict[str, Any]],
    echo: Callable[[Any], dict[str, Any]],
    success_message: str,
) -> tuple[list[dict[str, Any]], int]:
    answers, succeeded = [], 0
    for reference in references:
        try:
            answer = {**handle(reference), "item_status": _item_status(True, 700, success_message)}
            succeeded += 1
        except DomainError as exc:
            answer = {**echo(reference), "item_status": _item_status(False, exc.code, exc.message)}
        answers.append(answer)
    return answers, succeeded


class CouponV11GetApi(BaseApi):
    """`GET /v1.1/coupon/get`: coupon details by id or code."""

    envelope = Envelope.V11

    @extend_schema(
        tags=TAGS_V11,
        summary="Coupon details (v1.1)",
        description=(
            "`id` and/or `code` (comma lists, at most 100 in all) and/or `issuedToIds` "
            "(customer ids: all their coupons). Each coupon is answered on its own: 700, or 719 "
            "unknown id/code, 702 malformed id or a common code held by several customers "
            "without a customer identifier (`mobile`, `email`, `external_id`, `user_id` "
            "narrow it). `response.coupons.coupon` is an object for one coupon, else a list. "
            "Every coupon has `redemption_info`, `redeemed_by`, `store`, `transaction` (of its "
            "latest active redemption, else the latest reversed one), `isReversed` and "
            "`last_status_change_on`."
        ),
        parameters=[
            OpenApiParameter("id", OpenApiTypes.STR, required=False, description="Coupon ids."),
            OpenApiParameter("code", OpenApiTypes.STR, required=False, description="Codes."),
            OpenApiParameter(
                "issuedToIds", OpenApiTypes.STR, required=False, description="Customer ids."
            ),
            *[
                OpenApiParameter(name, OpenApiTypes.STR, required=False)
                for name in ("mobile", "email", "external_id", "user_id")
            ],
            CODE_CASE_PARAMETER,
            OpenApiParameter("format", OpenApiTypes.STR, required=False, enum=["json"]),
            *SCOPE_PARAMETERS,
        ],
        responses={200: s.CouponV11DetailResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        org_ids = self.scope.org_ids
        code_case = _code_case(request)
        ids = _values(request, "id")
        codes = _values(request, "code")
        customer_ids = _ints(request, "issuedToIds")
        references = [("id", value) for value in ids] + [("code", value) for value in codes]
        if not references and not customer_ids:
            raise CouponCodeInvalidError("Give the coupon id, code or issuedToIds")
        if len(references) > MAX_REFERENCES:
            raise InvalidParameterError(f"At most {MAX_REFERENCES} coupons per request")
        holder = self._holder()
        numeric_ids = [int(value) for kind, value in references if kind == "id" and value.isdigit()]
        by_id = coupons_by_ids(org_ids=org_ids, coupon_ids=numeric_ids)
        by_code = coupons_by_codes(
            org_ids=org_ids,
            codes=[value for kind, value in references if kind == "code"],
            customer_id=holder.pk if holder else None,
        )

        def handle(reference: tuple[str, Any]) -> dict[str, Any]:
            kind, value = reference
            if kind == "coupon":
                coupon = value
            elif kind == "id":
                if not value.isdigit():
                    raise CouponCodeInvalidError(f"Invalid coupon id {value!r}")
                coupon = by_id.get(int(value))
                if coupon is None:
                    raise CouponCodeNotFoundError(f"Coupon {value} not found")
            else:
                holders = by_code.get(value.strip().upper(), [])
                if not holders:
                    raise CouponCodeNotFoundError(f"Coupon code {value} does not exist")
                live = [coupon for coupon in holders if coupon.revoked_at is None]
                holders = live or holders
                if len(holders) > 1 and holders[0].is_common:
                    raise CouponCodeInvalidError(
                        f"Coupon code {value} is held by several customers: give mobile, email, "
                        "external_id or user_id"
                    )
                coupon = holders[0]
            return s.coupon_v11_detail_representation(coupon, code_case=code_case)

        def echo(reference: tuple[str, Any]) -> dict[str, Any]:
            kind, value = reference
            return {"id": value if kind == "id" else "", "code": value if kind == "code" else ""}

        issued = coupons_issued_to(org_ids=org_ids, customer_ids=customer_ids)
        items = references + [("coupon", coupon) for coupon in issued]
        answers, succeeded = _run_items(items, handle, echo, COUPON_FOUND_MESSAGE)
        body = {
            "status": v11_batch_status(len(items), succeeded, success_code=200)
            if items
            else v11_status(success=True, code=200, message="Success"),
            "coupons": {"coupon": _one_or_list(answers)},
        }
        return Response({"response": body})

    def _holder(self) -> Customer | None:
        params = self.request.query_params
        identifiers = {
            name: params.get(name) for name in ("mobile", "email", "external_id", "user_id")
        }
        if not any((value or "").strip() for value in identifiers.values()):
            return None
        return coupon_customer_find(org_ids=self.scope.org_ids, identifiers=identifiers)


class CouponSeriesV11Api(BaseApi):
    """`GET /v1.1/coupon/series`: offer details."""

    envelope = Envelope.V11

    @extend_schema(
        tags=TAGS_V11,
        summary="Coupon series details (v1.1)",
        description=(
            "`id` (comma list, at most 100): those offers, ended or not; an unknown id is an "
            "item with 707. Without `id`: the caller's offers, newest first, at most 100 "
            "(`limit`); `expired=false` (default) leaves out offers that have ended, `true` "
            "(or `extended`) includes them. Each offer carries `coupons{issued, redeemed}` and "
            "`valid_redemption_org_entities{concepts, zones, stores, tills}` (JSON id lists as "
            "strings, null when none). `series.items.item` is an object for one offer, else a "
            "list."
        ),
        parameters=[
            OpenApiParameter("id", OpenApiTypes.STR, required=False, description="Series ids."),
            OpenApiParameter(
                "expired", OpenApiTypes.STR, required=False, enum=["true", "false", "extended"]
            ),
            OpenApiParameter("limit", OpenApiTypes.INT, required=False),
            OpenApiParameter("format", OpenApiTypes.STR, required=False, enum=["json"]),
            *SCOPE_PARAMETERS,
        ],
        responses={200: s.SeriesV11ResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        ids = _ints(request, "id")
        expired = _choice(request, "expired", ("true", "false", "extended"), "false")
        limit = parse_int_param(
            request.query_params, "limit", default=MAX_REFERENCES, minimum=1, maximum=MAX_LIMIT
        )
        offers = series_v11_list(
            org_ids=self.scope.org_ids,
            series_ids=ids,
            include_expired=expired != "false",
            now=timezone.now(),
        )
        found = {offer.pk: offer for offer in (offers if ids else offers[:limit])}
        references = ids or list(found)

        def handle(series_id: int) -> dict[str, Any]:
            offer = found.get(series_id)
            if offer is None:
                raise CouponSeriesNotFoundError(f"Coupon series {series_id} not found")
            return s.series_v11_representation(offer)

        answers, succeeded = _run_items(
            references, handle, lambda series_id: {"id": str(series_id)}, SERIES_FOUND_MESSAGE
        )
        status = (
            v11_batch_status(len(references), succeeded, success_code=200)
            if references
            else v11_status(success=True, code=200, message="Success")
        )
        body = {"status": status, "series": {"items": {"item": _one_or_list(answers)}}}
        return Response({"response": body})


class CustomerCouponsV11Api(BaseApi):
    """`GET /v1.1/customer/coupons`: a customer's coupons with filters and paging."""

    envelope = Envelope.V11

    @extend_schema(
        tags=TAGS_V11,
        summary="Customer coupons (v1.1)",
        description=(
            "Customer by `mobile`, `email`, `external_id` or `id` (701 if unknown). "
            "`status` (comma list, any case): unredeemed, redeemed, expired, active (valid_till "
            "ahead and not revoked; redemptions ignored). `start_date`/`end_date` (YYYY-MM-DD, "
            "org time zone, inclusive): issued or redeemed in the window. `series_id`. "
            "`store_id`: active coupons redeemable at that store (offer places: none = anywhere, "
            "else the store, its tills, its zone or its concept). `order_by` created_date "
            "(default) | amount | valid_till, `sort_order` asc | desc (default), `limit` "
            f"(default {DEFAULT_LIMIT}, at most {MAX_LIMIT}), `offset` (start index). "
            "`coupons.coupon` and `redemptions.redemption` are always lists."
        ),
        parameters=[
            *[
                OpenApiParameter(name, OpenApiTypes.STR, required=False)
                for name in V11_CUSTOMER_IDENTIFIERS
            ],
            OpenApiParameter("status", OpenApiTypes.STR, required=False),
            OpenApiParameter("start_date", OpenApiTypes.DATE, required=False),
            OpenApiParameter("end_date", OpenApiTypes.DATE, required=False),
            OpenApiParameter("series_id", OpenApiTypes.INT, required=False),
            OpenApiParameter("store_id", OpenApiTypes.INT, required=False),
            OpenApiParameter(
                "order_by", OpenApiTypes.STR, required=False, enum=list(V11_ORDER_FIELDS)
            ),
            OpenApiParameter("sort_order", OpenApiTypes.STR, required=False, enum=["asc", "desc"]),
            OpenApiParameter("limit", OpenApiTypes.INT, required=False),
            OpenApiParameter("offset", OpenApiTypes.INT, required=False),
            CODE_CASE_PARAMETER,
            OpenApiParameter("format", OpenApiTypes.STR, required=False, enum=["json"]),
            *SCOPE_PARAMETERS,
        ],
        responses={200: s.CustomerCouponsV11ResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        filters = CustomerCouponFilters(
            statuses=_statuses(request, V11_STATUSES),
            series_id=_optional_int(request, "series_id"),
            store_id=_optional_int(request, "store_id"),
            start_date=_date(request, "start_date"),
            end_date=_date(request, "end_date"),
            order_by=_choice(request, "order_by", tuple(V11_ORDER_FIELDS), "created_date"),
            descending=_choice(request, "sort_order", ("asc", "desc"), "desc") == "desc",
        )
        if filters.start_date and filters.end_date and filters.start_date > filters.end_date:
            raise InvalidParameterError("start_date must not be after end_date")
        limit, offset = _paging(request)
        code_case = _code_case(request)
        customer = _customer(self, V11_CUSTOMER_IDENTIFIERS)
        coupons = customer_coupons_list(
            org_ids=self.scope.org_ids,
            customer_id=customer.pk,
            filters=filters,
            now=timezone.now(),
            tz=_org_tz(customer),
        )
        total = coupons.count()
        page = list(coupons[offset : offset + limit])
        body = {
            "pagination": {"limit": str(limit), "offset": str(offset), "total": total},
            "status": v11_status(success=True, code=200, message="Success"),
            "customers": {
                "customer": {
                    **s.customer_v11_representation(customer),
                    "coupons": {
                        "coupon": [
                            s.coupon_v11_listed_representation(coupon, code_case=code_case)
                            for coupon in page
                        ]
                    },
                    "item_status": _item_status(True, 1000, CUSTOMER_COUPONS_MESSAGE),
                }
            },
        }
        return Response({"response": body})


# v2 ------------------------------------------------------------------------------------------
class CouponV2GetApi(BaseApi):
    """`GET /v2/coupon`: coupon details by customer, id or code."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Coupon details",
        description=(
            "`issuedToIds` (customer ids), `couponIds`, `couponCodes` (each repeated or comma "
            "separated, at most 100); at least one, several combine. Answers `data` (coupons "
            "asked by id, then by code, then the customers' coupons, no duplicates) and a "
            "warning per id or code not found (719). A common code answers each holder's "
            "coupon (the newest 100). Extensions per coupon: `id`, `issuedTo`, "
            "`redemptionCount`, `isRedeemed`, `isRevoked`, `isReversed`, "
            "`last_status_change_on`."
        ),
        parameters=[
            OpenApiParameter("issuedToIds", OpenApiTypes.INT, many=True, required=False),
            OpenApiParameter("couponIds", OpenApiTypes.INT, many=True, required=False),
            OpenApiParameter("couponCodes", OpenApiTypes.STR, many=True, required=False),
            CODE_CASE_PARAMETER,
            *SCOPE_PARAMETERS,
        ],
        responses={200: s.CouponV2DetailResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        org_ids = self.scope.org_ids
        code_case = _code_case(request)
        coupon_ids = _ints(request, "couponIds")
        customer_ids = _ints(request, "issuedToIds")
        codes = list(dict.fromkeys(value.upper() for value in _values(request, "couponCodes")))
        if len(codes) > MAX_REFERENCES:
            raise InvalidParameterError(f"couponCodes takes at most {MAX_REFERENCES} values")
        if not (coupon_ids or customer_ids or codes):
            raise InvalidParameterError("Give issuedToIds, couponIds or couponCodes")
        by_id = coupons_by_ids(org_ids=org_ids, coupon_ids=coupon_ids)
        by_code = coupons_by_codes(org_ids=org_ids, codes=codes)
        warnings = [
            {"status": False, "code": 719, "message": f"Coupon {pk} not found"}
            for pk in coupon_ids
            if pk not in by_id
        ] + [
            {"status": False, "code": 719, "message": f"Coupon code {code} does not exist"}
            for code in codes
            if code not in by_code
        ]
        found = [by_id[pk] for pk in coupon_ids if pk in by_id]
        found += [coupon for code in codes for coupon in by_code.get(code, [])]
        found += coupons_issued_to(org_ids=org_ids, customer_ids=customer_ids)
        unique = list({coupon.pk: coupon for coupon in found}.values())
        data = [s.coupon_v2_detail_representation(c, code_case=code_case) for c in unique]
        return Response({"data": data, "warnings": warnings, "errors": []})


class CustomerCouponsV2Api(BaseApi):
    """`GET /v2/customers/coupons`: a customer's coupons, basic details, paged."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Customer coupons (basic)",
        operation_id="v2_customers_coupons_list",
        description=(
            "Customer by `mobile`, `email`, `externalId` or `id` (701 if unknown). `status` "
            f"(comma list, any case): {', '.join(V2_STATUSES)}; REDEEMABLE = active with "
            "redemptions left and redemption started (bill-dependent rules are checked at "
            "redemption). `sort_order` ASC | DESC (default) by issue time, `limit` (default "
            f"{DEFAULT_LIMIT}, at most {MAX_LIMIT}), `offset` (rows skipped), "
            "`coupon_code_case`, `include_reversed_redemptions` (fills `reversedRedemptions`)."
        ),
        parameters=[
            *[
                OpenApiParameter(name, OpenApiTypes.STR, required=False)
                for name in V2_CUSTOMER_IDENTIFIERS
            ],
            OpenApiParameter("status", OpenApiTypes.STR, required=False),
            OpenApiParameter("sort_order", OpenApiTypes.STR, required=False, enum=["ASC", "DESC"]),
            OpenApiParameter("limit", OpenApiTypes.INT, required=False),
            OpenApiParameter("offset", OpenApiTypes.INT, required=False),
            OpenApiParameter("include_reversed_redemptions", OpenApiTypes.BOOL, required=False),
            CODE_CASE_PARAMETER,
            *SCOPE_PARAMETERS,
        ],
        responses={200: s.CustomerCouponsV2ResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        filters = CustomerCouponFilters(
            statuses=_statuses(request, V2_STATUSES),
            descending=_choice(request, "sort_order", ("ASC", "DESC"), "DESC") == "DESC",
        )
        limit, offset = _paging(request)
        code_case = _code_case(request)
        include_reversed = _bool(request, "include_reversed_redemptions")
        customer = _customer(self, V2_CUSTOMER_IDENTIFIERS)
        now = timezone.now()
        coupons = customer_coupons_list(
            org_ids=self.scope.org_ids,
            customer_id=customer.pk,
            filters=filters,
            now=now,
            tz=_org_tz(customer),
        )
        total = coupons.count()
        page = list(coupons[offset : offset + limit])
        listed = [
            s.coupon_v2_listed_representation(
                coupon, code_case=code_case, include_reversed=include_reversed, now=now
            )
            for coupon in page
        ]
        entity = {
            "pagination": {"limit": str(limit), "offset": str(offset), "total": total},
            "customers": [{**s.customer_v2_listed_representation(customer), "coupons": listed}],
        }
        return Response({"entity": entity, "warnings": [], "errors": [], "success": True})


class CustomerCouponsDetailedV2Api(BaseApi):
    """`GET /v2/customers/{customerId}/coupons`: a customer's coupons in detail."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Customer coupons (detailed)",
        operation_id="v2_customers_coupons_detailed",
        description=(
            "Every coupon of the customer (701 if the id is not a customer in scope), newest "
            "first, with its offer (`series`, plus `validRedemptionOrgEntityDetails`), "
            "`redemptionInfo` (active redemptions), `reversedRedemptionInfo`, `isReversed` and "
            "`last_status_change_on`. Optional `status`, `limit` (at most "
            f"{MAX_LIMIT}) and `offset` as in the basic API; without `limit` every coupon."
        ),
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, required=False),
            OpenApiParameter("limit", OpenApiTypes.INT, required=False),
            OpenApiParameter("offset", OpenApiTypes.INT, required=False),
            CODE_CASE_PARAMETER,
            *SCOPE_PARAMETERS,
        ],
        responses={200: s.CustomerCouponsDetailedV2ResponseSerializer},
    )
    def get(self, request: Request, customer_id: int) -> Response:
        filters = CustomerCouponFilters(statuses=_statuses(request, V2_STATUSES))
        code_case = _code_case(request)
        offset = parse_int_param(request.query_params, "offset", default=0, minimum=0)
        limit = parse_int_param(
            request.query_params, "limit", default=0, minimum=1, maximum=MAX_LIMIT
        )
        customer = coupon_customer_find(
            org_ids=self.scope.org_ids, identifiers={"id": str(customer_id)}
        )
        now = timezone.now()
        coupons = customer_coupons_list(
            org_ids=self.scope.org_ids,
            customer_id=customer.pk,
            filters=filters,
            now=now,
            tz=_org_tz(customer),
        )
        page = list(coupons[offset : offset + limit] if limit else coupons[offset:])
        offers = coupon_series_list(
            org_ids=self.scope.org_ids, ids=sorted({coupon.series_id for coupon in page})
        )
        series_data = {offer.pk: s.series_v2_detailed_representation(offer) for offer in offers}
        entity = [
            s.coupon_v2_detailed_representation(
                coupon, code_case=code_case, series_data=series_data[coupon.series_id], now=now
            )
            for coupon in page
        ]
        return Response({"entity": entity, "warnings": [], "errors": [], "success": True})
