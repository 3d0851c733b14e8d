"""Request parsing and response shapes of the transaction APIs (contract §11.3 v2, §11.4 v1.1).

Input serializers only parse (numbers sent as strings, blank ids, v1.1's wrapped lists) and map
the body to the service's BillInput; the business rules (signs, limits, returns) live in
members.services.transactions. Output serializers declare every response field once.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty_site.api.fields import JsonNumberField, json_number
from members.exceptions import TransactionCustomerDetailsMissingError
from members.models import Customer, Transaction, TransactionLineItem, TransactionType
from members.selectors.transactions import UserGroupReference
from members.services.identifiers import identifier_field
from members.services.transactions import (
    BillDetails,
    BillInput,
    CustomerIdentity,
    LineItemInput,
    TransactionResult,
)

AMOUNT_ERROR_CODE = "601"
DELIVERY_STATUSES = ("PLACED", "PROCESSED", "SHIPPED", "DELIVERED", "RETURNED")
OUTLIER_STATUSES = (
    "NORMAL",
    "INTERNAL",
    "INVALID",
    "FRAUD",
    "OUTLIER",
    "TEST",
    "DELETED",
    "FAILED",
    "RETRO",
    "OTHER",
)
CUSTOMER_TYPES = (TransactionType.REGULAR, TransactionType.RETURN)
# Raw award/voucher items of the earning engine (contract §11.3 `rawSideEffects[]`); pipeline
# steps return them next to the regular side effects, and only `rawSideEffects=true` shows them.
RAW_SIDE_EFFECT_TYPES = frozenset({"AWARD", "PE_ISSUE_VOUCHER"})
V11_TYPES = {
    "regular": TransactionType.REGULAR,
    "not_interested": TransactionType.NOT_INTERESTED,
    "return": TransactionType.RETURN,
    "not_interested_return": TransactionType.NOT_INTERESTED_RETURN,
    "mixed": TransactionType.REGULAR,
}
V11_SOURCE_ALIASES = {"ECOMM": "ECOMMERCE", "": "INSTORE"}


# Fields -------------------------------------------------------------------------------------
class OptionalBlankMixin:
    """An optional, nullable field where a blank string means not given (None)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if isinstance(data, str) and not data.strip():
            return True, None
        return super().validate_empty_values(data)


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string"}]})
class AmountField(OptionalBlankMixin, serializers.Field):
    """A number sent as a JSON number or a string (`"200"`, `10.5`); blank means not given."""

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, (int, float, str)):
            raise serializers.ValidationError("must be a number", code=AMOUNT_ERROR_CODE)
        try:
            number = Decimal(str(data).strip())
        except InvalidOperation:
            raise serializers.ValidationError(f"{data!r} is not a number", code=AMOUNT_ERROR_CODE)
        if not number.is_finite():
            raise serializers.ValidationError("must be a finite number", code=AMOUNT_ERROR_CODE)
        return number

    def to_representation(self, value: Any) -> Any:
        return value


class BlankableIntegerField(OptionalBlankMixin, serializers.IntegerField):
    """An optional id that clients send as a number, a numeric string, `""` or null."""


@extend_schema_field(OpenApiTypes.DATETIME)
class BillDateTimeField(OptionalBlankMixin, serializers.Field):
    """ISO 8601 (`2021-09-05T20:01:51+05:30`), `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`. A time
    without an offset is the org's local time (the service makes it aware)."""

    def to_internal_value(self, data: Any) -> datetime.datetime:
        text = str(data).strip()
        try:
            moment = parse_datetime(text)
            if moment is None and (day := parse_date(text)) is not None:
                moment = datetime.datetime.combine(day, datetime.time())
        except ValueError:
            moment = None
        if moment is None:
            raise serializers.ValidationError(
                f"{text!r} is not a date: use ISO 8601, 'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD'"
            )
        return moment

    def to_representation(self, value: Any) -> Any:
        return value


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


