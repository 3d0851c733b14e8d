"""Coupon issue APIs: v1.1 issue and resend (CONTRACT.md §1.1, §1.2) and v2 issue, bulk issue
(several offers to one customer) and issue multiple (N coupons of one offer), §2.2.

Every issual goes through coupons.services.issue.coupon_issue, so the offer's rules hold the same
way everywhere. Writes land in the caller's write org; an offer or customer of another org is not
found (707 / 701). v1.1 answers each coupon on its own (`item_status`, request status 200 / 201 /
500); v2 batches answer `{"response": [...], "totalCount", "failureCount"}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from coupons.api import issue_serializers as s
from coupons.exceptions import CouponCodeInvalidError
from coupons.models import Coupon
from coupons.selectors import (
    coupon_customer_find,
    coupon_get,
    coupon_get_by_code,
    coupon_series_get,
)
from coupons.services.issue import IssueProvenance, IssueResult, coupon_issue, coupon_resend
from loyalty_site.api.envelopes import Envelope, v11_batch_status
from loyalty_site.api.envelopes import v11_item_status as envelope_item_status
from loyalty_site.api.exceptions import flatten_validation_errors
from loyalty_site.api.views import BaseApi
from loyalty_site.core.exceptions import DomainError
from members.exceptions import InvalidSourceError
from members.models import Customer, RegistrationSource

TAGS_V11 = ["coupons v1.1"]
TAGS_V2 = ["coupons v2"]
V11_BATCH_LIMIT = 100
V11_CUSTOMER_PARAMETERS = ("mobile", "email", "external_id", "user_id", "card_number")
ISSUED_MESSAGE = "Coupon processing successful"
RESENT_MESSAGE = "Coupon Resent"
EXISTING_COUPON_WARNING = {
    "status": False,
    "code": 700,
    "message": "The customer already holds a valid coupon of this offer; it was sent again "
    "instead of a new one",
}
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Replaying the request with the same key returns the coupons it issued; the "
    "same key for another issual answers 409. Several coupons in one request use "
    "`<key>#<n>` each.",
)


def _item_key(key: str | None, index: int, count: int) -> str | None:
    if not key:
        return None
    return key if count == 1 else f"{key}#{index}"


def _idempotency_key(request: Request) -> str | None:
    return (request.headers.get("Idempotency-Key") or "").strip() or None


# v1.1 ----------------------------------------------------------------------------------------
class V11ItemFailure(Exception):
    """One v1.1 item cannot reach the service (not an object, invalid fields)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _item_status(success: bool, code: int, message: str) -> dict[str, Any]:
    return envelope_item_status(success=success, code=code, message=message)


