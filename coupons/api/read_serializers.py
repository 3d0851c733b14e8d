"""Coupon read payloads: v1.1 coupon details, series details and customer coupons (CONTRACT.md
§1.5, §1.6; snake_case, strings) and v2 coupon details and customer coupons (§2.4; camelCase,
typed). The `*_representation` functions build the responses; the serializers document them.

Reversal (§1.6 "Reversal flags", §9 item 9): every coupon carries `isReversed` and
`last_status_change_on` of its redemption whose status changed last, and every listed
redemption carries its own pair (docs/API.md, "Coupon reads and reminders").
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from coupons.api.serializers import iso_utc, series_representation
from coupons.models import (
    Coupon,
    CouponRedemption,
    CouponSeries,
    DiscountType,
    ExpiryStrategy,
    RedemptionEntityType,
)
from coupons.read_selectors import (
    coupon_redemptions_left,
    coupon_reversal_state,
    coupon_shown_redemption,
)
from coupons.selectors import series_redeemed_total
from members.models import Customer, Store

CODE_CASES = ("UPPER", "LOWER", "AS_IT_IS")


def code_in_case(code: str, case: str) -> str:
    """Codes are stored upper case; LOWER lower-cases them, UPPER and AS_IT_IS leave them."""
    return code.lower() if case == "LOWER" else code


def _local(value: datetime.datetime | None, tz: datetime.tzinfo) -> datetime.datetime | None:
    return value.astimezone(tz) if value is not None else None


def _text_time(value: datetime.datetime | None, tz: datetime.tzinfo) -> str:
    """ "YYYY-MM-DD HH:MM:SS" in the org's time zone (the v1.1 samples)."""
    local = _local(value, tz)
    return local.strftime("%Y-%m-%d %H:%M:%S") if local else ""


def _iso_local(value: datetime.datetime | None, tz: datetime.tzinfo) -> str:
    """ISO 8601 with the org's offset ("2013-12-13T16:14:54+05:30")."""
    local = _local(value, tz)
    return local.replace(microsecond=0).isoformat() if local else ""


def _decimal_text(value: Decimal | None) -> str:
    return f"{Decimal(value or 0).normalize():f}"


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _float(value: Decimal | None) -> float:
    return float(value or 0)


def _store_block(store: Store | None) -> dict[str, str]:
    return {"code": store.code if store else "", "name": store.name if store else ""}


def _issuing_store(coupon: Coupon) -> Store | None:
    till = coupon.issued_by_till
    return till.store if till is not None else None


def _redemption_store(redemption: CouponRedemption) -> Store | None:
    if redemption.store is not None:
        return redemption.store
    return redemption.till.store if redemption.till is not None else None


# v1.1 coupon details (§1.5) ------------------------------------------------------------------
def coupon_v11_detail_representation(coupon: Coupon, *, code_case: str) -> dict[str, Any]:
    """One coupon as `GET /v1.1/coupon/get` answers it (without item_status)."""
    series = coupon.series
    tz = series.org.tzinfo
    customer = coupon.customer
    shown = coupon_shown_redemption(coupon)
    state = coupon_reversal_state(coupon)
    redeemer = shown.customer if shown is not None else None
    valid_till = _local(coupon.valid_till, tz)
    return {
        "code": code_in_case(coupon.code, code_case),
        "id": str(coupon.pk),
        "valid_till": valid_till.strftime("%d-%m-%Y") if valid_till else "",
        "issued_on": _text_time(coupon.issued_at, tz),
        "customer": {
            "user_id": str(customer.pk) if customer else "",
            "name": customer.full_name if customer else "",
            "mobile": (customer.mobile or "") if customer else "",
            "email": (customer.email or "") if customer else "",
            "external_id": (customer.external_id or "") if customer else "",
        },
        "pincode": "",
        "issued_store": _store_block(_issuing_store(coupon)),
        "series_id": str(series.pk),
        "is_absolute": _bool_text(series.discount_type == DiscountType.ABSOLUTE),
        "value": _decimal_text(series.discount_value),
        "discount_upto": _decimal_text(series.discount_upto),
        "redemption_info": {
            "redeemed": _bool_text(coupon.redemption_count > 0),
            "id": str(shown.pk) if shown else "",
            "redeemed_on": _text_time(shown.redeemed_at, tz) if shown else "",
            "redeemed_at": shown.till.code if shown and shown.till else "",
        },
        "redeemed_by": {
            "firstname": redeemer.first_name if redeemer else "",
            "lastname": redeemer.last_name if redeemer else "",
            "email": (redeemer.email or "") if redeemer else "",
            "mobile": (redeemer.mobile or "") if redeemer else "",
        },
        "store": _store_block(_redemption_store(shown) if shown else None),
        "transaction": {
            "number": shown.transaction_number if shown else "",
            "id": str(shown.transaction_id or "") if shown else "",
        },
        "isReversed": _bool_text(state.is_reversed),
        "last_status_change_on": _text_time(state.last_status_change_on, tz),
    }