# v2 input -----------------------------------------------------------------------------------
class TransactionLineItemV2InputSerializer(serializers.Serializer):
    itemCode = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=""
    )
    qty = AmountField()
    rate = AmountField()
    value = AmountField()
    discount = AmountField()
    amount = AmountField()
    serial = BlankableIntegerField(min_value=0)
    category = serializers.CharField(required=False, allow_blank=True, default="")
    brand = serializers.CharField(required=False, allow_blank=True, default="")
    attributes = serializers.DictField(required=False, default=dict)
    extendedFields = serializers.DictField(required=False, default=dict)
    type = serializers.CharField(required=False, allow_blank=True, default="")
    parentBillNumber = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=""
    )
    returnType = serializers.CharField(required=False, allow_blank=True, default="")


def line_item_from_v2(data: Mapping[str, Any]) -> LineItemInput:
    return LineItemInput(
        item_code=_text(data.get("itemCode")),
        qty=data.get("qty"),
        rate=data.get("rate"),
        value=data.get("value"),
        discount=data.get("discount"),
        amount=data.get("amount"),
        description=_text(data.get("description")),
        serial=data.get("serial"),
        category=_text(data.get("category")),
        brand=_text(data.get("brand")),
        attributes=data.get("attributes") or {},
        extended_fields=data.get("extendedFields") or {},
        type=_text(data.get("type")),
        parent_bill_number=_text(data.get("parentBillNumber")),
        return_type=_text(data.get("returnType")),
    )


class TransactionRedemptionsInputSerializer(serializers.Serializer):
    pointsRedemptions = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )
    couponRedemptions = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )


class TransactionV2InputSerializer(serializers.Serializer):
    """One bill of `POST /v2/transactions` (type, number and amounts are checked by the
    service, so that they fail with the contract's 60x codes)."""

    type = serializers.CharField(required=False, allow_blank=True, default="")
    billNumber = serializers.CharField(required=False, allow_blank=True, default="")
    id = BlankableIntegerField(min_value=1, help_text="Returns: id of the original bill")
    returnType = serializers.CharField(required=False, allow_blank=True, default="")
    billAmount = AmountField()
    grossAmount = AmountField()
    discount = AmountField()
    billingDate = BillDateTimeField()
    purchaseTime = BillDateTimeField()
    note = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")
    notInterestedReason = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=255
    )
    deliveryStatus = serializers.ChoiceField(
        choices=DELIVERY_STATUSES, required=False, allow_blank=True, default=""
    )
    outlierStatus = serializers.ChoiceField(
        choices=OUTLIER_STATUSES, required=False, allow_blank=True, default=""
    )
    currencyCode = serializers.CharField(required=False, allow_blank=True, default="")
    lineItemsV2 = TransactionLineItemV2InputSerializer(many=True, required=False, default=list)
    paymentModes = serializers.ListField(
        child=serializers.DictField(), required=False, default=list
    )
    redemptions = TransactionRedemptionsInputSerializer(required=False)
    extendedFields = serializers.DictField(required=False, default=dict)
    customFields = serializers.DictField(required=False, default=dict)
    userGroup2Id = BlankableIntegerField()
    userGroup2ExternalId = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=""
    )
    userGroup2PrimaryUserId = BlankableIntegerField()
    promotionEvaluationId = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=""
    )
    appliedPromotionIdentifiers = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, default=list
    )
    loyaltyPromotionIdentifiers = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, default=list
    )


class TransactionV2BulkItemInputSerializer(TransactionV2InputSerializer):
    identifierType = serializers.CharField(required=False, allow_blank=True, default="")
    identifierValue = serializers.CharField(required=False, allow_blank=True, default="")
    source = serializers.CharField(required=False, allow_blank=True, default="INSTORE")
    accountId = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")