def _v11_validated(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise V11ItemFailure(400, "Each coupon must be an object")
    serializer = s.CouponV11IssueItemInputSerializer(data=raw)
    if not serializer.is_valid():
        items = flatten_validation_errors(serializer.errors)
        raise V11ItemFailure(400, "; ".join(item.message for item in items))
    return dict(serializer.validated_data)


def _v11_echo(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    echo: dict[str, Any] = {}
    if isinstance(raw.get("series_id"), (str, int)):
        echo["series_id"] = str(raw["series_id"])
    customer = raw.get("customer")
    if isinstance(customer, dict):
        echo["customer"] = {
            key: str(value)
            for key, value in customer.items()
            if isinstance(value, (str, int)) and not isinstance(value, bool)
        }
    return echo


def _v11_run(
    items: list[Any],
    handle: Callable[[int, Any], dict[str, Any]],
    echo: Callable[[Any], dict[str, Any]],
) -> tuple[list[dict[str, Any]], int]:
    """Handle each item in its own service call; a failed one is answered with its echo and a
    failed item_status. Returns the answers and how many succeeded."""
    answers, succeeded = [], 0
    for index, raw in enumerate(items):
        try:
            answer = handle(index, raw)
            succeeded += 1
        except (V11ItemFailure, DomainError) as exc:
            answer = {**echo(raw), "item_status": _item_status(False, exc.code, exc.message)}
        answers.append(answer)
    return answers, succeeded


class CouponV11IssueApi(BaseApi):
    """`POST /v1.1/coupon/issue`: issue coupons, each answered on its own."""

    envelope = Envelope.V11

    @extend_schema(
        tags=TAGS_V11,
        summary="Issue coupons (v1.1)",
        description=(
            "Body `root.coupon[]` of `{series_id, customer{mobile|email|external_id|user_id}}`, "
            f"at most {V11_BATCH_LIMIT}. Each coupon succeeds (700) or fails with its own code "
            "(701 customer not found, 707 series, 712 offer ended, 743-748 issual rules). "
            "`response.coupon` is an object for one coupon, a list for several."
        ),
        parameters=[
            OpenApiParameter("user_id", OpenApiTypes.BOOL, required=False),
            OpenApiParameter("format", OpenApiTypes.STR, required=False, enum=["json"]),
            IDEMPOTENCY_PARAMETER,
        ],
        request=s.CouponV11IssueInputSerializer,
        responses={200: s.CouponV11IssueOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = s.CouponV11IssueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = serializer.items()
        if not items:
            raise exceptions.ValidationError({"root.coupon": ["Give at least one coupon"]})
        if len(items) > V11_BATCH_LIMIT:
            raise exceptions.ValidationError(
                {"root.coupon": [f"At most {V11_BATCH_LIMIT} coupons per request"]}
            )
        include_user_id = request.query_params.get("user_id", "").lower() == "true"
        key = _idempotency_key(request)

        def handle(index: int, raw: Any) -> dict[str, Any]:
            data = _v11_validated(raw)
            org_ids = [self.scope.write_org_id]
            series = coupon_series_get(org_ids=org_ids, series_id=data["series_id"])
            customer = coupon_customer_find(org_ids=org_ids, identifiers=data["customer"])
            result = coupon_issue(
                series=series,
                customer=customer,
                actor=self.principal.till,
                idempotency_key=_item_key(key, index, len(items)),
            )
            coupon = _reloaded(result)
            return {
                **s.coupon_v11_representation(coupon, include_user_id=include_user_id),
                "item_status": _item_status(True, 700, ISSUED_MESSAGE),
            }

        answers, succeeded = _v11_run(items, handle, _v11_echo)
        body = {
            "status": v11_batch_status(len(items), succeeded, success_code=200),
            "coupon": answers[0] if len(answers) == 1 else answers,
        }
        return Response({"response": body})


def _reloaded(result: IssueResult) -> Coupon:
    return Coupon.objects.select_related("series", "series__org", "customer").get(
        pk=result.coupon.pk
    )


class CouponV11ResendApi(BaseApi):
    """`GET /v1.1/coupon/resend`: send issued coupons to their customer again by SMS."""

    envelope = Envelope.V11

    @extend_schema(
        tags=TAGS_V11,
        summary="Resend coupons (v1.1)",
        description=(
            "One customer identifier and the coupon `id` or `code` (comma lists allowed). Only "
            "an active coupon of that customer is resent, with its code and validity unchanged "
            "(703 not the customer's, 711 redeemed, 713 expired, 749 revoked, 788 resend not "
            "enabled for the offer, 704 SMS failed)."
        ),
        parameters=[
            *[
                OpenApiParameter(name, OpenApiTypes.STR, required=False)
                for name in V11_CUSTOMER_PARAMETERS
            ],
            OpenApiParameter("id", OpenApiTypes.STR, required=False, description="Coupon id(s)."),
            OpenApiParameter("code", OpenApiTypes.STR, required=False, description="Code(s)."),
            OpenApiParameter("format", OpenApiTypes.STR, required=False, enum=["json"]),
        ],
        responses={200: s.CouponV11ResendOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        references = [("id", value) for value in _split(params.get("id"))] + [
            ("code", value) for value in _split(params.get("code"))
        ]
        if not references:
            raise CouponCodeInvalidError("Give the coupon id or code to resend")
        if len(references) > V11_BATCH_LIMIT:
            raise exceptions.ValidationError(
                {"id": [f"At most {V11_BATCH_LIMIT} coupons per request"]}
            )
        org_ids = [self.scope.write_org_id]
        identifiers = {name: params.get(name) for name in V11_CUSTOMER_PARAMETERS}
        identifiers["card_external_id"] = params.get("card_external_id")
        customer: Customer | DomainError
        try:
            customer = coupon_customer_find(org_ids=org_ids, identifiers=identifiers)
        except DomainError as exc:
            customer = exc

        def handle(index: int, reference: tuple[str, str]) -> dict[str, Any]:
            if isinstance(customer, DomainError):
                raise customer
            kind, value = reference
            if kind == "id":
                if not value.isdigit():
                    raise CouponCodeInvalidError(f"Invalid coupon id {value!r}")
                coupon = coupon_get(org_ids=org_ids, coupon_id=int(value))
            else:
                coupon = coupon_get_by_code(org_ids=org_ids, code=value, customer_id=customer.pk)
            coupon_resend(coupon=coupon, customer=customer, actor=self.principal.till)
            return {
                "id": str(coupon.pk),
                "code": coupon.code,
                "item_status": _item_status(True, 700, RESENT_MESSAGE),
            }

        def echo(reference: tuple[str, str]) -> dict[str, Any]:
            kind, value = reference
            return {"id": value, "code": ""} if kind == "id" else {"id": "", "code": value}

        answers, succeeded = _v11_run(references, handle, echo)
        body = {
            "status": v11_batch_status(len(references), succeeded, success_code=200),
            "coupons": {"coupon": answers},
        }
        return Response({"response": body})


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


# v2 ------------------------------------------------------------------------------------------
def _v2_customer(view: BaseApi, customer_data: dict[str, Any]) -> Customer:
    return coupon_customer_find(org_ids=[view.scope.write_org_id], identifiers=customer_data)


def _v2_error(exc: DomainError) -> dict[str, Any]:
    return {"status": False, "code": exc.code, "message": exc.message}


def _v2_batch(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "response": items,
        "totalCount": len(items),
        "failureCount": sum(1 for item in items if item["errors"]),
    }


class CouponV2IssueApi(BaseApi):
    """`POST /v2/coupon/issue`: issue one coupon of an offer to a customer."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Issue a coupon",
        description=(
            "`customer` by any one of `id`, `mobile`, `email`, `externalId` (empty strings are "
            "ignored; several must name the same customer). Errors: 707 offer, 701 customer, "
            "712 offer ended, 743-748 issual rules, 722 no uploaded code left, 409 key reuse."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.CouponV2IssueInputSerializer,
        responses={200: s.CouponV2IssueOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = s.CouponV2IssueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        series = coupon_series_get(org_ids=[self.scope.write_org_id], series_id=data["seriesId"])
        customer = _v2_customer(self, data["customer"])
        result = coupon_issue(
            series=series,
            customer=customer,
            actor=self.principal.till,
            idempotency_key=_idempotency_key(request),
        )
        coupon = _reloaded(result)
        warnings = [] if result.is_new or result.is_replay else [EXISTING_COUPON_WARNING]
        return Response(
            {
                **s.coupon_v2_representation(coupon),
                "customer": s.coupon_v2_customer_representation(coupon.customer),
                "warnings": warnings,
            }
        )


def _v2_issue_item(issue: Callable[[], IssueResult], entity_id: int) -> dict[str, Any]:
    try:
        result = issue()
    except DomainError as exc:
        return {"entityId": entity_id, "result": None, "errors": [_v2_error(exc)], "warnings": []}
    warnings = [] if result.is_new or result.is_replay else [EXISTING_COUPON_WARNING]
    return {
        "entityId": entity_id,
        "result": s.coupon_v2_representation(_reloaded(result)),
        "errors": [],
        "warnings": warnings,
    }


class CouponV2BulkIssueApi(BaseApi):
    """`POST /v2/coupon/bulk/issue`: one coupon of each of several offers to one customer."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Issue coupons of several offers to a customer",
        description=(
            "`seriesIds[]` (at most 100, answered in request order), `customer`, optional "
            "`metadata{sourceType, sourceId, sourceActivity, notes, reason}` (each at most 50 "
            "characters; kept on the coupons with `source` and `accountId`). Each offer "
            "succeeds or fails on its own; `source` is required (8003 if unknown)."
        ),
        parameters=[
            OpenApiParameter(
                "source", OpenApiTypes.STR, required=True, enum=RegistrationSource.values
            ),
            OpenApiParameter("accountId", OpenApiTypes.STR, required=False),
            IDEMPOTENCY_PARAMETER,
        ],
        request=s.CouponV2BulkIssueInputSerializer,
        responses={200: s.CouponV2BatchOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        source = (request.query_params.get("source") or "").strip().upper()
        if source not in RegistrationSource.values:
            raise InvalidSourceError(
                f"Invalid source {request.query_params.get('source')!r}: use one of the sources"
            )
        serializer = s.CouponV2BulkIssueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = _v2_customer(self, data["customer"])
        metadata = {
            **{key: value for key, value in data.get("metadata", {}).items() if value},
            "source": source,
        }
        if request.query_params.get("accountId"):
            metadata["accountId"] = request.query_params["accountId"][:100]
        key = _idempotency_key(request)
        series_ids = list(dict.fromkeys(data["seriesIds"]))
        org_ids = [self.scope.write_org_id]

        def issue_from(series_id: int) -> Callable[[], IssueResult]:
            def issue() -> IssueResult:
                series = coupon_series_get(org_ids=org_ids, series_id=series_id)
                return coupon_issue(
                    series=series,
                    customer=customer,
                    actor=self.principal.till,
                    idempotency_key=f"{key}#{series_id}" if key else None,
                    provenance=IssueProvenance(metadata=metadata),
                )

            return issue

        items = [_v2_issue_item(issue_from(series_id), series_id) for series_id in series_ids]
        return Response(_v2_batch(items))


class CouponV2IssueMultipleApi(BaseApi):
    """`POST /v2/coupon/issue/multiple`: `count` coupons of one offer to one customer."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Issue several coupons of one offer to a customer",
        description=(
            "`seriesId`, `customer`, `count` (1-500, default 1). Each coupon is one issual under "
            "the offer's rules, so the per-customer maximum, the gap and the offer's limit stop "
            "the extra ones (744 / 745 / 743) while the earlier ones stay issued. Answered as a "
            "batch with one item per coupon (`entityId` is the series id)."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.CouponV2IssueMultipleInputSerializer,
        responses={200: s.CouponV2BatchOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = s.CouponV2IssueMultipleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        series = coupon_series_get(org_ids=[self.scope.write_org_id], series_id=data["seriesId"])
        customer = _v2_customer(self, data["customer"])
        key = _idempotency_key(request)

        def issue_number(index: int) -> Callable[[], IssueResult]:
            def issue() -> IssueResult:
                return coupon_issue(
                    series=series,
                    customer=customer,
                    actor=self.principal.till,
                    idempotency_key=f"{key}#{index}" if key else None,
                )

            return issue

        items = [_v2_issue_item(issue_number(index), series.pk) for index in range(data["count"])]
        return Response(_v2_batch(items))