# v1.1 series details -------------------------------------------------------------------------
def _limit_text(value: int | None) -> str:
    return "-1" if value is None else str(value)


def _entities_json(series: CouponSeries, kind: str) -> str | None:
    ids = [
        entry["orgEntityId"]
        for entry in series.redemption_org_entities or []
        if entry.get("redemptionOrgEntityType") == kind
    ]
    return json.dumps(ids).replace(" ", "") if ids else None


def _store_ids_json(series: CouponSeries) -> str:
    return _entities_json(series, RedemptionEntityType.STORE) or "[-1]"


def _products(series: CouponSeries, kind: str) -> str:
    ids = [
        product_id
        for entry in series.product_info or []
        if entry.get("productType") == kind
        for product_id in entry.get("productIds", [])
    ]
    return ",".join(map(str, ids))


def series_v11_representation(series: CouponSeries) -> dict[str, Any]:
    """One offer as `GET /v1.1/coupon/series` answers it (without item_status)."""
    tz = series.org.tzinfo
    range_ = series.redemption_range or {}
    redemption_range = {
        key: [str(value) for value in range_.get(key) or []] or ["-1"]
        for key in ("dom", "dow", "hours")
    }
    valid_till = _local(series.valid_till, tz)
    valid_from = _local(series.redemption_valid_from, tz)
    return {
        "id": str(series.pk),
        "description": series.description,
        "series_type": "UNDEFINED",
        "client_handling_type": series.code_type
        if series.code_type != "RANDOMIZED_GENERIC"
        else "DISC_CODE",
        "discount_code": series.discount_code,
        "valid_till_date": valid_till.date().isoformat() if valid_till else "",
        "valid_days_from_create": (
            str(series.expiry_value) if series.expiry_strategy == ExpiryStrategy.DAYS else "0"
        ),
        "expiry_strategy_type": series.expiry_strategy,
        "expiry_strategy_value": str(series.expiry_value),
        "max_create": _limit_text(series.max_issuals),
        "max_redeem": _limit_text(series.max_redemptions),
        "transferrable": "0",
        "any_user": "1" if series.any_user else "0",
        "same_user_multiple_redeem": "1" if series.same_user_multiple_redeem else "0",
        "allow_referral_existing_users": "1" if series.is_referral_existing_users_allowed else "0",
        "multiple_use": "1" if series.is_multiple_use_allowed else "0",
        "is_validation_required": "0",
        "valid_with_discounted_item": _bool_text(series.is_valid_with_discounted_item),
        "created_by": str(series.created_by_till_id or -1),
        "created": _text_time(series.created_at, tz),
        "last_used": _text_time(series.updated_at, tz),
        "series_code": series.series_code,
        "disable_sms": "0" if series.sends_sms else "1",
        "info": series.info,
        "allow_multiple_vouchers_per_user": "1" if series.allows_multiple_per_customer else "0",
        "do_not_resend_existing_voucher": "0" if series.resends_existing_coupon else "1",
        "mutual_exclusive_series_ids": json.dumps(series.past_issual_series_ids or [-1]).replace(
            " ", ""
        ),
        "store_ids_json": _store_ids_json(series),
        "dvs_enabled": "0",
        # DVS (dynamic vouchers) is not built; the v2 series shows the same placeholder.
        "dvs_expiry_date": _local(series.created_at, tz).date().isoformat(),
        "priority": str(series.priority),
        "short_sms_template": series.short_sms_template,
        "max_vouchers_per_user": _limit_text(series.per_customer_limit),
        "min_days_between_vouchers": _limit_text(series.min_days_between_issuals),
        "max_referrals_per_referee": _limit_text(series.max_referrals_per_referee),
        "discount_on": series.discount_on,
        "discount_type": series.discount_type,
        "discount_value": _decimal_text(series.discount_value),
        "discount_upto": _decimal_text(series.discount_upto),
        "redemption_range": json.dumps(redemption_range, separators=(",", ":")),
        "min_bill_amount": _decimal_text(series.min_bill_amount),
        "max_bill_amount": _decimal_text(series.max_bill_amount),
        "redeem_at_store": _store_ids_json(series),
        "campaign_id": "-1",
        "max_redemptions_in_series_per_user": _limit_text(series.max_redemptions_per_user),
        "min_days_between_redemption": _limit_text(series.min_days_between_redemptions),
        "redemption_valid_from": valid_from.date().isoformat() if valid_from else "",
        "redemption_valid_after_days": str(series.redemption_valid_after_days),
        "source_org_id": "-1",
        "issue_to_loyalty": "1" if series.issue_to_loyalty else "0",
        "redeem_store_type": "redeemable_stores",
        "old_flow_enabled": "0",
        "pre_redeem_event_required": "0",
        "coupons": {
            "issued": str(series.num_issued),
            "redeemed": str(series_redeemed_total(series)),
        },
        "offline_redemption_enabled": "false",
        "valid_redemption_org_entities": {
            "concepts": _entities_json(series, RedemptionEntityType.CONCEPT),
            "zones": _entities_json(series, RedemptionEntityType.ZONE),
            "stores": _entities_json(series, RedemptionEntityType.STORE),
            "tills": _entities_json(series, RedemptionEntityType.TILL),
        },
        "products": _products(series, "SKU"),
        "brands": _products(series, "BRAND"),
        "categories": _products(series, "CATEGORY"),
    }