def bill_from_v2(data: Mapping[str, Any]) -> BillInput:
    """The service input for a validated v2 body. Coupon redemption ids are kept as the bill's
    coupon references (Transaction.coupon_codes), points redemption ids as points_redemption_ids.
    """
    redemptions = data.get("redemptions") or {}
    return BillInput(
        type=_text(data.get("type")).upper(),
        number=_text(data.get("billNumber")),
        bill_amount=data.get("billAmount"),
        lines=[line_item_from_v2(line) for line in data.get("lineItemsV2") or []],
        billed_at=data.get("billingDate"),
        gross_amount=data.get("grossAmount"),
        discount=data.get("discount"),
        return_type=_text(data.get("returnType")),
        original_id=data.get("id"),
        purchased_at=data.get("purchaseTime"),
        details=BillDetails(
            currency_code=_text(data.get("currencyCode")),
            notes=data.get("note") or "",
            delivery_status=data.get("deliveryStatus") or "",
            outlier_status=data.get("outlierStatus") or "",
            payment_modes=list(data.get("paymentModes") or []),
            extended_fields=dict(data.get("extendedFields") or {}),
            custom_fields=dict(data.get("customFields") or {}),
            coupon_codes=list(redemptions.get("couponRedemptions") or []),
            points_redemption_ids=list(redemptions.get("pointsRedemptions") or []),
            promotion_evaluation_id=_text(data.get("promotionEvaluationId")),
            applied_promotion_identifiers=list(data.get("appliedPromotionIdentifiers") or []),
            loyalty_promotion_identifiers=list(data.get("loyaltyPromotionIdentifiers") or []),
        ),
        user_group=UserGroupReference(
            group_id=data.get("userGroup2Id"),
            external_id=_text(data.get("userGroup2ExternalId")) or None,
            primary_user_id=data.get("userGroup2PrimaryUserId"),
        ),
    )


def identity_from_v2(
    *,
    type: str,
    identifier_name: str | None,
    identifier_value: str | None,
    account_id: str | None = None,
) -> CustomerIdentity | None:
    """The customer named by a v2 lookup; None for not-interested bills, which have none.
    Raises TransactionCustomerDetailsMissingError (8084) or InvalidIdentifierError (8013)."""
    if type.strip().upper() not in CUSTOMER_TYPES:
        return None
    name, value = _text(identifier_name), _text(identifier_value)
    if not name or not value:
        raise TransactionCustomerDetailsMissingError(
            "Customer details not sent: give identifierName and identifierValue"
        )
    return CustomerIdentity(
        identifiers={identifier_field(name): value}, account_id=_text(account_id)
    )


class TransactionAddQueryInputSerializer(serializers.Serializer):
    source = serializers.CharField(required=False, allow_blank=True, default="INSTORE")
    identifierName = serializers.CharField(required=False, allow_blank=True, default="")
    identifierValue = serializers.CharField(required=False, allow_blank=True, default="")
    accountId = serializers.CharField(required=False, allow_blank=True, default="")
    rawSideEffects = serializers.BooleanField(required=False, default=False)


# v2 output ----------------------------------------------------------------------------------
def split_side_effects(side_effects: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """(sideEffects, rawSideEffects) of the pipeline's output."""
    regular = [item for item in side_effects if item.get("type") not in RAW_SIDE_EFFECT_TYPES]
    raw = [item for item in side_effects if item.get("type") in RAW_SIDE_EFFECT_TYPES]
    return regular, raw


class TransactionCustomerInfoOutputSerializer(serializers.Serializer):
    firstName = serializers.CharField()
    lastName = serializers.CharField()


class TransactionAddOutputSerializer(serializers.Serializer):
    createdId = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.DictField())
    errors = serializers.ListField(child=serializers.DictField())
    sideEffects = serializers.ListField(child=serializers.DictField())
    rawSideEffects = serializers.ListField(child=serializers.DictField(), required=False)
    loyaltyDetails = serializers.ListField(child=serializers.DictField())
    customerInfo = TransactionCustomerInfoOutputSerializer()


