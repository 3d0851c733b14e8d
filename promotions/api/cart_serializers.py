"""Cart promotion engine payloads (CONTRACT.md §5.2): input serializers, the representations of
promotions, evaluations, code records and links, and the schema-only output serializers.

Times are epoch milliseconds with a parallel `*ISO` string; ids are 24-hex strings; decimals in
evaluation answers are strings with 6 places.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from loyalty_site.api.fields import json_number
from promotions.api.serializers import epoch_ms, iso_seconds
from promotions.cart_selectors import (
    CodeLookup,
    RestrictionStatus,
    cart_evaluation_status,
    cart_promotion_status,
)
from promotions.models import (
    CartEvaluation,
    CartEvaluationPromotion,
    CartPromotion,
    CartPromotionEarn,
    CartPromotionSettings,
    PromoCode,
    PromoCodeLink,
)
from promotions.services.cart import CartInput, CartItemInput, CartTenderInput
from promotions.services.cart.evaluation import six

MAX_CART_ITEMS = 500
MAX_TENDERS = 50
MAX_CODES = 20


def data_envelope(data: Any, **extra: Any) -> dict[str, Any]:
    return {"data": data, **extra}


def _moment(prefix: str, moment: datetime.datetime | None) -> dict[str, Any]:
    if moment is None:
        return {prefix: None, f"{prefix}ISO": None}
    return {prefix: epoch_ms(moment), f"{prefix}ISO": iso_seconds(moment)}


def _numbers(value: Any) -> Any:
    """Stored JSON amounts (strings of decimals) back as JSON numbers, as the samples send."""
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    if isinstance(value, str) and value and value.replace(".", "", 1).lstrip("-").isdigit():
        return json_number(Decimal(value))
    return value


_NUMBER_KEYS = {"value", "limit"}


def _condition_numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (_numbers(item) if key in _NUMBER_KEYS else _condition_numbers(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_condition_numbers(item) for item in value]
    return value


# Promotions ----------------------------------------------------------------------------------
def cart_promotion_representation(promotion: CartPromotion) -> dict[str, Any]:
    return {
        "id": promotion.public_id,
        "orgId": promotion.org_id,
        "name": promotion.name,
        "type": promotion.type,
        "messageLabel": promotion.message_label,
        "active": promotion.is_active,
        "status": cart_promotion_status(promotion),
        "priority": promotion.priority,
        "isStackable": promotion.is_stackable,
        **_moment("startDate", promotion.starts_at),
        **_moment("endDate", promotion.ends_at),
        "campaignId": promotion.campaign_id,
        "mode": promotion.mode,
        "isLoyaltyOnly": promotion.is_loyalty_only,
        "customerActivationRequired": promotion.customer_activation_required,
        "maxIssuancePerCustomer": promotion.max_issuance_per_customer,
        "earnLimitedToSpecificAudience": promotion.earn_limited_to_specific_audience,
        "customFieldValues": promotion.custom_field_values,
        "condition": _condition_numbers(promotion.condition),
        "action": _condition_numbers(promotion.action),
        "promotionRestrictions": _condition_numbers(promotion.restrictions),
        "createdBy": promotion.created_by_till_id,
        "lastUpdatedBy": promotion.updated_by_till_id,
        **_moment("createdOn", promotion.created_at),
        **_moment("lastUpdatedOn", promotion.updated_at),
    }


def settings_representation(settings: CartPromotionSettings) -> dict[str, Any]:
    return {
        "orgId": settings.org_id,
        "conditionBasedRankingStrategy": settings.condition_based_ranking_strategy,
        "rewardStrategy": settings.reward_strategy,
        "singlePromotionPerLineitem": settings.single_promotion_per_line_item,
        "promotionRankingStrategy": settings.promotion_ranking_strategy,
        "isActive": settings.is_active,
        "maxCombinedDiscountPercentage": json_number(settings.max_combined_discount_percent),
    }


class CartPromotionInputSerializer(serializers.Serializer):
    """Schema of the create / update body; the service checks every rule of §5.2."""

    name = serializers.CharField(max_length=50)
    type = serializers.ChoiceField(choices=["POS", "CODE", "CUSTOMER", "EARNING", "REWARD"])
    messageLabel = serializers.CharField()
    active = serializers.BooleanField()
    priority = serializers.IntegerField(required=False)
    isStackable = serializers.BooleanField(required=False)
    startDate = serializers.CharField(help_text="Epoch milliseconds (number or string) or ISO.")
    endDate = serializers.CharField(help_text="Epoch milliseconds, in the future.")
    campaignId = serializers.IntegerField(required=False, allow_null=True)
    mode = serializers.ChoiceField(choices=["DISCOUNT", "PAYMENT_VOUCHER"], required=False)
    isLoyaltyOnly = serializers.BooleanField(required=False)
    customerActivationRequired = serializers.BooleanField(required=False)
    maxIssuancePerCustomer = serializers.IntegerField(required=False)
    earnLimitedToSpecificAudience = serializers.BooleanField(required=False)
    customFieldValues = serializers.DictField(required=False)
    condition = serializers.DictField()
    action = serializers.DictField()
    promotionRestrictions = serializers.DictField(
        required=False, help_text='{"Code": [{"kpi": "REDEMPTION", "limit": 1000}], ...}'
    )


class CartPromotionOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    orgId = serializers.IntegerField()
    name = serializers.CharField()
    type = serializers.CharField()
    messageLabel = serializers.CharField()
    active = serializers.BooleanField()
    status = serializers.CharField()
    priority = serializers.IntegerField()
    isStackable = serializers.BooleanField()
    startDate = serializers.IntegerField()
    startDateISO = serializers.CharField()
    endDate = serializers.IntegerField()
    endDateISO = serializers.CharField()
    mode = serializers.CharField()
    condition = serializers.DictField()
    action = serializers.DictField()
    promotionRestrictions = serializers.DictField()


class CartPromotionEnvelopeSerializer(serializers.Serializer):
    data = CartPromotionOutputSerializer()


class CartPromotionListEnvelopeSerializer(serializers.Serializer):
    data = CartPromotionOutputSerializer(many=True)
    errors = serializers.ListField(child=serializers.DictField())
    pagingDto = serializers.DictField(required=False)


class SettingsInputSerializer(serializers.Serializer):
    conditionBasedRankingStrategy = serializers.CharField(required=False)
    rewardStrategy = serializers.CharField(required=False)
    singlePromotionPerLineitem = serializers.BooleanField(required=False)
    promotionRankingStrategy = serializers.CharField(required=False)
    isActive = serializers.BooleanField(required=False)
    maxCombinedDiscountPercentage = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False
    )


class SettingsEnvelopeSerializer(serializers.Serializer):
    data = serializers.DictField()


# Evaluation ----------------------------------------------------------------------------------
class CartItemInputSerializer(serializers.Serializer):
    referenceId = serializers.CharField(required=False, allow_blank=True, max_length=64)
    sku = serializers.CharField(max_length=100)
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=6, min_value=Decimal(0), help_text="The unit price."
    )
    qty = serializers.DecimalField(max_digits=14, decimal_places=6, min_value=Decimal("0.000001"))
    discount = serializers.DecimalField(
        max_digits=18, decimal_places=6, required=False, allow_null=True
    )
    categoryList = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, allow_null=True, max_length=50
    )
    brandList = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, allow_null=True, max_length=50
    )
    tagList = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, allow_null=True, max_length=50
    )
    attributes = serializers.DictField(
        child=serializers.CharField(max_length=255, allow_blank=True),
        required=False,
        allow_null=True,
    )
    appliedPromotions = serializers.ListField(required=False, allow_null=True)


class CartTenderInputSerializer(serializers.Serializer):
    identifier = serializers.CharField(max_length=64)
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=6, min_value=Decimal(0), required=False, default=Decimal(0)
    )


class CartEvaluateInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=18, decimal_places=6, min_value=Decimal(0))
    customerId = serializers.IntegerField(min_value=1)
    cartItems = serializers.ListField(
        child=CartItemInputSerializer(), min_length=1, max_length=MAX_CART_ITEMS
    )
    cartTenders = serializers.ListField(
        child=CartTenderInputSerializer(), required=False, allow_null=True, max_length=MAX_TENDERS
    )
    promoCodes = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_null=True,
        max_length=MAX_CODES,
    )
    promoCode = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_null=True,
        max_length=MAX_CODES,
        help_text="The older sample's name for promoCodes.",
    )
    paymentVouchers = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_null=True,
        max_length=MAX_CODES,
    )
    categoryHierarchySentInPayload = serializers.BooleanField(required=False, default=False)


def cart_input_from(data: dict[str, Any], raw: Any) -> CartInput:
    """The service input for a validated evaluate body (`raw` keeps the tenders' amounts as
    sent, which the answer echoes)."""
    raw_tenders = raw.get("cartTenders") if isinstance(raw, dict) else None
    tenders = []
    for index, tender in enumerate(data.get("cartTenders") or []):
        sent = raw_tenders[index].get("amount") if isinstance(raw_tenders, list) else None
        tenders.append(
            CartTenderInput(
                identifier=tender["identifier"].strip(),
                amount=tender["amount"],
                amount_text=sent if isinstance(sent, str) else "",
            )
        )
    return CartInput(
        amount=data["amount"],
        items=tuple(
            CartItemInput(
                sku=item["sku"].strip(),
                amount=item["amount"],
                qty=item["qty"],
                reference_id=(item.get("referenceId") or "").strip(),
                categories=tuple(item.get("categoryList") or ()),
                brands=tuple(item.get("brandList") or ()),
                tags=tuple(item.get("tagList") or ()),
                attributes=dict(item.get("attributes") or {}),
            )
            for item in data["cartItems"]
        ),
        tenders=tuple(tenders),
        promo_codes=tuple(data.get("promoCodes") or ()) + tuple(data.get("promoCode") or ()),
        payment_vouchers=tuple(data.get("paymentVouchers") or ()),
        category_hierarchy_sent=bool(data.get("categoryHierarchySentInPayload")),
    )


class CartEvaluationOutputSerializer(serializers.Serializer):
    amount = serializers.CharField()
    customerId = serializers.IntegerField()
    evaluationId = serializers.CharField()
    discount = serializers.CharField()
    cartItems = serializers.ListField(child=serializers.DictField())
    appliedPromotions = serializers.ListField(child=serializers.DictField())
    appliedPaymentVouchers = serializers.ListField(child=serializers.DictField())
    promoCodeEvaluationLogs = serializers.ListField(child=serializers.DictField())
    paymentVoucherEvaluationLogs = serializers.ListField(child=serializers.DictField())
    cartTenders = serializers.ListField(child=serializers.DictField())
    categoryHierarchySentInPayload = serializers.BooleanField()


class CartEvaluationEnvelopeSerializer(serializers.Serializer):
    data = CartEvaluationOutputSerializer()


def evaluation_representation(evaluation: CartEvaluation) -> dict[str, Any]:
    result = evaluation.result or {}
    return {
        "evaluationId": evaluation.public_id,
        "orgId": evaluation.org_id,
        "customerId": evaluation.customer_id,
        "status": cart_evaluation_status(evaluation),
        "amount": six(evaluation.amount),
        "discount": six(evaluation.discount),
        "promoCodes": evaluation.promo_codes,
        "appliedPromotions": result.get("appliedPromotions", []),
        "appliedPaymentVouchers": result.get("appliedPaymentVouchers", []),
        "transactionId": evaluation.transaction_id,
        **_moment("createdOn", evaluation.created_at),
        **_moment("expiresOn", evaluation.expires_at),
        **_moment("closedOn", evaluation.closed_at),
    }


class EvaluationRecordSerializer(serializers.Serializer):
    evaluationId = serializers.CharField()
    customerId = serializers.IntegerField()
    status = serializers.CharField()
    amount = serializers.CharField()
    discount = serializers.CharField()
    appliedPromotions = serializers.ListField(child=serializers.DictField())
    transactionId = serializers.IntegerField(allow_null=True)


class EvaluationEnvelopeSerializer(serializers.Serializer):
    data = EvaluationRecordSerializer()


class EvaluationListEnvelopeSerializer(serializers.Serializer):
    data = EvaluationRecordSerializer(many=True)
    errors = serializers.ListField(child=serializers.DictField())


# Codes ---------------------------------------------------------------------------------------
class CodeLinkInputSerializer(serializers.Serializer):
    customerId = serializers.IntegerField(min_value=1)
    code = serializers.CharField(max_length=64)
    mode = serializers.ChoiceField(choices=["DISCOUNT", "PAYMENT_VOUCHER"])


def link_representation(link: PromoCodeLink) -> dict[str, Any]:
    promotion = link.code.promotion
    return {
        "id": link.public_id,
        "orgId": link.org_id,
        "promotionId": promotion.public_id,
        "promotionName": promotion.name,
        "code": link.code.code,
        "customerId": link.customer_id,
        "active": link.is_active,
        **_moment("createdOn", link.created_at),
        **_moment("validTill", promotion.ends_at),
        "mode": link.mode,
        **_moment("redeemableFrom", max(link.created_at, promotion.starts_at)),
    }


class CodeRecordSerializer(serializers.Serializer):
    id = serializers.CharField()
    orgId = serializers.IntegerField()
    promotionId = serializers.CharField()
    promotionName = serializers.CharField()
    code = serializers.CharField()
    customerId = serializers.IntegerField(allow_null=True)
    active = serializers.BooleanField()
    createdOn = serializers.IntegerField()
    validTill = serializers.IntegerField()
    mode = serializers.CharField()
    redeemableFrom = serializers.IntegerField()


class CodeLinkEnvelopeSerializer(serializers.Serializer):
    data = CodeRecordSerializer()


class CodeLookupEnvelopeSerializer(serializers.Serializer):
    data = serializers.ListField(child=serializers.DictField())
    errors = serializers.ListField(child=serializers.DictField())


def _restrictions(statuses: list[RestrictionStatus]) -> dict[str, list[dict[str, Any]]]:
    levels: dict[str, list[dict[str, Any]]] = {}
    for status in statuses:
        item: dict[str, Any] = {
            "kpi": status.kpi,
            "maxLimit": six(status.max_limit),
            "remainingRedemption": six(status.remaining),
            "tempRedemption": six(status.held),
        }
        if status.period_start is not None:
            item["periodStart"] = epoch_ms(status.period_start)
            item["periodEnd"] = epoch_ms(status.period_end)
        levels.setdefault(status.level, []).append(item)
    return levels


def redemption_representation(row: CartEvaluationPromotion) -> dict[str, Any]:
    transaction = row.transaction
    return {
        "evaluationId": row.evaluation.public_id,
        "customerId": row.customer_id,
        "state": row.state,
        "redemptionCount": row.redemptions,
        "discount": six(row.discount),
        "transactionId": row.transaction_id,
        "transactionNumber": transaction.number if transaction else None,
        "transactionAmount": six(transaction.bill_amount) if transaction else None,
        "storeCode": transaction.store.code if transaction else None,
        **_moment("redeemedOn", row.used_at),
    }


def code_record_representation(
    lookup: CodeLookup, statuses: list[RestrictionStatus], *, include_redemptions: bool
) -> dict[str, Any]:
    code: PromoCode | None = lookup.code
    if code is None:
        return {
            "code": lookup.text,
            "apiError": {"code": 4120, "message": f"Promo code {lookup.text} does not exist"},
        }
    promotion = code.promotion
    links = [link for link in code.links.all() if link.is_active]
    record: dict[str, Any] = {
        "id": code.public_id,
        "orgId": code.org_id,
        "promotionId": promotion.public_id,
        "promotionName": promotion.name,
        "code": code.code,
        "customerId": links[0].customer_id if len(links) == 1 else None,
        "linkedCustomerIds": [link.customer_id for link in links],
        "active": code.is_active and cart_promotion_status(promotion) == "LIVE",
        **_moment("createdOn", code.created_at),
        **_moment("validTill", promotion.ends_at),
        "mode": promotion.mode,
        **_moment("redeemableFrom", max(code.created_at, promotion.starts_at)),
        "restrictions": _restrictions(statuses),
    }
    if include_redemptions:
        record["redemptions"] = [redemption_representation(row) for row in lookup.redemptions]
    return record


# Earn ----------------------------------------------------------------------------------------
class EarnInputSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, allow_blank=True, max_length=128)
    customerId = serializers.IntegerField(min_value=1)
    promotionId = serializers.CharField(required=False, allow_blank=True)
    earnedFromType = serializers.ChoiceField(
        choices=["ACTIVITY", "MILESTONE", "REWARD"], required=False, default="ACTIVITY"
    )
    earnedFromId = serializers.CharField(required=False, allow_blank=True, max_length=128)
    eventTime = serializers.IntegerField(required=False, allow_null=True)
    validTill = serializers.IntegerField(required=False, allow_null=True)


def earn_representation(earn: CartPromotionEarn) -> dict[str, Any]:
    return {
        "id": earn.public_id,
        "customerId": earn.customer_id,
        "promotionId": earn.promotion.public_id,
        "earnedFromType": earn.earned_from_type,
        "earnedFromId": earn.earned_from_id,
        "eventTime": epoch_ms(earn.event_time),
        "validTill": epoch_ms(earn.valid_till),
    }


class EarnEnvelopeSerializer(serializers.Serializer):
    data = serializers.DictField()


class CodesAddInputSerializer(serializers.Serializer):
    codes = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=1000
    )
    generate = serializers.IntegerField(
        required=False, min_value=1, max_value=1_000_000, help_text="How many codes to generate."
    )
    length = serializers.IntegerField(required=False, default=8)
    prefix = serializers.CharField(required=False, allow_blank=True, default="")
    alphanumeric = serializers.BooleanField(required=False, default=True)


class CodesAddEnvelopeSerializer(serializers.Serializer):
    data = serializers.DictField()