# v1.1 customer coupons (§1.6) ------------------------------------------------------------------
def _redemption_v11(redemption: CouponRedemption, tz: datetime.tzinfo) -> dict[str, Any]:
    return {
        "id": str(redemption.pk),
        "date": _text_time(redemption.redeemed_at, tz),
        "transaction_number": redemption.transaction_number,
        "redeemed_at": _store_block(_redemption_store(redemption)),
        "isReversed": _bool_text(not redemption.is_active),
        "last_status_change_on": _text_time(redemption.last_status_change_on, tz),
    }


def coupon_v11_listed_representation(coupon: Coupon, *, code_case: str) -> dict[str, Any]:
    """One coupon in `GET /v1.1/customer/coupons`."""
    series = coupon.series
    tz = series.org.tzinfo
    state = coupon_reversal_state(coupon)
    valid_till = _local(coupon.valid_till, tz)
    redemptions = list(coupon.redemptions.all())
    shown = coupon_shown_redemption(coupon)
    return {
        "id": str(coupon.pk),
        "series_id": str(series.pk),
        "redemption_count": str(coupon.redemption_count),
        "created_date": _iso_local(coupon.issued_at, tz),
        "valid_till": valid_till.date().isoformat() if valid_till else "",
        "code": code_in_case(coupon.code, code_case),
        "transaction_number": shown.transaction_number if shown else "",
        "isReversed": _bool_text(state.is_reversed),
        "last_status_change_on": _text_time(state.last_status_change_on, tz),
        "redemptions": {"redemption": [_redemption_v11(row, tz) for row in redemptions]},
    }


def customer_v11_representation(customer: Customer) -> dict[str, str]:
    return {
        "firstname": customer.first_name,
        "lastname": customer.last_name,
        "email": customer.email or "",
        "mobile": customer.mobile or "",
        "external_id": customer.external_id or "",
        "id": str(customer.pk),
    }