def transaction_add_representation(
    result: TransactionResult, *, raw_side_effects: bool
) -> dict[str, Any]:
    regular, raw = split_side_effects(result.side_effects)
    customer: Customer | None = result.transaction.customer
    body: dict[str, Any] = {
        "createdId": result.transaction.pk,
        "warnings": list(result.warnings),
        "errors": [],
        "sideEffects": regular,
    }
    if raw_side_effects:
        body["rawSideEffects"] = raw
    # Points and tier details belong to the points domain; the members domain reports none.
    body["loyaltyDetails"] = []
    body["customerInfo"] = {
        "firstName": customer.first_name if customer else "",
        "lastName": customer.last_name if customer else "",
    }
    return body


class TransactionBulkItemOutputSerializer(serializers.Serializer):
    entityId = serializers.IntegerField(allow_null=True)
    result = serializers.DictField()
    errors = serializers.ListField(child=serializers.DictField())
    warnings = serializers.ListField(child=serializers.DictField())


class TransactionBulkOutputSerializer(serializers.Serializer):
    response = TransactionBulkItemOutputSerializer(many=True)
    totalCount = serializers.IntegerField()
    failureCount = serializers.IntegerField()


class TransactionLineItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    serial = serializers.IntegerField()
    type = serializers.CharField()
    itemCode = serializers.CharField(source="sku")
    description = serializers.CharField()
    qty = JsonNumberField()
    rate = JsonNumberField()
    value = JsonNumberField()
    discount = JsonNumberField()
    amount = JsonNumberField()
    category = serializers.CharField()
    brand = serializers.CharField()
    attributes = serializers.DictField()
    extendedFields = serializers.DictField(source="extended_fields")
    originalLineId = serializers.IntegerField(source="original_line_id", allow_null=True)


class TransactionRedemptionsOutputSerializer(serializers.Serializer):
    pointsRedemptions = serializers.ListField(
        child=serializers.CharField(), source="points_redemption_ids"
    )
    couponRedemptions = serializers.ListField(child=serializers.CharField(), source="coupon_codes")


class TransactionGetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    orgId = serializers.IntegerField(source="org_id", required=False)
    billNumber = serializers.CharField(source="number")
    type = serializers.CharField()
    returnType = serializers.CharField(source="return_type")
    parentTransactionId = serializers.IntegerField(source="original_id", allow_null=True)
    customerId = serializers.IntegerField(source="customer_id", allow_null=True)
    userGroup2Id = serializers.IntegerField(source="user_group_id", allow_null=True)
    storeCode = serializers.CharField(source="store.code")
    tillCode = serializers.CharField(source="till.code")
    billAmount = JsonNumberField(source="bill_amount")
    grossAmount = JsonNumberField(source="gross_amount", allow_null=True)
    discount = JsonNumberField()
    currencyCode = serializers.CharField(source="currency_code")
    billingDate = serializers.DateTimeField(source="billed_at")
    purchaseTime = serializers.DateTimeField(source="purchased_at", allow_null=True)
    source = serializers.CharField()
    note = serializers.CharField(source="notes")
    deliveryStatus = serializers.CharField(source="delivery_status")
    outlierStatus = serializers.CharField(source="outlier_status")
    paymentModes = serializers.ListField(child=serializers.JSONField(), source="payment_modes")
    extendedFields = serializers.DictField(source="extended_fields")
    customFields = serializers.DictField(source="custom_fields")
    redemptions = TransactionRedemptionsOutputSerializer(source="*")
    promotionEvaluationId = serializers.CharField(source="promotion_evaluation_id")
    appliedPromotionIdentifiers = serializers.ListField(
        child=serializers.CharField(), source="applied_promotion_identifiers"
    )
    loyaltyPromotionIdentifiers = serializers.ListField(
        child=serializers.CharField(), source="loyalty_promotion_identifiers"
    )
    lineItemsV2 = TransactionLineItemOutputSerializer(source="line_items", many=True)
    warnings = serializers.SerializerMethodField()

    def __init__(self, *args: Any, include_org: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not include_org:
            self.fields.pop("orgId")

    def get_warnings(self, obj: Transaction) -> list[dict[str, Any]]:
        return []


# v1.1 input ---------------------------------------------------------------------------------
def v11_unwrap(value: Any, key: str) -> list[Any]:
    """v1.1 wraps lists as `{"line_item": [...]}` and sends one element without the list."""
    if value in (None, "", {}):
        return []
    if isinstance(value, Mapping) and key in value:
        value = value[key]
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, list) else [value]


