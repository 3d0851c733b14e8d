"""Coupon redemption APIs: v1.1 redeem and is-redeemable (CONTRACT.md §1.3, §1.4), v2 redeem,
bulk redeem, is_redeemable and reactivate (§1.8, §2.2), v2 revoke (§2.3).

Every redemption goes through coupons.services.redemption.coupon_redeem and every check through
coupons_check, so the offer's rules hold the same way everywhere. Failed validations count
against the till and the customer; past the throttle limit the API answers 429.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from coupons.api import redeem_serializers as s
from coupons.api.issue_serializers import (
    CouponV11CustomerInputSerializer,
    coupon_v2_customer_representation,
)
from coupons.api.issue_views import (
    IDEMPOTENCY_PARAMETER,
    V11ItemFailure,
    _idempotency_key,
    _item_key,
    _item_status,
    _v2_batch,
    _v2_customer,
    _v2_error,
)
from coupons.exceptions import (
    CouponCustomerNotFoundError,
    CouponRedemptionRuleError,
    CouponValidationThrottledError,
    RevokeTargetMissingError,
)
from coupons.selectors import coupon_customer_find, coupon_series_get
from coupons.services.redemption import (
    CouponCheck,
    RedemptionTarget,
    coupon_redeem,
    coupon_redemption_reverse,
    coupon_validation_failed,
    coupon_validation_throttle_check,
    coupons_check,
)
from coupons.services.revoke import (
    MAX_COUPONS_PER_CUSTOMER_REQUEST,
    coupons_revoke_codes,
    coupons_revoke_for_customers,
    series_check_revocable,
)
from loyalty_site.api.envelopes import Envelope, v11_batch_status, v11_status
from loyalty_site.api.exceptions import flatten_validation_errors
from loyalty_site.api.views import BaseApi
from loyalty_site.core.exceptions import DomainError
from members.exceptions import InvalidSourceError
from members.models import Customer, RegistrationSource

TAGS_V11 = ["coupons v1.1"]
TAGS_V2 = ["coupons v2"]
V11_CUSTOMER_PARAMETERS = ("mobile", "email", "external_id", "id", "user_id", "card_number")
V2_CUSTOMER_PARAMETERS = ("mobile", "email", "externalId", "id")
PROCESSED = "Coupon processing successful"


class _Guard:
    """Throttle failed validations: check before, count after a failed rule."""

    def __init__(self, view: BaseApi) -> None:
        self.till_id = view.principal.till.pk

    def find_customer(self, lookup: Callable[[], Customer]) -> Customer:
        """A customer lookup; an unknown customer counts against the till, which is checked
        then (so a till guessing customers is stopped) and with the customer once found."""
        try:
            return lookup()
        except CouponCustomerNotFoundError:
            coupon_validation_throttle_check(till_id=self.till_id, customer_id=None)
            coupon_validation_failed(till_id=self.till_id, customer_id=None)
            raise

    def run(self, customer: Customer | None, action: Callable[[], Any]) -> Any:
        customer_id = customer.pk if customer is not None else None
        coupon_validation_throttle_check(till_id=self.till_id, customer_id=customer_id)
        try:
            return action()
        except (CouponRedemptionRuleError, CouponCustomerNotFoundError):
            coupon_validation_failed(till_id=self.till_id, customer_id=customer_id)
            raise

    def failed(self, customer: Customer | None, count: int) -> None:
        if count:
            coupon_validation_failed(
                till_id=self.till_id,
                customer_id=customer.pk if customer is not None else None,
                count=count,
            )


def _find_customer(view: BaseApi, guard: _Guard, identifiers: dict[str, Any]) -> Customer:
    return guard.find_customer(
        lambda: coupon_customer_find(org_ids=[view.scope.write_org_id], identifiers=identifiers)
    )


def _codes(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _code_case(request: Request) -> str:
    case = (request.query_params.get("coupon_code_case") or "UPPER").strip().upper()
    if case not in s.CODE_CASES:
        raise exceptions.ValidationError(
            {"coupon_code_case": [f"Use one of {', '.join(s.CODE_CASES)}"]}
        )
    return case


def _check_codes(request: Request) -> list[str]:
    codes = _codes(request.query_params.get("code"))
    if not codes:
        raise exceptions.ValidationError({"code": ["Give at least one coupon code"]})
    if len(codes) > s.MAX_CHECK_CODES:
        raise exceptions.ValidationError({"code": [f"At most {s.MAX_CHECK_CODES} codes"]})
    return codes


def _check_parameters(customer_names, amount_name: str, number_name: str) -> list:
    return [
        *[OpenApiParameter(name, OpenApiTypes.STR, required=False) for name in customer_names],
        OpenApiParameter("code", OpenApiTypes.STR, required=True),
        OpenApiParameter("details", OpenApiTypes.STR, required=False, enum=["true", "extended"]),
        OpenApiParameter(
            "coupon_code_case", OpenApiTypes.STR, required=False, enum=list(s.CODE_CASES)
        ),
        OpenApiParameter(amount_name, OpenApiTypes.STR, required=False),
        OpenApiParameter(number_name, OpenApiTypes.STR, required=False),
    ]


def _run_checks(
    view: BaseApi, request: Request, customer_names, amount_name: str, number_name: str
) -> tuple[Customer, list[CouponCheck], list[str], str]:
    """The is-redeemable flow of both versions: (customer, checks, codes asked, code case)."""
    params = request.query_params
    codes = _check_codes(request)
    case = _code_case(request)
    amount = s.bill_amount_parse(params.get(amount_name))
    guard = _Guard(view)
    identifiers = {name: params.get(name) for name in customer_names if params.get(name)}
    customer = _find_customer(view, guard, identifiers)
    checks = guard.run(
        customer,
        lambda: coupons_check(
            org_ids=[view.scope.write_org_id],
            codes=codes,
            customer=customer,
            till=view.principal.till,
            bill_amount=amount,
            transaction_number=(params.get(number_name) or "").strip(),
        ),
    )
    guard.failed(customer, sum(1 for check in checks if not check.is_redeemable))
    return customer, checks, codes, case


# v1.1 ----------------------------------------------------------------------------------------
def _v11_transaction(raw: Any) -> tuple[str, Any]:
    if isinstance(raw, list):
        raw = raw[0] if raw else {}
    if not isinstance(raw, dict):
        return "", None
    return str(raw.get("number") or "").strip(), raw.get("amount")


def _v11_custom_fields(raw: Any) -> dict[str, Any]:
    fields = raw.get("field") if isinstance(raw, dict) else raw
    if isinstance(fields, dict):
        fields = [fields]
    result = {}
    for item in fields or []:
        if isinstance(item, dict) and str(item.get("name") or "").strip():
            result[str(item["name"]).strip()[:100]] = item.get("value")
    return result


def _v11_echo(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    echo: dict[str, Any] = {}
    for name in ("code", "id"):
        if isinstance(raw.get(name), (str, int)) and not isinstance(raw.get(name), bool):
            echo[name] = str(raw[name])
    number, amount = _v11_transaction(raw.get("transaction"))
    if number or amount is not None:
        echo["transaction"] = {"amount": str(amount or ""), "number": number}
    return echo


class CouponV11RedeemApi(BaseApi):
    """`POST /v1.1/coupon/redeem`: redeem coupons, each answered on its own."""

    envelope = Envelope.V11

    @extend_schema(
        tags=TAGS_V11,
        summary="Redeem coupons (v1.1)",
        description=(
            "Body `root.coupon[]` (at most 100) of `{code | id, customer{mobile|email|"
            "external_id|id}, transaction[{number, amount}], custom_fields.field[{name, value}], "
            "redemption_time}`. Each coupon is redeemed on its own (item_status 700, or the "
            "failed rule's code: 702, 703, 706, 710-714, 723, 728, 729, 733, 735, 736, 738, "
            "739, 741, 749). Repeating a coupon with the same bill number returns the first "
            "redemption. As in the contract's sample, the body is `{status, coupons{coupon}}` "
            "(no `response` wrapper); `coupon` is an object for one coupon, a list for several."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.CouponV11RedeemInputSerializer,
        responses={200: s.CouponV11RedeemOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = s.CouponV11RedeemInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = serializer.items()
        if not items:
            raise exceptions.ValidationError({"root.coupon": ["Give at least one coupon"]})
        if len(items) > s.MAX_REDEEM_BATCH:
            raise exceptions.ValidationError(
                {"root.coupon": [f"At most {s.MAX_REDEEM_BATCH} coupons per request"]}
            )
        guard = _Guard(self)
        key = _idempotency_key(request)
        org_ids = [self.scope.write_org_id]
        till = self.principal.till
        answers, succeeded = [], 0
        for index, raw in enumerate(items):
            try:
                answer = self._redeem_one(
                    raw, guard, org_ids, till, _item_key(key, index, len(items))
                )
                succeeded += 1
            except CouponValidationThrottledError:
                raise
            except (V11ItemFailure, DomainError) as exc:
                answer = {
                    **_v11_echo(raw),
                    "item_status": _item_status(False, exc.code, exc.message),
                }
            answers.append(answer)
        return Response(
            {
                "status": v11_batch_status(len(items), succeeded, success_code=200),
                "coupons": {"coupon": answers[0] if len(answers) == 1 else answers},
            }
        )

    def _redeem_one(self, raw: Any, guard: _Guard, org_ids, till, key) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise V11ItemFailure(400, "Each coupon must be an object")
        customer_data = CouponV11CustomerInputSerializer(data=raw.get("customer") or {})
        if not customer_data.is_valid():
            items = flatten_validation_errors(customer_data.errors)
            raise V11ItemFailure(400, "; ".join(item.message for item in items))
        code = str(raw.get("code") or "").strip()
        coupon_id = raw.get("id")
        if not code and coupon_id in (None, ""):
            raise V11ItemFailure(702, "Give the coupon code or id")
        if not code and not str(coupon_id).isdigit():
            raise V11ItemFailure(702, f"Invalid coupon id {coupon_id!r}")
        target = RedemptionTarget(
            code=code,
            coupon_id=None if code else int(coupon_id),
            custom_fields=_v11_custom_fields(raw.get("custom_fields")),
        )
        number, raw_amount = _v11_transaction(raw.get("transaction"))
        amount = s.bill_amount_parse(raw_amount)
        customer = _find_customer(self, guard, dict(customer_data.validated_data))
        at = s.redemption_time_parse(raw.get("redemption_time"), customer.org)
        (outcome,) = guard.run(
            customer,
            lambda: coupon_redeem(
                org_ids=org_ids,
                targets=[target],
                customer=customer,
                actor=till,
                bill_amount=amount,
                transaction_number=number,
                redeemed_at=at,
                idempotency_key=key,
            ),
        )
        return {
            **s.v11_redemption_representation(outcome.redemption, outcome.coupon),
            "item_status": _item_status(True, 700, PROCESSED),
        }


class CouponV11IsRedeemableApi(BaseApi):
    """`GET /v1.1/coupon/isredeemable`: can this customer redeem these codes here, now?"""

    envelope = Envelope.V11

    @extend_schema(
        tags=TAGS_V11,
        summary="Is a coupon redeemable (v1.1)",
        description=(
            "One customer identifier and `code` (comma list, at most 50). `details=true|extended` "
            "adds `series_info`. Every failed rule is listed in `failed_rules` (extension); "
            "`item_status` carries the first. Optional `amount` (bill amount) and "
            "`transaction_number` check the bill rules too. Nothing is written."
        ),
        parameters=_check_parameters(V11_CUSTOMER_PARAMETERS, "amount", "transaction_number"),
        responses={200: s.CouponV11IsRedeemableOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        details = (request.query_params.get("details") or "").strip().lower()
        customer, checks, codes, case = _run_checks(
            self, request, V11_CUSTOMER_PARAMETERS, "amount", "transaction_number"
        )
        items = [
            s.v11_check_representation(check, customer, details=details, case=case, asked=asked)
            for check, asked in zip(checks, codes, strict=True)
        ]
        return Response(
            {
                "response": {
                    "status": v11_status(success=True, code=200, message="Success"),
                    "coupons": {"redeemable": items[0] if len(items) == 1 else items},
                }
            }
        )


# v2 ------------------------------------------------------------------------------------------
def _v2_targets(data: dict[str, Any]) -> list[RedemptionTarget]:
    return [
        RedemptionTarget(code=(item.get("code") or "").strip(), coupon_id=item.get("id"))
        for item in data["redemptionRequestList"]
    ]


def _v2_redeem(view: BaseApi, request: Request) -> tuple[Customer, list]:
    serializer = s.CouponV2RedeemInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    amount = s.bill_amount_parse(data.get("billAmount"))
    guard = _Guard(view)
    customer = guard.find_customer(lambda: _v2_customer(view, data["user"]))
    at = s.redemption_time_parse(data.get("redemptionTime"), customer.org)
    outcomes = guard.run(
        customer,
        lambda: coupon_redeem(
            org_ids=[view.scope.write_org_id],
            targets=_v2_targets(data),
            customer=customer,
            actor=view.principal.till,
            bill_amount=amount,
            transaction_number=data.get("transactionNumber") or "",
            redeemed_at=at,
            idempotency_key=_idempotency_key(request),
        ),
    )
    return customer, outcomes


class CouponV2RedeemApi(BaseApi):
    """`POST /v2/coupon/redeem`: redeem coupons for a customer on a bill."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Redeem coupons",
        description=(
            "`redemptionRequestList[{code}]`, `user{mobile|email|externalId|id}`, "
            "`transactionNumber`, `billAmount`, `redemptionTime` (`YYYY-MM-DD HH:MM:SS`, org "
            "time zone). All coupons are redeemed or none: a failure answers HTTP 400 with "
            "every failed rule of the first failing coupon in `errors`. The same code with the "
            "same `transactionNumber` (or `Idempotency-Key`) returns the first redemption."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.CouponV2RedeemInputSerializer,
        responses={200: s.CouponV2RedeemOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        customer, outcomes = _v2_redeem(self, request)
        return Response(
            {
                "redemption": [
                    s.v2_redemption_representation(outcome.redemption, outcome.coupon)
                    for outcome in outcomes
                ],
                "redemptionStatus": s.v2_status(),
                "customer": coupon_v2_customer_representation(customer),
                "warnings": [],
            }
        )


class CouponV2BulkRedeemApi(BaseApi):
    """`POST /v2/coupon/bulk/redeem`: several coupons on one bill, all or none."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Redeem several coupons (all or none)",
        description=(
            "The redeem body with up to 100 codes; `source` is required (8003 if unknown). "
            "Answered as a batch (`response[]{entityId, result, errors}`); when one coupon "
            "fails none is redeemed: HTTP 400, the failing coupon's item lists its failed "
            "rules and the others say they were not redeemed (709)."
        ),
        parameters=[
            OpenApiParameter(
                "source", OpenApiTypes.STR, required=True, enum=RegistrationSource.values
            ),
            IDEMPOTENCY_PARAMETER,
        ],
        request=s.CouponV2RedeemInputSerializer,
        responses={200: s.CouponV2RedeemOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        source = (request.query_params.get("source") or "").strip().upper()
        if source not in RegistrationSource.values:
            raise InvalidSourceError(
                f"Invalid source {request.query_params.get('source')!r}: use one of the sources"
            )
        try:
            _customer, outcomes = _v2_redeem(self, request)
        except CouponRedemptionRuleError as exc:
            return Response(self._failed_batch(request, exc), status=400)
        items = [
            {
                "entityId": outcome.redemption.pk,
                "result": s.v2_redemption_representation(outcome.redemption, outcome.coupon),
                "errors": [],
            }
            for outcome in outcomes
        ]
        return Response(_v2_batch(items))

    @staticmethod
    def _failed_batch(request: Request, exc: CouponRedemptionRuleError) -> dict[str, Any]:
        requested = request.data.get("redemptionRequestList") or []
        errors = [_v2_error(failure) for failure in (exc.failures or [exc])]
        failing = (exc.coupon_code or "").upper()
        items = []
        for entry in requested:
            code = (
                str(entry.get("code") or entry.get("id") or "") if isinstance(entry, dict) else ""
            )
            if not failing or code.strip().upper() == failing:
                item_errors = errors
            else:
                item_errors = [
                    {
                        "status": False,
                        "code": 709,
                        "message": "Not redeemed: another coupon of the request failed",
                    }
                ]
            items.append({"entityId": code, "result": None, "errors": item_errors})
        return _v2_batch(items)


class CouponV2IsRedeemableApi(BaseApi):
    """`GET /v2/coupon/is_redeemable`."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Are coupons redeemable",
        description=(
            "One customer identifier and `code` (comma list, at most 50). Each code lists every "
            "failed rule in `errors` (extension) and their messages in `appendedErrorMessage`. "
            "Optional `billAmount` and `transactionNumber` check the bill rules too."
        ),
        parameters=_check_parameters(V2_CUSTOMER_PARAMETERS, "billAmount", "transactionNumber"),
        responses={200: s.CouponV2IsRedeemableOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        customer, checks, codes, case = _run_checks(
            self, request, V2_CUSTOMER_PARAMETERS, "billAmount", "transactionNumber"
        )
        return Response(
            {
                "customer": coupon_v2_customer_representation(customer),
                "redemption": [
                    s.v2_check_representation(check, case=case, asked=asked)
                    for check, asked in zip(checks, codes, strict=True)
                ],
                "redemptionStatus": s.v2_status(700, "Coupon isRedeem successful"),
                "warnings": [],
            }
        )


class CouponV2ReactivateApi(BaseApi):
    """`POST /v2/coupon/reactivate`: reverse redemptions, making their coupons usable again."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Reactivate redeemed coupons (reverse redemptions)",
        description=(
            "`redemptionIds[]` (at most 100). Each is reversed on its own; `errors` lists the "
            "ones that could not be (734 not found, 737 already reversed, 749 coupon revoked) "
            "and `success` is false when any failed."
        ),
        request=s.CouponV2ReactivateInputSerializer,
        responses={200: s.CouponV2SuccessOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = s.CouponV2ReactivateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        errors = []
        for redemption_id in dict.fromkeys(serializer.validated_data["redemptionIds"]):
            try:
                coupon_redemption_reverse(
                    org_ids=[self.scope.write_org_id],
                    redemption_id=redemption_id,
                    actor=self.principal.till,
                )
            except DomainError as exc:
                errors.append({**_v2_error(exc), "message": f"{redemption_id}: {exc.message}"})
        return Response({"warnings": [], "errors": errors, "success": not errors})


class CouponV2RevokeApi(BaseApi):
    """`POST /v2/coupon/revoke`: revoke unredeemed coupons of an offer by customer or codes."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS_V2,
        summary="Revoke coupons",
        description=(
            "`couponSeriesId` with either `customer{mobile|email|id|externalId}` (all of that "
            f"customer's unredeemed coupons of the offer, at most "
            f"{MAX_COUPONS_PER_CUSTOMER_REQUEST}: 757 if more) or `couponCodes[]` (at most 50). "
            "Codes that cannot be revoked are listed in `failedToRevoke` (682 not found, 405 "
            "redeemed, 108 common code). 756 without codes or customer, 712 offer ended."
        ),
        request=s.CouponV2RevokeInputSerializer,
        responses={200: s.CouponV2RevokeOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = s.CouponV2RevokeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        series = coupon_series_get(
            org_ids=[self.scope.write_org_id], series_id=data["couponSeriesId"]
        )
        till = self.principal.till
        codes = [code for code in data.get("couponCodes") or [] if code.strip()]
        customer_data = {k: v for k, v in (data.get("customer") or {}).items() if v}
        if codes:
            result = coupons_revoke_codes(series=series, codes=codes, till=till)
        elif customer_data:
            customer = _v2_customer(self, customer_data)
            series_check_revocable(series)
            result = coupons_revoke_for_customers(
                series=series,
                customers=[customer],
                till=till,
                max_coupons=MAX_COUPONS_PER_CUSTOMER_REQUEST,
            )
        else:
            raise RevokeTargetMissingError()
        return Response(
            {
                "entity": {
                    "totalCount": result.asked if codes else result.revoked_count,
                    "failedCount": result.failed_count,
                    "revokedCoupons": [
                        {
                            "couponId": item.coupon_id,
                            "couponCode": item.code,
                            "issuedToUserId": item.customer_id or -1,
                        }
                        for item in result.revoked
                    ],
                    "failedToRevoke": [
                        {
                            "errorCode": failure.code,
                            "errorMessage": failure.message,
                            "couponCodes": failure.codes,
                        }
                        for failure in result.failures
                    ],
                },
                "warnings": [],
                "errors": [],
                "success": True,
            }
        )