# v2 coupon details (GET /v2/coupon) ------------------------------------------------------------
def _coupon_v2_base(coupon: Coupon, *, code_case: str) -> dict[str, Any]:
    series = coupon.series
    state = coupon_reversal_state(coupon)
    return {
        "code": code_in_case(coupon.code, code_case),
        "seriesId": series.pk,
        "description": series.description,
        "discountCode": series.discount_code or "NO_VALUE",
        "validTill": iso_utc(coupon.valid_till),
        "discountType": series.discount_type,
        "discountValue": _float(series.discount_value),
        "discountUpto": _float(series.discount_upto),
        "discountOn": series.discount_on,
        "detailedInfo": series.info or series.description,
        "id": coupon.pk,
        "issuedTo": coupon.customer_id,
        "redemptionCount": coupon.redemption_count,
        "isRedeemed": coupon.redemption_count > 0,
        "isRevoked": coupon.revoked_at is not None,
        "isReversed": state.is_reversed,
        "last_status_change_on": iso_utc(state.last_status_change_on),
    }


def coupon_v2_detail_representation(coupon: Coupon, *, code_case: str) -> dict[str, Any]:
    """One coupon in `GET /v2/coupon` (`data[]`)."""
    return _coupon_v2_base(coupon, code_case=code_case)


# v2 customer coupons (§2.4) --------------------------------------------------------------------
def _redemption_v2(redemption: CouponRedemption) -> dict[str, Any]:
    return {
        "id": redemption.pk,
        "date": iso_utc(redemption.redeemed_at),
        "transactionNumber": redemption.transaction_number,
        "redeemedAt": _store_block(_redemption_store(redemption)),
        "isReversed": not redemption.is_active,
        "last_status_change_on": iso_utc(redemption.last_status_change_on),
    }


def _redemption_lists(coupon: Coupon, *, include_reversed: bool) -> tuple[list, list]:
    rows = list(coupon.redemptions.all())
    active = [_redemption_v2(row) for row in rows if row.is_active]
    reversed_ = [_redemption_v2(row) for row in rows if not row.is_active]
    return active, (reversed_ if include_reversed else [])


def coupon_v2_listed_representation(
    coupon: Coupon, *, code_case: str, include_reversed: bool, now: datetime.datetime
) -> dict[str, Any]:
    """One coupon in `GET /v2/customers/coupons` (`customers[].coupons[]`)."""
    series = coupon.series
    state = coupon_reversal_state(coupon)
    active, reversed_ = _redemption_lists(coupon, include_reversed=include_reversed)
    shown = coupon_shown_redemption(coupon)
    return {
        "code": code_in_case(coupon.code, code_case),
        "seriesId": series.pk,
        "description": series.description,
        "validTill": iso_utc(coupon.valid_till),
        "discountType": series.discount_type,
        "discountValue": _float(series.discount_value),
        "discountUpto": _float(series.discount_upto),
        "redemptionCount": coupon.redemption_count,
        "redemptionsLeft": coupon_redemptions_left(coupon, now=now),
        "id": coupon.pk,
        "createdDate": iso_utc(coupon.issued_at),
        "transactionNumber": shown.transaction_number if shown else "",
        "issuedAt": _store_block(_issuing_store(coupon)),
        "customProperty": [
            {"name": str(name), "value": str(value)}
            for name, value in (series.custom_properties or {}).items()
        ],
        "redemptions": active,
        "reversedRedemptions": reversed_,
        "isReversed": state.is_reversed,
        "last_status_change_on": iso_utc(state.last_status_change_on),
    }


def customer_v2_listed_representation(customer: Customer) -> dict[str, Any]:
    return {
        "firstname": customer.first_name,
        "lastname": customer.last_name,
        "email": customer.email or "",
        "mobile": customer.mobile or "",
        "id": customer.pk,
        "externalId": customer.external_id or "",
    }