def v11_name_values(value: Any, key: str) -> dict[str, Any]:
    """`{"field": [{"name": n, "value": v}]}` (or a plain object) as `{n: v}`."""
    if isinstance(value, Mapping) and key not in value:
        return {str(name): item for name, item in value.items()}
    result: dict[str, Any] = {}
    for item in v11_unwrap(value, key):
        if isinstance(item, Mapping) and "name" in item:
            result[str(item["name"])] = item.get("value")
    return result


@extend_schema_field(OpenApiTypes.OBJECT)
class V11WrappedListField(serializers.Field):
    """A v1.1 wrapped list whose items are validated with `child`."""

    def __init__(self, *, key: str, child: type[serializers.Serializer], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        self.key = key
        self.child_class = child
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        errors: dict[int, Any] = {}
        for index, raw in enumerate(v11_unwrap(data, self.key)):
            child = self.child_class(data=raw)
            if child.is_valid():
                items.append(dict(child.validated_data))
            else:
                errors[index] = child.errors
        if errors:
            raise serializers.ValidationError({self.key: errors})
        return items

    def to_representation(self, value: Any) -> Any:
        return value


class TransactionV11LineItemInputSerializer(serializers.Serializer):
    serial = BlankableIntegerField(min_value=0)
    item_code = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=""
    )
    qty = AmountField()
    rate = AmountField()
    value = AmountField()
    discount_value = AmountField()
    discount = AmountField()
    amount = AmountField()
    type = serializers.CharField(required=False, allow_blank=True, default="")
    return_type = serializers.CharField(required=False, allow_blank=True, default="")
    transaction_number = serializers.CharField(required=False, allow_blank=True, default="")
    attributes = serializers.JSONField(required=False, default=dict)
    extended_fields = serializers.JSONField(required=False, default=dict)


class TransactionV11CustomerInputSerializer(serializers.Serializer):
    mobile = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")
    email = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")
    external_id = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=""
    )
    firstname = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")
    lastname = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")


class TransactionV11ItemInputSerializer(serializers.Serializer):
    type = serializers.CharField(required=False, allow_blank=True, default="regular")
    number = serializers.CharField(required=False, allow_blank=True, default="")
    bill_client_id = serializers.CharField(required=False, allow_blank=True, default="")
    amount = AmountField()
    gross_amount = AmountField()
    discount = AmountField()
    billing_time = BillDateTimeField()
    purchase_time = BillDateTimeField()
    return_type = serializers.CharField(required=False, allow_blank=True, default="")
    parent_bill_number = serializers.CharField(required=False, allow_blank=True, default="")
    currency_code = serializers.CharField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")
    delivery_status = serializers.CharField(required=False, allow_blank=True, default="")
    outlier_status = serializers.CharField(required=False, allow_blank=True, default="")
    source = serializers.CharField(required=False, allow_blank=True, default="")
    customer = TransactionV11CustomerInputSerializer(required=False)
    redemptions = serializers.JSONField(required=False, default=dict)
    coupon_redemptions = serializers.JSONField(required=False, default=list)
    extended_fields = serializers.JSONField(required=False, default=dict)
    custom_fields = serializers.JSONField(required=False, default=dict)
    payment_details = serializers.JSONField(required=False, default=dict)
    line_items = V11WrappedListField(key="line_item", child=TransactionV11LineItemInputSerializer)


