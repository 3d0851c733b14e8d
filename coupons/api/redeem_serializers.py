"""Redeem, is-redeemable, reactivate and revoke payloads: v1.1 (CONTRACT.md §1.3, §1.4;
snake_case, strings) and v2 (§1.8, §2.2, §2.3; camelCase, typed numbers)."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rest_framework import serializers

from coupons.api.issue_serializers import (
    CouponV2CustomerInputSerializer,
    _decimal_text,
    _float,
    _local_date,
)
from coupons.exceptions import CouponBillAmountError, RedemptionTimeNotAllowedError
from coupons.models import Coupon, CouponRedemption, CouponSeries, DiscountType
from coupons.services.redemption import CouponCheck
from members.models import Customer, Org

MAX_REDEEM_BATCH = 100
MAX_CHECK_CODES = 50
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
CODE_CASES = ("LOWER", "UPPER", "AS_IT_IS")


def bill_amount_parse(raw: Any) -> Decimal | None:
    """A bill amount as sent (string or number); None when absent. Raises 733."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise CouponBillAmountError("The bill amount must be a number")
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise CouponBillAmountError(f"The bill amount {raw!r} is not a number") from exc
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e13"):
        raise CouponBillAmountError(f"The bill amount {raw!r} is not a valid amount")
    return amount.quantize(Decimal("0.01"))