def _org_entity_lists(series: CouponSeries) -> dict[str, list[int]]:
    names = {
        RedemptionEntityType.CONCEPT: "concepts",
        RedemptionEntityType.ZONE: "zones",
        RedemptionEntityType.STORE: "stores",
        RedemptionEntityType.TILL: "tills",
    }
    lists: dict[str, list[int]] = {name: [] for name in names.values()}
    for entry in series.redemption_org_entities or []:
        name = names.get(entry.get("redemptionOrgEntityType"))
        if name:
            lists[name].append(entry["orgEntityId"])
    return lists


def series_v2_detailed_representation(series: CouponSeries) -> dict[str, Any]:
    """The offer inside a detailed customer coupon: the series object plus
    `validRedemptionOrgEntityDetails`."""
    data = series_representation(series)
    data["validRedemptionOrgEntityDetails"] = _org_entity_lists(series)
    return data


def _active_from(coupon: Coupon) -> datetime.datetime | None:
    """When redemption of the coupon starts: the local start of the issue day plus the offer's
    "days after issual", or the offer's redemption start when later."""
    if coupon.issued_at is None:
        return None
    series = coupon.series
    tz = series.org.tzinfo
    day = coupon.issued_at.astimezone(tz).date() + datetime.timedelta(
        days=series.redemption_valid_after_days
    )
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    if series.redemption_valid_from is not None and series.redemption_valid_from > start:
        return series.redemption_valid_from
    return start


def coupon_v2_detailed_representation(
    coupon: Coupon,
    *,
    code_case: str,
    series_data: dict[str, Any],
    now: datetime.datetime,
) -> dict[str, Any]:
    """One coupon in `GET /v2/customers/{id}/coupons` (`entity[]`)."""
    series = coupon.series
    store = _issuing_store(coupon)
    state = coupon_reversal_state(coupon)
    active, reversed_ = _redemption_lists(coupon, include_reversed=True)
    code = code_in_case(coupon.code, code_case)
    return {
        "id": coupon.pk,
        "seriesId": series.pk,
        "series": series_data,
        "code": code,
        "description": series.description,
        "createdDate": iso_utc(coupon.issued_at),
        "validTill": iso_utc(coupon.valid_till),
        "isRedeemed": coupon.redemption_count > 0,
        "issuedTo": coupon.customer_id,
        "issuedBy": coupon.issued_by_till_id or -1,
        "orgId": coupon.org_id,
        "refId": 0,
        "issuedAt": {
            "id": store.pk if store else -1,
            "code": store.code if store else "",
            "description": store.name if store else "",
            "name": store.name if store else "",
            "type": "STORE",
            "adminType": "GENERAL",
            "isOrgUnit": False,
        },
        "couponDiscountType": series.discount_type,
        "issuedOn": iso_utc(coupon.issued_at),
        "activeFrom": iso_utc(_active_from(coupon)),
        "redemptionsLeft": coupon_redemptions_left(coupon, now=now),
        "redemptionInfo": active,
        "reversedRedemptionInfo": reversed_,
        "discountValue": _float(series.discount_value),
        "discountUpto": _float(series.discount_upto),
        "redeemed": coupon.redemption_count > 0,
        "isRevoked": coupon.revoked_at is not None,
        "seriesName": series.description,
        "trimmedCode": code,
        "isReversed": state.is_reversed,
        "last_status_change_on": iso_utc(state.last_status_change_on),
    }


# Documentation serializers ---------------------------------------------------------------------
class CouponReadV11StatusOutputSerializer(serializers.Serializer):
    success = serializers.CharField()
    code = serializers.IntegerField()
    message = serializers.CharField()


class CouponReadV11ItemStatusOutputSerializer(serializers.Serializer):
    success = serializers.CharField()
    code = serializers.IntegerField()
    message = serializers.CharField()


class CouponReadCodeNameOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CouponV11DetailOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    id = serializers.CharField()
    valid_till = serializers.CharField(help_text="dd-mm-yyyy, the org's time zone.")
    issued_on = serializers.CharField(help_text="YYYY-MM-DD HH:MM:SS, the org's time zone.")
    customer = serializers.DictField(child=serializers.CharField())
    pincode = serializers.CharField()
    issued_store = CouponReadCodeNameOutputSerializer()
    series_id = serializers.CharField()
    is_absolute = serializers.CharField()
    value = serializers.CharField()
    discount_upto = serializers.CharField()
    redemption_info = serializers.DictField(child=serializers.CharField())
    redeemed_by = serializers.DictField(child=serializers.CharField())
    store = CouponReadCodeNameOutputSerializer()
    transaction = serializers.DictField(child=serializers.CharField())
    isReversed = serializers.CharField(help_text='"true" when the last status change reversed.')
    last_status_change_on = serializers.CharField()
    item_status = CouponReadV11ItemStatusOutputSerializer()


class CouponV11DetailListOutputSerializer(serializers.Serializer):
    coupon = CouponV11DetailOutputSerializer(
        help_text="One object for one coupon asked, else a list in the order asked."
    )


class CouponV11DetailBodyOutputSerializer(serializers.Serializer):
    status = CouponReadV11StatusOutputSerializer()
    coupons = CouponV11DetailListOutputSerializer()


class CouponV11DetailResponseSerializer(serializers.Serializer):
    response = CouponV11DetailBodyOutputSerializer()


class SeriesV11ItemsOutputSerializer(serializers.Serializer):
    item = serializers.DictField(
        help_text="One offer object (with item_status and valid_redemption_org_entities), or a "
        "list of them when several are answered."
    )


class SeriesV11ListOutputSerializer(serializers.Serializer):
    items = SeriesV11ItemsOutputSerializer()


class SeriesV11BodyOutputSerializer(serializers.Serializer):
    status = CouponReadV11StatusOutputSerializer()
    series = SeriesV11ListOutputSerializer()


class SeriesV11ResponseSerializer(serializers.Serializer):
    response = SeriesV11BodyOutputSerializer()


class CouponReadV11PaginationOutputSerializer(serializers.Serializer):
    limit = serializers.CharField()
    offset = serializers.CharField()
    total = serializers.IntegerField()


class CustomerCouponsV11CouponsOutputSerializer(serializers.Serializer):
    coupon = serializers.ListField(child=serializers.DictField())


class CustomerCouponsV11CustomerOutputSerializer(serializers.Serializer):
    firstname = serializers.CharField()
    lastname = serializers.CharField()
    email = serializers.CharField()
    mobile = serializers.CharField()
    external_id = serializers.CharField()
    id = serializers.CharField()
    coupons = CustomerCouponsV11CouponsOutputSerializer()
    item_status = CouponReadV11ItemStatusOutputSerializer()


class CustomerCouponsV11CustomersOutputSerializer(serializers.Serializer):
    customer = CustomerCouponsV11CustomerOutputSerializer()


class CustomerCouponsV11BodyOutputSerializer(serializers.Serializer):
    pagination = CouponReadV11PaginationOutputSerializer()
    status = CouponReadV11StatusOutputSerializer()
    customers = CustomerCouponsV11CustomersOutputSerializer()


class CustomerCouponsV11ResponseSerializer(serializers.Serializer):
    response = CustomerCouponsV11BodyOutputSerializer()


class CouponV2DetailOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    seriesId = serializers.IntegerField()
    description = serializers.CharField()
    discountCode = serializers.CharField()
    validTill = serializers.CharField(allow_null=True)
    discountType = serializers.CharField()
    discountValue = serializers.FloatField()
    discountUpto = serializers.FloatField()
    discountOn = serializers.CharField()
    detailedInfo = serializers.CharField()
    id = serializers.IntegerField()
    issuedTo = serializers.IntegerField(allow_null=True)
    redemptionCount = serializers.IntegerField()
    isRedeemed = serializers.BooleanField()
    isRevoked = serializers.BooleanField()
    isReversed = serializers.BooleanField()
    last_status_change_on = serializers.CharField(allow_null=True)


class CouponReadV2MessageOutputSerializer(serializers.Serializer):
    status = serializers.BooleanField()
    code = serializers.IntegerField()
    message = serializers.CharField()


class CouponV2DetailResponseSerializer(serializers.Serializer):
    data = CouponV2DetailOutputSerializer(many=True)
    warnings = CouponReadV2MessageOutputSerializer(many=True)
    errors = CouponReadV2MessageOutputSerializer(many=True)