class TransactionV11RootInputSerializer(serializers.Serializer):
    transaction = serializers.JSONField(
        help_text="One transaction object or a list of them (root.transaction[])"
    )


class TransactionV11BatchInputSerializer(serializers.Serializer):
    root = TransactionV11RootInputSerializer()


def v11_source(value: str | None) -> str:
    text = _text(value).upper()
    return V11_SOURCE_ALIASES.get(text, text)


def _v11_line(data: Mapping[str, Any], *, is_mixed: bool) -> LineItemInput:
    attributes = v11_name_values(data.get("attributes"), "attribute")
    is_return = is_mixed and _text(data.get("type")).lower() == "return"
    discount = data.get("discount_value")
    return LineItemInput(
        item_code=_text(data.get("item_code")),
        qty=data.get("qty"),
        rate=data.get("rate"),
        value=data.get("value"),
        discount=discount if discount is not None else data.get("discount"),
        amount=data.get("amount"),
        description=_text(data.get("description")),
        serial=data.get("serial"),
        attributes=attributes,
        extended_fields=v11_name_values(data.get("extended_fields"), "field"),
        type=TransactionType.RETURN if is_return else TransactionType.REGULAR,
        parent_bill_number=_text(data.get("transaction_number")) if is_return else "",
        return_type=_text(data.get("return_type")) if is_return else "",
    )


def _v11_payment(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return item
    payment = dict(item)
    if "attributes" in payment:
        payment["attributes"] = v11_name_values(payment["attributes"], "attribute")
    return payment


def _v11_coupon_reference(item: Any) -> str:
    if isinstance(item, Mapping):
        return _text(item.get("code") or item.get("id"))
    return _text(item)


def bill_from_v11(data: Mapping[str, Any]) -> BillInput:
    raw_type = _text(data.get("type")).lower() or "regular"
    is_mixed = raw_type == "mixed"
    redemptions = data.get("redemptions") or {}
    points = (
        v11_unwrap(redemptions.get("points_redemptions"), "id")
        if isinstance(redemptions, Mapping)
        else []
    )
    return BillInput(
        type=V11_TYPES.get(raw_type, raw_type),
        number=_text(data.get("number")),
        bill_amount=data.get("amount"),
        lines=[_v11_line(line, is_mixed=is_mixed) for line in data.get("line_items") or []],
        billed_at=data.get("billing_time"),
        gross_amount=data.get("gross_amount"),
        discount=data.get("discount"),
        return_type=_text(data.get("return_type")),
        original_number=_text(data.get("parent_bill_number")) or None,
        purchased_at=data.get("purchase_time"),
        details=BillDetails(
            currency_code=_text(data.get("currency_code")),
            notes=data.get("notes") or "",
            delivery_status=_text(data.get("delivery_status")),
            outlier_status=_text(data.get("outlier_status")),
            payment_modes=[
                _v11_payment(item) for item in v11_unwrap(data.get("payment_details"), "payment")
            ],
            extended_fields=v11_name_values(data.get("extended_fields"), "field"),
            custom_fields=v11_name_values(data.get("custom_fields"), "field"),
            coupon_codes=[
                reference
                for reference in map(
                    _v11_coupon_reference, v11_unwrap(data.get("coupon_redemptions"), "coupon")
                )
                if reference
            ],
            points_redemption_ids=points,
        ),
    )


def identity_from_v11(data: Mapping[str, Any]) -> CustomerIdentity | None:
    customer = data.get("customer") or {}
    identifiers = {
        name: _text(customer.get(name))
        for name in ("mobile", "email", "external_id")
        if _text(customer.get(name))
    }
    if not identifiers:
        return None
    return CustomerIdentity(
        identifiers=identifiers,
        first_name=_text(customer.get("firstname")),
        last_name=_text(customer.get("lastname")),
    )


# v1.1 output --------------------------------------------------------------------------------
def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name).lstrip("_")