def redemption_time_parse(raw: Any, org: Org) -> datetime.datetime | None:
    """`YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS[±hh:mm]` or `YYYY-MM-DD` (org time zone when
    no offset); None when absent. A time in the future is refused (739)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip()
    try:
        if len(text) == 10:
            value = datetime.datetime.combine(datetime.date.fromisoformat(text), datetime.time.min)
        else:
            value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RedemptionTimeNotAllowedError(
            f"redemptionTime {text!r} is not YYYY-MM-DD HH:MM:SS"
        ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=org.tzinfo)
    if value > datetime.datetime.now(datetime.UTC) + FUTURE_TOLERANCE:
        raise RedemptionTimeNotAllowedError("The redemption time is in the future")
    return value


def code_in_case(code: str, case: str, asked: str | None = None) -> str:
    if case == "LOWER":
        return code.lower()
    if case == "AS_IT_IS" and asked:
        return asked
    return code.upper()


def _is_absolute(series: CouponSeries) -> bool:
    return series.discount_type == DiscountType.ABSOLUTE


# v1.1 ----------------------------------------------------------------------------------------
class CouponV11RedeemRootInputSerializer(serializers.Serializer):
    coupon = serializers.JSONField(help_text="A list of coupons to redeem (one object accepted).")


class CouponV11RedeemInputSerializer(serializers.Serializer):
    root = CouponV11RedeemRootInputSerializer()

    def items(self) -> list[Any]:
        coupons = self.validated_data["root"]["coupon"]
        return coupons if isinstance(coupons, list) else [coupons]


def v11_customer(customer: Customer) -> dict[str, Any]:
    return {
        "mobile": customer.mobile or "",
        "email": customer.email or "",
        "external_id": customer.external_id or "",
    }


def v11_series_info(series: CouponSeries) -> dict[str, Any]:
    return {
        "description": series.description,
        "discount_code": series.discount_code,
        "valid_till": _local_date(series.valid_till, series),
        "discount_type": series.discount_type,
        "discount_value": _decimal_text(series.discount_value),
        "detailed_info": series.info or series.description,
    }


def v11_redemption_representation(redemption: CouponRedemption, coupon: Coupon) -> dict[str, Any]:
    series = coupon.series
    return {
        "customer": v11_customer(redemption.customer),
        "redemptionId": str(redemption.pk),
        "code": coupon.code,
        "discount_code": series.discount_code,
        "series_code": str(series.pk),
        "series_info": [],
        "is_absolute": "true" if _is_absolute(series) else "false",
        "coupon_value": _decimal_text(redemption.coupon_value),
        "transaction": {
            "amount": f"{redemption.bill_amount:.2f}" if redemption.bill_amount is not None else "",
            "number": redemption.transaction_number,
        },
        "side_effects": [],
    }


def v11_check_representation(
    check: CouponCheck, customer: Customer, *, details: str, case: str, asked: str
) -> dict[str, Any]:
    coupon = check.coupon
    body: dict[str, Any] = {
        "mobile": customer.mobile or "",
        "code": code_in_case(check.code, case, asked),
        "is_redeemable": "true" if check.is_redeemable else "false",
        "redemptions_left": check.redemptions_left if coupon is not None else 0,
        "no_of_redemptions_by_user": check.customer_redemptions,
        "coupon_value": _decimal_text(coupon.series.discount_value) if coupon else "0",
        "customer": v11_customer(customer),
    }
    if check.is_redeemable:
        status = {
            "success": "true",
            "status": "true",
            "code": 700,
            "message": "Coupon isRedeem successful",
        }
    else:
        first = check.failures[0]
        status = {
            "success": "false",
            "status": "false",
            "code": first.code,
            "message": first.message,
        }
        body["failed_rules"] = [
            {"code": failure.code, "message": failure.message} for failure in check.failures
        ]
    body["item_status"] = status
    if details in ("true", "extended") and coupon is not None:
        body["series_info"] = v11_series_info(coupon.series)
    return body


# v2 ------------------------------------------------------------------------------------------
class CouponV2RedemptionRequestInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64, required=False, allow_blank=True)
    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("code") or "").strip() and attrs.get("id") is None:
            raise serializers.ValidationError("Give the coupon code")
        return attrs


class CouponV2RedeemInputSerializer(serializers.Serializer):
    redemptionRequestList = CouponV2RedemptionRequestInputSerializer(
        many=True, allow_empty=False, max_length=MAX_REDEEM_BATCH
    )
    user = CouponV2CustomerInputSerializer(help_text="Any one identifier of the customer.")
    transactionNumber = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    billAmount = serializers.JSONField(help_text="A string in the samples; a number is accepted.")
    redemptionTime = serializers.CharField(required=False, allow_blank=True)


def v2_status(code: int = 700, message: str = "Coupon processing successful") -> dict[str, Any]:
    return {"status": code == 700, "message": message, "code": code}


def v2_redemption_representation(redemption: CouponRedemption, coupon: Coupon) -> dict[str, Any]:
    series = coupon.series
    status = v2_status()
    return {
        "id": redemption.pk,
        "currencyInput": bool(series.currency),
        "localToBaseCurrencyExchangeRate": 0,
        "warnings": [],
        "appendedErrorMessage": "",
        "code": coupon.code,
        "discountCode": series.discount_code or "NO_VALUE",
        "seriesCode": series.pk,
        "isAbsolute": _is_absolute(series),
        "couponValue": _float(redemption.coupon_value),
        "redemptionStatus": {
            "statusCode": status,
            "warnings": [],
            "warningsAsStatusCode": [],
            "message": status["message"],
            "code": 700,
            "success": True,
        },
        "discountType": series.discount_type,
        "discountValue": _float(series.discount_value),
        "discountUpto": _float(series.discount_upto),
    }


def v2_check_representation(check: CouponCheck, *, case: str, asked: str) -> dict[str, Any]:
    coupon = check.coupon
    body = {
        "appendedErrorMessage": "; ".join(failure.message for failure in check.failures),
        "code": code_in_case(check.code, case, asked),
        "isAbsolute": _is_absolute(coupon.series) if coupon else False,
        "isRedeemable": check.is_redeemable,
        "numberOfRedemptionsByUser": check.customer_redemptions,
        "redemptionsLeft": check.redemptions_left if coupon is not None else 0,
        "warnings": [],
        "errors": [
            {"status": False, "code": failure.code, "message": failure.message}
            for failure in check.failures
        ],
    }
    return body


class CouponV2ReactivateInputSerializer(serializers.Serializer):
    redemptionIds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=MAX_REDEEM_BATCH,
    )


class CouponV2RevokeInputSerializer(serializers.Serializer):
    couponSeriesId = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    customer = CouponV2CustomerInputSerializer(required=False)
    couponCodes = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, allow_empty=True
    )


# Output documentation (OpenAPI) ------------------------------------------------------------
class CouponV2StatusOutputSerializer(serializers.Serializer):
    status = serializers.BooleanField()
    message = serializers.CharField()
    code = serializers.IntegerField()


class CouponV2RedemptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The redemption id (for reactivate).")
    code = serializers.CharField()
    discountCode = serializers.CharField()
    seriesCode = serializers.IntegerField()
    isAbsolute = serializers.BooleanField()
    couponValue = serializers.FloatField(help_text="In the till's store currency.")
    discountType = serializers.CharField()
    discountValue = serializers.FloatField()
    discountUpto = serializers.FloatField()
    redemptionStatus = serializers.DictField()


class CouponV2RedeemOutputSerializer(serializers.Serializer):
    redemption = CouponV2RedemptionOutputSerializer(many=True)
    redemptionStatus = CouponV2StatusOutputSerializer()
    customer = serializers.DictField()
    warnings = serializers.ListField(child=serializers.DictField())


class CouponV2CheckOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    isRedeemable = serializers.BooleanField()
    isAbsolute = serializers.BooleanField()
    numberOfRedemptionsByUser = serializers.IntegerField()
    redemptionsLeft = serializers.IntegerField(help_text="-1: no limit.")
    appendedErrorMessage = serializers.CharField(help_text="Every failed rule's message.")
    errors = serializers.ListField(
        child=serializers.DictField(), help_text="Every failed rule (extension)."
    )
    warnings = serializers.ListField(child=serializers.DictField())


class CouponV2IsRedeemableOutputSerializer(serializers.Serializer):
    customer = serializers.DictField()
    redemption = CouponV2CheckOutputSerializer(many=True)
    redemptionStatus = CouponV2StatusOutputSerializer()
    warnings = serializers.ListField(child=serializers.DictField())


class CouponV2SuccessOutputSerializer(serializers.Serializer):
    warnings = serializers.ListField(child=serializers.DictField())
    errors = serializers.ListField(child=serializers.DictField())
    success = serializers.BooleanField()


class CouponV2RevokeOutputSerializer(CouponV2SuccessOutputSerializer):
    entity = serializers.DictField(
        help_text="{totalCount, failedCount, revokedCoupons[], failedToRevoke[]}"
    )


class CouponV11RedeemOutputSerializer(serializers.Serializer):
    status = serializers.DictField()
    coupons = serializers.DictField(help_text="{coupon: one object, or a list for several}")


class CouponV11IsRedeemableOutputSerializer(serializers.Serializer):
    response = serializers.DictField(help_text="{status, coupons: {redeemable: object or list}}")