class CouponReadRedemptionV2OutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.CharField()
    transactionNumber = serializers.CharField()
    redeemedAt = CouponReadCodeNameOutputSerializer()
    isReversed = serializers.BooleanField()
    last_status_change_on = serializers.CharField()


class CustomerCouponV2OutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    seriesId = serializers.IntegerField()
    description = serializers.CharField()
    validTill = serializers.CharField(allow_null=True)
    discountType = serializers.CharField()
    discountValue = serializers.FloatField()
    discountUpto = serializers.FloatField()
    redemptionCount = serializers.IntegerField()
    redemptionsLeft = serializers.IntegerField(help_text="-1: no limit.")
    id = serializers.IntegerField()
    createdDate = serializers.CharField()
    transactionNumber = serializers.CharField()
    issuedAt = CouponReadCodeNameOutputSerializer()
    customProperty = serializers.ListField(child=serializers.DictField())
    redemptions = CouponReadRedemptionV2OutputSerializer(many=True)
    reversedRedemptions = CouponReadRedemptionV2OutputSerializer(
        many=True, help_text="Filled with include_reversed_redemptions=true."
    )
    isReversed = serializers.BooleanField()
    last_status_change_on = serializers.CharField(allow_null=True)


class CustomerV2CouponsOutputSerializer(serializers.Serializer):
    firstname = serializers.CharField()
    lastname = serializers.CharField()
    email = serializers.CharField()
    mobile = serializers.CharField()
    id = serializers.IntegerField()
    externalId = serializers.CharField()
    coupons = CustomerCouponV2OutputSerializer(many=True)


class CouponReadV2PaginationOutputSerializer(serializers.Serializer):
    limit = serializers.CharField()
    offset = serializers.CharField()
    total = serializers.IntegerField()


class CustomerCouponsV2EntityOutputSerializer(serializers.Serializer):
    pagination = CouponReadV2PaginationOutputSerializer()
    customers = CustomerV2CouponsOutputSerializer(many=True)


class CustomerCouponsV2ResponseSerializer(serializers.Serializer):
    entity = CustomerCouponsV2EntityOutputSerializer()
    warnings = serializers.ListField(child=serializers.DictField())
    errors = serializers.ListField(child=serializers.DictField())
    success = serializers.BooleanField()


class CustomerCouponDetailedV2OutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    seriesId = serializers.IntegerField()
    series = serializers.DictField(
        help_text="The series object plus validRedemptionOrgEntity"
        "Details{concepts, zones, stores, tills}."
    )
    code = serializers.CharField()
    description = serializers.CharField()
    createdDate = serializers.CharField()
    validTill = serializers.CharField(allow_null=True)
    isRedeemed = serializers.BooleanField()
    issuedTo = serializers.IntegerField()
    issuedBy = serializers.IntegerField(help_text="Id of the issuing till, -1 if none.")
    orgId = serializers.IntegerField()
    refId = serializers.IntegerField()
    issuedAt = serializers.DictField()
    couponDiscountType = serializers.CharField()
    issuedOn = serializers.CharField()
    activeFrom = serializers.CharField(allow_null=True)
    redemptionsLeft = serializers.IntegerField()
    redemptionInfo = CouponReadRedemptionV2OutputSerializer(many=True)
    reversedRedemptionInfo = CouponReadRedemptionV2OutputSerializer(many=True)
    discountValue = serializers.FloatField()
    discountUpto = serializers.FloatField()
    redeemed = serializers.BooleanField()
    isRevoked = serializers.BooleanField()
    seriesName = serializers.CharField()
    trimmedCode = serializers.CharField()
    isReversed = serializers.BooleanField()
    last_status_change_on = serializers.CharField(allow_null=True)


class CustomerCouponsDetailedV2ResponseSerializer(serializers.Serializer):
    entity = CustomerCouponDetailedV2OutputSerializer(many=True)
    warnings = serializers.ListField(child=serializers.DictField())
    errors = serializers.ListField(child=serializers.DictField())
    success = serializers.BooleanField()