def v11_effects(side_effects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """v2-style side effects in v1.1 spelling (`couponCode` -> `coupon_code`); raw ones dropped."""
    regular, _raw = split_side_effects(side_effects)
    return [{_snake(key): value for key, value in item.items()} for item in regular]


def v11_customer_representation(customer: Customer | None) -> dict[str, Any] | None:
    """The customer block of a v1.1 transaction. Points, slab and tier expiry belong to the
    points domain and are left out rather than invented."""
    if customer is None:
        return None
    return {
        "user_id": str(customer.pk),
        "mobile": customer.mobile or "",
        "firstname": customer.first_name,
        "lastname": customer.last_name,
        "email": customer.email or "",
        "external_id": customer.external_id or "",
        "lifetime_purchases": str(json_number(customer.lifetime_purchases)),
        "type": customer.loyalty_type.upper(),
        "source": customer.registration_source.lower(),
    }


def v11_transaction_representation(txn: Transaction, *, bill_client_id: str = "") -> dict:
    item: dict[str, Any] = {
        "id": txn.pk,
        "shipping_source_till_code": "",
        "number": txn.number,
        "bill_client_id": bill_client_id,
        "type": txn.type,
        "delivery_status": txn.delivery_status,
        "parent_bill_number": txn.original.number if txn.original_id else "",
        "outlier_status": txn.outlier_status,
    }
    customer = v11_customer_representation(txn.customer)
    if customer is not None:
        item["customer"] = customer
    return item


def v11_transaction_details(txn: Transaction, tz: datetime.tzinfo) -> dict[str, Any]:
    """A transaction of `GET /v1.1/transaction/get`, with its amounts and line items."""
    item = v11_transaction_representation(txn)
    item.update(
        {
            "return_type": txn.return_type,
            "amount": str(json_number(txn.bill_amount)),
            "gross_amount": (
                str(json_number(txn.gross_amount)) if txn.gross_amount is not None else ""
            ),
            "discount": str(json_number(txn.discount)),
            "billing_time": txn.billed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            "store": txn.store.code,
            "till": txn.till.code,
            "notes": txn.notes,
            "currency_code": txn.currency_code,
            "source": txn.source,
            "line_items": {
                "line_item": [_v11_line_representation(line) for line in txn.line_items.all()]
            },
        }
    )
    return item


def _v11_line_representation(line: TransactionLineItem) -> dict[str, Any]:
    return {
        "serial": str(line.serial),
        "item_code": line.sku,
        "description": line.description,
        "qty": str(json_number(line.qty)),
        "rate": str(json_number(line.rate)),
        "value": str(json_number(line.value)),
        "discount_value": str(json_number(line.discount)),
        "amount": str(json_number(line.amount)),
        "type": line.type,
    }


class TransactionV11ItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True)
    number = serializers.CharField()
    bill_client_id = serializers.CharField(required=False)
    type = serializers.CharField()
    delivery_status = serializers.CharField(required=False)
    parent_bill_number = serializers.CharField(required=False)
    outlier_status = serializers.CharField(required=False)
    customer = serializers.DictField(required=False)
    side_effects = serializers.DictField(required=False)
    source = serializers.CharField(required=False)
    item_status = serializers.DictField()


class TransactionV11ListOutputSerializer(serializers.Serializer):
    transaction = serializers.ListField(child=serializers.DictField())


class TransactionV11ResponseOutputSerializer(serializers.Serializer):
    status = serializers.DictField()
    transactions = TransactionV11ListOutputSerializer()


class TransactionV11BatchOutputSerializer(serializers.Serializer):
    response = TransactionV11ResponseOutputSerializer()
