"""Request parsing and response shapes of the points operation APIs (CONTRACT.md §11.6-§11.9).

Input serializers validate shapes only; business rules (amounts, codes, balances) are checked by
the ledger services so that they answer with the contract's codes. Output serializers render the
dicts built by the `*_representation` helpers, so every response field is declared once (and in
the OpenAPI schema).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from ledger.models import LedgerEvent, PointsRedemption, PointsRequest
from loyalty_site.api.fields import JsonNumberField, NameValueListField
from members.models import Customer, Till, UserGroup, UserGroupMembership

ADJUSTMENT_CATEGORIES = {
    "REGULAR": "REGULAR",
    "PROMISED": "PROMISED",
    "EXTERNAL_TRIGGER_BASED": "TRIGGER_BASED",
}
MAX_BILL_ID = 10**19 - 1  # billId: at most 19 digits
MAX_POINTS = Decimal(10) ** 15


# Values ---------------------------------------------------------------------------------------
def points_text(value: Decimal | int | None) -> str:
    """Points as the v1.1 samples print them: `"100"`, `"10.5"`."""
    if value is None:
        return ""
    number = Decimal(value)
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    return f"{number.normalize():f}"


def points_fixed(value: Decimal) -> str:
    """Three decimals, as pointsAvailable prints (`"670.000"`)."""
    return f"{Decimal(value).quantize(Decimal('0.001')):f}"


def v11_datetime(value: datetime.datetime | None, tz: datetime.tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def iso_datetime(value: datetime.datetime | None, tz: datetime.tzinfo) -> str | None:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def epoch_millis(value: datetime.datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def parse_v11_time(value: str, tz: datetime.tzinfo) -> datetime.datetime | None:
    """`YYYY-MM-DD HH:MM:SS` (or ISO 8601) in the org's time zone; "" is None."""
    text = (value or "").strip()
    if not text:
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            naive = datetime.datetime.strptime(text, pattern)  # noqa: DTZ007 - made aware below
        except ValueError:
            continue
        return timezone.make_aware(naive, tz)
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError as exc:
        raise serializers.ValidationError(
            f"Invalid time {value!r}: use YYYY-MM-DD HH:MM:SS"
        ) from exc
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, tz)


@extend_schema_field(OpenApiTypes.STR)
class PointsAmountField(serializers.Field):
    """A points amount sent as a number or a string; kept as text so the ledger decides (801)."""

    default_error_messages = {"invalid": "A number below 10^15 is required."}

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, bool) or not isinstance(data, (int, float, str, Decimal)):
            self.fail("invalid")
        text = str(data).strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            self.fail("invalid")
        # The ledger keeps at most 15 integer digits.
        if not number.is_finite() or abs(number) >= MAX_POINTS:
            self.fail("invalid")
        return text

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(OpenApiTypes.BOOL)
class LenientBooleanField(serializers.BooleanField):
    """Booleans that samples send as strings ("false") or leave blank."""

    def to_internal_value(self, data: Any) -> bool:
        if data in ("", None):
            return False
        return super().to_internal_value(data)

    def to_representation(self, value: dict[str, Any]) -> dict[str, Any]:
        return {"field": [{"name": name, "value": item} for name, item in value.items()]}


def _text(required: bool = False, max_length: int = 255, **kwargs: Any) -> serializers.CharField:
    """A text field; optional ones default to "" so views can read them directly."""
    if not required:
        kwargs.setdefault("default", "")
    return serializers.CharField(
        required=required, allow_blank=not required, max_length=max_length, **kwargs
    )


# v1.1 inputs ----------------------------------------------------------------------------------
class PointsV11CustomerInputSerializer(serializers.Serializer):
    """A v1.1 customer reference: the first of id/user_id, mobile, email, external_id given."""

    id = _text(max_length=20)
    user_id = _text(max_length=20)
    mobile = _text(max_length=50)
    email = _text(max_length=300)
    external_id = _text(max_length=200)
    card_number = _text(max_length=100)
    card_external_id = _text(max_length=100)


def v11_identifier(data: dict[str, Any]) -> tuple[str, str] | None:
    """(identifier name, value) of a v1.1 customer reference, or None when none is given."""
    for name, key in (
        ("id", "id"),
        ("id", "user_id"),
        ("mobile", "mobile"),
        ("email", "email"),
        ("external_id", "external_id"),
        ("card", "card_number"),
        ("card", "card_external_id"),
    ):
        value = str(data.get(key) or "").strip()
        if value:
            return name, value
    return None


class PointsIsRedeemableQueryInputSerializer(PointsV11CustomerInputSerializer):
    points = _text(max_length=40)
    program_id = _text(max_length=20)
    issue_otp = LenientBooleanField(required=False, default=False)
    validation_code = _text(max_length=50)
    skip_validation = LenientBooleanField(required=False, default=False)
    validation_type = _text(max_length=20)
    group_redemption = LenientBooleanField(required=False, default=False)
    currency_input = _text(max_length=10)
    format = _text(max_length=10)


class PointsValidationCodeQueryInputSerializer(PointsV11CustomerInputSerializer):
    points = _text(max_length=40)
    format = _text(max_length=10)


class PointsV11RedeemQueryInputSerializer(serializers.Serializer):
    program_id = _text(max_length=20)
    skip_validation = LenientBooleanField(required=False, default=False)
    validation_type = _text(max_length=20)
    group_redemption = LenientBooleanField(required=False, default=False)
    format = _text(max_length=10)


class PointsV11RedeemItemInputSerializer(serializers.Serializer):
    points_redeemed = PointsAmountField()
    customer = PointsV11CustomerInputSerializer()
    validation_code = _text(max_length=50)
    transaction_number = _text(max_length=50)
    external_reference_number = _text(max_length=100)
    redemption_time = _text(max_length=40)
    billing_time = _text(max_length=40)
    till_id = _text(max_length=100)
    notes = _text(max_length=2000)
    redemption_purpose = _text(max_length=255)
    group_redemption = LenientBooleanField(required=False, default=False)
    custom_fields = NameValueListField(required=False, max_name_length=100)


class PointsV11RedeemBatchInputSerializer(serializers.Serializer):
    """`{"root": {"redeem": [...]}}`; each item is validated on its own."""

    root = serializers.DictField()

    def validate_root(self, root: dict[str, Any]) -> dict[str, Any]:
        items = root.get("redeem")
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items:
            raise serializers.ValidationError("root.redeem must list at least one redemption")
        root["redeem"] = items
        return root


# v1.1 outputs ---------------------------------------------------------------------------------
class PointsV11StatusOutputSerializer(serializers.Serializer):
    success = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    total = serializers.CharField(required=False)
    success_count = serializers.CharField(required=False)


class PointsV11NumericStatusOutputSerializer(PointsV11StatusOutputSerializer):
    code = serializers.IntegerField()


class PointsV11ItemStatusOutputSerializer(serializers.Serializer):
    success = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    warnings = serializers.DictField()


class PointsV11NumericItemStatusOutputSerializer(PointsV11ItemStatusOutputSerializer):
    code = serializers.IntegerField()


class PointsRuleErrorOutputSerializer(serializers.Serializer):
    code = serializers.IntegerField()
    message = serializers.CharField()


class PointsRedeemableOutputSerializer(serializers.Serializer):
    mobile = serializers.CharField(allow_blank=True, required=False)
    email = serializers.CharField(allow_blank=True, required=False)
    external_id = serializers.CharField(allow_blank=True, required=False)
    user_id = serializers.CharField(required=False)
    points = serializers.CharField(allow_blank=True)
    is_redeemable = serializers.CharField()
    points_redeem_value = JsonNumberField(required=False)
    points_redeem_local_value = JsonNumberField(required=False)
    points_currency_ratio = serializers.CharField(required=False)
    item_status = PointsV11ItemStatusOutputSerializer()
    errors = PointsRuleErrorOutputSerializer(
        many=True, required=False, help_text="Every rule the redemption breaks (not redeemable)"
    )


class PointsRedeemableWrapperOutputSerializer(serializers.Serializer):
    redeemable = PointsRedeemableOutputSerializer()


class PointsIsRedeemableResponseOutputSerializer(serializers.Serializer):
    status = PointsV11StatusOutputSerializer()
    points = PointsRedeemableWrapperOutputSerializer()


class PointsIsRedeemableOutputSerializer(serializers.Serializer):
    response = PointsIsRedeemableResponseOutputSerializer()


class PointsValidationCodeItemOutputSerializer(serializers.Serializer):
    user_id = serializers.CharField(required=False)
    mobile = serializers.CharField(allow_blank=True, required=False)
    email = serializers.CharField(allow_blank=True, required=False)
    external_id = serializers.CharField(allow_blank=True, required=False)
    points = serializers.CharField(allow_blank=True)
    item_status = PointsV11ItemStatusOutputSerializer()


class PointsValidationCodeWrapperOutputSerializer(serializers.Serializer):
    code = PointsValidationCodeItemOutputSerializer()


class PointsValidationCodeResponseOutputSerializer(serializers.Serializer):
    status = PointsV11StatusOutputSerializer()
    validation_code = PointsValidationCodeWrapperOutputSerializer()


class PointsValidationCodeOutputSerializer(serializers.Serializer):
    response = PointsValidationCodeResponseOutputSerializer()


class PointsRedeemEffectOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    case_value = serializers.CharField()
    num_points = JsonNumberField()
    currency_value = JsonNumberField()
    validation_code = serializers.CharField(allow_blank=True)
    points_redemption_summary_id = serializers.CharField()
    redeemed_on_bill_number = serializers.CharField(allow_blank=True)
    redeemed_on_bill_id = serializers.IntegerField()
    type = serializers.CharField()


class PointsRedeemEffectsOutputSerializer(serializers.Serializer):
    effect = PointsRedeemEffectOutputSerializer(many=True)


class PointsV11RedeemItemOutputSerializer(serializers.Serializer):
    mobile = serializers.CharField(allow_blank=True, required=False)
    email = serializers.CharField(allow_blank=True, required=False)
    external_id = serializers.CharField(allow_blank=True, required=False)
    user_id = serializers.CharField(required=False)
    redemption_id = serializers.CharField(required=False)
    points_redeemed = serializers.CharField(allow_blank=True, required=False)
    redeemed_value = JsonNumberField(required=False)
    redeemed_local_value = JsonNumberField(required=False)
    balance = JsonNumberField(required=False)
    side_effects = PointsRedeemEffectsOutputSerializer(required=False)
    item_status = PointsV11NumericItemStatusOutputSerializer()


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="PointsV11RedeemItems",
        serializers=[
            PointsV11RedeemItemOutputSerializer,
            PointsV11RedeemItemOutputSerializer(many=True),
        ],
        resource_type_field_name=None,
        many=False,
    )
)
class PointsV11RedeemItemsField(serializers.Field):
    """One object for a one-item batch (as the sample shows), a list otherwise."""

    def to_representation(self, value: list[dict[str, Any]]) -> Any:
        items = [PointsV11RedeemItemOutputSerializer(item).data for item in value]
        return items[0] if len(items) == 1 else items


class PointsV11RedeemResponsesOutputSerializer(serializers.Serializer):
    points = PointsV11RedeemItemsField()


class PointsV11RedeemResponseOutputSerializer(serializers.Serializer):
    status = PointsV11NumericStatusOutputSerializer()
    responses = PointsV11RedeemResponsesOutputSerializer()


class PointsV11RedeemOutputSerializer(serializers.Serializer):
    response = PointsV11RedeemResponseOutputSerializer()


# v2 redemptions -------------------------------------------------------------------------------
class PointsRedeemV2InputSerializer(serializers.Serializer):
    redemptionType = serializers.ChoiceField(choices=["POINTS"], required=False, default="POINTS")
    points = PointsAmountField()
    programId = serializers.IntegerField(required=False, min_value=1)
    transactionNumber = _text(max_length=50)
    validationCode = _text(max_length=50)
    skipValidation = LenientBooleanField(
        required=False,
        default=False,
        help_text="Redeem without a validation code (the till vouches for the customer).",
    )
    source = _text(max_length=16)
    commit = LenientBooleanField(
        required=False,
        default=True,
        help_text="false: check only (nothing is redeemed; the rules that fail are errors).",
    )
    externalReferenceNumber = _text(max_length=100)
    groupRedemption = LenientBooleanField(required=False, default=False)
    notes = _text(max_length=2000)
    purpose = _text(max_length=255)


class PointsRedeemV2OutputSerializer(serializers.Serializer):
    redemptionId = serializers.CharField(allow_null=True)
    customerId = serializers.IntegerField()
    programId = serializers.IntegerField()
    pointsRedeemed = JsonNumberField()
    redeemedValue = JsonNumberField()
    balance = JsonNumberField()
    transactionNumber = serializers.CharField(allow_blank=True)
    externalReferenceNumber = serializers.CharField(allow_blank=True)
    groupRedemption = serializers.BooleanField()
    committed = serializers.BooleanField()
    redemptionDate = serializers.CharField(allow_null=True)
    warnings = serializers.ListField(child=serializers.DictField())


class PointsEntityInputSerializer(serializers.Serializer):
    type = _text(max_length=20)
    identifierType = _text(max_length=30)
    identifierValue = _text(max_length=300)


class PointsUpdateRedemptionInputSerializer(serializers.Serializer):
    redemptionId = _text(max_length=40)
    externalReferenceNumber = _text(max_length=100)
    billNumber = serializers.CharField(required=False, allow_blank=True, max_length=50)
    billId = serializers.CharField(required=False, max_length=19)
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=255)
    entity = PointsEntityInputSerializer(required=False, allow_null=True)
    customFields = serializers.DictField(required=False)

    def validate_billId(self, value: str) -> int:  # noqa: N802 (contract field name)
        text = str(value).strip()
        if not text.isdigit() or int(text) < 1 or int(text) > MAX_BILL_ID:
            raise serializers.ValidationError("billId must be a positive integer of ≤19 digits")
        return int(text)

    def validate_customFields(self, value: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        for name, item in value.items():
            if item is not None and not isinstance(item, (str, int, float, bool)):
                raise serializers.ValidationError(f"customFields.{name} must be a plain value")
        return value


class PointsDeductionOutputSerializer(serializers.Serializer):
    programId = serializers.IntegerField()
    deductedPoints = JsonNumberField()


class PointsUpdateRedemptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    programId = serializers.IntegerField(allow_null=True)
    pointsRedeemed = JsonNumberField()
    billId = serializers.IntegerField(allow_null=True)
    billNumber = serializers.CharField(allow_blank=True)
    validationCode = serializers.CharField(allow_blank=True)
    notes = serializers.CharField(allow_blank=True)
    redemptionTime = serializers.IntegerField()
    pointsRedemptionTime = serializers.IntegerField()
    tillId = serializers.IntegerField(allow_null=True)
    tillName = serializers.CharField(allow_blank=True)
    pointDeductionList = PointsDeductionOutputSerializer(many=True)
    externalReferenceNumber = serializers.CharField(allow_blank=True)
    redemptionId = serializers.CharField()
    customerId = serializers.IntegerField(allow_null=True)
    userGroup2Id = serializers.IntegerField(required=False)
    customFields = serializers.DictField()
    redemptionPurpose = serializers.CharField(allow_blank=True)
    redemptionDate = serializers.CharField()
    warnings = serializers.ListField(child=serializers.DictField())


class PointsIdentifierInputSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=30)
    value = serializers.CharField(max_length=300)


class PointsReverseInputSerializer(serializers.Serializer):
    redemptionId = serializers.CharField(max_length=40)
    pointsToBeReversed = PointsAmountField(required=False, allow_null=True)
    identifier = PointsIdentifierInputSerializer(required=False, allow_null=True)


class PointsReverseOutputSerializer(serializers.Serializer):
    redemptionId = serializers.CharField()
    pointsToBeReversed = JsonNumberField()
    orgId = serializers.IntegerField()
    identifier = serializers.DictField(allow_null=True)
    customerId = serializers.IntegerField(allow_null=True)
    pointsReversed = JsonNumberField()
    reversalId = serializers.CharField()
    warnings = serializers.ListField(child=serializers.DictField())


def redemption_v2_representation(
    redemption: PointsRedemption, deductions: list[dict[str, Any]]
) -> dict[str, Any]:
    """The updateRedemption response of a redemption loaded with its event, till and owner."""
    event = redemption.event
    till = event.till
    data = {
        "id": redemption.pk,
        "programId": event.source_program_id,
        "pointsRedeemed": redemption.points,
        "billId": redemption.bill_id,
        "billNumber": redemption.transaction_number,
        "validationCode": redemption.validation_code,
        "notes": redemption.notes,
        "redemptionTime": epoch_millis(redemption.created_at),
        "pointsRedemptionTime": epoch_millis(redemption.redeemed_at),
        "tillId": till.pk if till else None,
        "tillName": (till.name or till.code) if till else "",
        "pointDeductionList": [
            {"programId": item["programId"], "deductedPoints": item["points"]}
            for item in deductions
        ],
        "externalReferenceNumber": redemption.external_reference,
        "redemptionId": redemption.code,
        "customerId": redemption.customer_id,
        "customFields": dict(redemption.custom_fields),
        "redemptionPurpose": redemption.purpose,
        "redemptionDate": redemption.created_at.astimezone(datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "warnings": [],
    }
    if redemption.user_group_id:
        data["userGroup2Id"] = redemption.user_group_id
    return data


# Transfers ------------------------------------------------------------------------------------
class PointsTransferInputSerializer(serializers.Serializer):
    pointsTobeTransferred = PointsAmountField()
    groupProgramTransfer = LenientBooleanField(required=False, default=False)
    notes = _text(max_length=1000)
    programId = serializers.IntegerField(required=False, min_value=1)
    fromCustomerIdentifier = PointsIdentifierInputSerializer()
    toCustomerIdentifier = PointsIdentifierInputSerializer()
    issueOtp = LenientBooleanField(required=False, default=False)
    code = _text(max_length=50)


class PointsTransferPartyOutputSerializer(serializers.Serializer):
    userId = serializers.IntegerField()
    firstName = serializers.CharField(allow_blank=True)
    lastName = serializers.CharField(allow_blank=True)


class PointsCheckErrorOutputSerializer(serializers.Serializer):
    status = serializers.BooleanField()
    code = serializers.IntegerField()
    message = serializers.CharField()


class PointsIsTransferrableItemOutputSerializer(serializers.Serializer):
    pointsTobeTransferred = JsonNumberField()
    transferFrom = serializers.DictField(help_text="The sender, as GET /v2/customers/{id} shows it")
    transferTo = serializers.DictField(help_text="The receiver, same shape")
    transferrable = serializers.BooleanField()


class PointsIsTransferrableOutputSerializer(serializers.Serializer):
    data = PointsIsTransferrableItemOutputSerializer(many=True)
    warnings = PointsCheckErrorOutputSerializer(many=True)
    errors = PointsCheckErrorOutputSerializer(many=True)


class PointsGroupMemberOutputSerializer(serializers.Serializer):
    userId = serializers.IntegerField()
    groupId = serializers.IntegerField()
    defaultGroup = serializers.BooleanField()
    active = serializers.BooleanField()
    primaryMember = serializers.BooleanField()


class PointsGroupOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    groupStatus = serializers.CharField()
    fleetGroupUsers = PointsGroupMemberOutputSerializer(many=True)
    createdBy = serializers.IntegerField(allow_null=True)
    createdOn = serializers.CharField()
    lifeTimePurchases = JsonNumberField()


class PointsTransferBreakupOutputSerializer(serializers.Serializer):
    programId = serializers.IntegerField()
    deductedPoints = JsonNumberField()
    programCurrentPoints = JsonNumberField()


class PointsTransferItemOutputSerializer(serializers.Serializer):
    toEntityId = serializers.IntegerField(required=False)
    toEntityType = serializers.CharField(required=False)
    fromEntityId = serializers.IntegerField(required=False)
    fromEntityType = serializers.CharField(required=False)
    pointsTransferDate = serializers.CharField()
    pointsTransferred = JsonNumberField()
    transferId = serializers.IntegerField()
    transferType = serializers.ChoiceField(choices=["DEDUCTION", "ADDITION"])
    transferredFrom = PointsTransferPartyOutputSerializer(required=False)
    transferredTo = PointsTransferPartyOutputSerializer(required=False)
    transferredFromUserGroup2 = PointsGroupOutputSerializer(required=False)
    transferredToUserGroup2 = PointsGroupOutputSerializer(required=False)
    notes = serializers.CharField(allow_blank=True)
    programName = serializers.CharField(allow_blank=True)
    pointsTransferBreakupByEarningPrograms = PointsTransferBreakupOutputSerializer(
        many=True, required=False
    )


class PointsTransferOutputSerializer(serializers.Serializer):
    data = PointsTransferItemOutputSerializer(many=True)
    warnings = PointsCheckErrorOutputSerializer(many=True)
    errors = PointsCheckErrorOutputSerializer(many=True)


class PointsGroupIsTransferrableItemOutputSerializer(serializers.Serializer):
    pointsTobeTransferred = JsonNumberField()
    transferrable = serializers.BooleanField()


class PointsGroupIsTransferrableOutputSerializer(serializers.Serializer):
    data = PointsGroupIsTransferrableItemOutputSerializer(many=True)
    warnings = PointsCheckErrorOutputSerializer(many=True)
    errors = PointsCheckErrorOutputSerializer(many=True)


class PointsTransferPersonInputSerializer(serializers.Serializer):
    identifierType = serializers.CharField(max_length=30)
    identifierValue = serializers.CharField(max_length=300)
    source = _text(max_length=30)
    accountId = _text(max_length=100)


class PointsTransferEntityInputSerializer(PointsTransferPersonInputSerializer):
    type = serializers.ChoiceField(choices=["CUSTOMER", "USERGROUP2"])


class PointsGroupTransferInputSerializer(serializers.Serializer):
    pointsTobeTransferred = PointsAmountField()
    notes = _text(max_length=1000)
    programId = serializers.IntegerField(required=False, min_value=1)
    transferredBy = PointsTransferPersonInputSerializer()
    fromEntity = PointsTransferEntityInputSerializer()
    toEntity = PointsTransferEntityInputSerializer()


class PointsTransferHistoryQueryInputSerializer(serializers.Serializer):
    identifierName = serializers.CharField(max_length=30)
    identifierValue = serializers.CharField(max_length=300)
    source = _text(max_length=30)
    accountId = _text(max_length=100)
    programId = serializers.IntegerField(required=False, min_value=1)
    userEntityType = serializers.ChoiceField(
        choices=["CUSTOMER", "USERGROUP2"], required=False, default="CUSTOMER"
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    offset = serializers.IntegerField(required=False, min_value=0, default=0)


class PointsTransfersPageQueryInputSerializer(serializers.Serializer):
    programId = serializers.IntegerField(required=False, min_value=1)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    offset = serializers.IntegerField(required=False, min_value=0, default=0)


def transfer_party(customer: Customer | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    return {"userId": customer.pk, "firstName": customer.first_name, "lastName": customer.last_name}


def group_representation(group: UserGroup) -> dict[str, Any]:
    members = list(
        UserGroupMembership.objects.filter(group=group, is_active=True)
        .select_related("customer")
        .order_by("-is_primary", "id")
    )
    return {
        "id": group.pk,
        "groupStatus": group.status,
        "fleetGroupUsers": [
            {
                "userId": member.customer_id,
                "groupId": group.pk,
                # A customer is in one group at a time, so it is always its default group.
                "defaultGroup": True,
                "active": member.is_active,
                "primaryMember": member.is_primary,
            }
            for member in members
        ],
        "createdBy": group.created_by_till_id,
        "createdOn": iso_datetime(group.created_at, group.org.tzinfo) or "",
        "lifeTimePurchases": sum(
            (member.customer.lifetime_purchases for member in members), Decimal(0)
        ),
    }


def _entity(owner: Customer | UserGroup | None) -> tuple[str, int | None]:
    if isinstance(owner, UserGroup):
        return "USERGROUP2", owner.pk
    return "CUSTOMER", getattr(owner, "pk", None)


def transfer_representation(
    event: LedgerEvent,
    *,
    tz: datetime.tzinfo,
    with_entities: bool = False,
    breakup: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One side of a transfer (LedgerEvent PointsTransfer with related_event loaded): DEDUCTION
    on the sender's side, ADDITION on the receiver's; transferId is the sender's event id."""
    is_sender = "transferredTo" in (event.details or {})
    other = event.related_event
    sender_event, receiver_event = (event, other) if is_sender else (other, event)
    sender = sender_event.owner if sender_event else None
    receiver = receiver_event.owner if receiver_event else None
    data: dict[str, Any] = {}
    if with_entities:
        data["toEntityType"], data["toEntityId"] = _entity(receiver)
        data["fromEntityType"], data["fromEntityId"] = _entity(sender)
    data.update(
        {
            "pointsTransferDate": v11_datetime(event.created_at, tz),
            "pointsTransferred": abs(event.net_points),
            "transferId": sender_event.pk if sender_event else event.pk,
            "transferType": "DEDUCTION" if is_sender else "ADDITION",
            "notes": event.notes,
            "programName": event.source_program.name if event.source_program_id else "",
        }
    )
    for key, owner in (("From", sender), ("To", receiver)):
        if isinstance(owner, UserGroup):
            data[f"transferred{key}UserGroup2"] = group_representation(owner)
        elif owner is not None:
            data[f"transferred{key}"] = transfer_party(owner)
    if breakup is not None:
        data["pointsTransferBreakupByEarningPrograms"] = breakup
    return data


# Requests (v1.1) ------------------------------------------------------------------------------
class PointsRequestQueryInputSerializer(serializers.Serializer):
    program_id = _text(max_length=20)
    client_auto_approve = LenientBooleanField(required=False, default=False)
    is_one_step_change = LenientBooleanField(required=False, default=False)
    format = _text(max_length=10)


class PointsRequestTargetInputSerializer(serializers.Serializer):
    target_customer = PointsV11CustomerInputSerializer(required=False)


class PointsRequestItemInputSerializer(serializers.Serializer):
    reference_id = _text(max_length=100)
    type = serializers.CharField(max_length=30)
    base_type = serializers.CharField(max_length=30)
    customer = PointsV11CustomerInputSerializer()
    points = PointsAmountField(required=False, allow_null=True)
    series_id = _text(max_length=20)
    reason = _text(max_length=255)
    comments = _text(max_length=2000)
    old_value = _text(max_length=300)
    new_value = _text(max_length=300)
    misc_info = PointsRequestTargetInputSerializer(required=False, allow_null=True)

    def to_internal_value(self, data: Any) -> Any:
        # Samples send reference_id as a number, and misc_info as "" when unused.
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("reference_id"), int):
                data["reference_id"] = str(data["reference_id"])
            if data.get("misc_info") in ("", None):
                data.pop("misc_info", None)
        return super().to_internal_value(data)


class PointsRequestDecisionItemInputSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=20)
    type = _text(max_length=30)
    base_type = _text(max_length=30)
    points = PointsAmountField(required=False, allow_null=True)
    updated_comments = _text(max_length=2000)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            data = {**data, "id": str(data["id"])}
        return super().to_internal_value(data)


class PointsRequestBatchInputSerializer(serializers.Serializer):
    """`{"root": {"request": [...]}}`; each item is validated on its own."""

    root = serializers.DictField()

    def validate_root(self, root: dict[str, Any]) -> dict[str, Any]:
        items = root.get("request")
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items:
            raise serializers.ValidationError("root.request must list at least one request")
        root["request"] = items
        return root


class PointsRequestCustomerOutputSerializer(serializers.Serializer):
    firstname = serializers.CharField(allow_blank=True)
    lastname = serializers.CharField(allow_blank=True, allow_null=True)
    email = serializers.CharField(allow_blank=True, allow_null=True)
    mobile = serializers.CharField(allow_blank=True, allow_null=True)
    external_id = serializers.CharField(allow_blank=True, allow_null=True)
    id = serializers.IntegerField()


class PointsRequestItemOutputSerializer(serializers.Serializer):
    reference_id = serializers.CharField(allow_null=True, required=False)
    id = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    requested_on = serializers.CharField(required=False)
    type = serializers.CharField(required=False, allow_blank=True)
    base_type = serializers.CharField(required=False, allow_blank=True)
    customer = PointsRequestCustomerOutputSerializer(required=False)
    points = serializers.CharField(required=False, allow_blank=True)
    approved_value = serializers.CharField(required=False, allow_blank=True)
    old_value = serializers.CharField(required=False, allow_blank=True)
    new_value = serializers.CharField(required=False, allow_blank=True)
    old_type = serializers.CharField(required=False, allow_blank=True)
    new_type = serializers.CharField(required=False, allow_blank=True)
    misc_info = serializers.DictField(required=False, allow_null=True)
    transaction_id = serializers.CharField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True)
    comments = serializers.CharField(required=False, allow_blank=True)
    updated_comments = serializers.CharField(required=False, allow_blank=True)
    item_status = PointsV11NumericItemStatusOutputSerializer()


class PointsRequestListOutputSerializer(serializers.Serializer):
    request = PointsRequestItemOutputSerializer(many=True)


class PointsRequestResponseOutputSerializer(serializers.Serializer):
    status = PointsV11NumericStatusOutputSerializer()
    requests = PointsRequestListOutputSerializer()


class PointsRequestBatchOutputSerializer(serializers.Serializer):
    response = PointsRequestResponseOutputSerializer()


def request_customer(customer: Customer) -> dict[str, Any]:
    return {
        "firstname": customer.first_name,
        "lastname": customer.last_name,
        "email": customer.email,
        "mobile": customer.mobile,
        "external_id": customer.external_id,
        "id": customer.pk,
    }


def request_v11_representation(request: PointsRequest) -> dict[str, Any]:
    """A request as v1.1 request/add, approve and reject show it (item_status added by caller)."""
    tz = request.org.tzinfo
    is_merge = request.base_type == PointsRequest.BaseType.MERGE
    data: dict[str, Any] = {
        "reference_id": request.reference_id or None,
        "id": str(request.pk),
        "status": request.status,
        "requested_on": v11_datetime(request.created_at, tz),
        "type": request.type,
        "base_type": request.base_type,
        "customer": request_customer(request.customer),
        "old_value": str(request.customer_id) if is_merge else (request.customer.mobile or ""),
        "new_value": str(request.target_customer_id) if is_merge else "",
        "old_type": "",
        "new_type": "",
        "misc_info": None,
        "transaction_id": "0",
        "reason": request.reason,
        "comments": request.comments,
        "updated_comments": request.updated_comments,
    }
    if not is_merge:
        data["points"] = points_text(request.points)
        data["approved_value"] = points_text(request.approved_points)
    return data


# Goodwill history (v2) ------------------------------------------------------------------------
class PointsGoodwillQueryInputSerializer(serializers.Serializer):
    requestId = serializers.IntegerField(required=False, min_value=1)
    programId = serializers.IntegerField(required=False, min_value=1)
    is_one_step_change = serializers.BooleanField(required=False, allow_null=True, default=None)
    autoApprove = serializers.BooleanField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
    offset = serializers.IntegerField(required=False, min_value=0, default=0)


class PointsActorOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    type = serializers.CharField()


class PointsGoodwillItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    addedBy = PointsActorOutputSerializer(allow_null=True)
    updatedBy = PointsActorOutputSerializer(allow_null=True)
    addedOn = serializers.CharField()
    updatedOn = serializers.CharField()
    userId = serializers.IntegerField()
    requestId = serializers.IntegerField()
    programId = serializers.IntegerField(allow_null=True)
    goodwillType = serializers.CharField()
    goodwillStatus = serializers.CharField()
    comments = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    requestedValue = serializers.CharField(allow_blank=True)
    approvedValue = serializers.CharField(required=False, allow_blank=True)
    updatedComments = serializers.CharField(allow_blank=True)
    oneStep = serializers.BooleanField()


class PointsPaginationOutputSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    total = serializers.IntegerField()


class PointsGoodwillListOutputSerializer(serializers.Serializer):
    pagination = PointsPaginationOutputSerializer()
    data = PointsGoodwillItemOutputSerializer(many=True)
    warnings = PointsCheckErrorOutputSerializer(many=True)
    errors = PointsCheckErrorOutputSerializer(many=True)


def actor_reference(till: Till | None) -> dict[str, Any] | None:
    if till is None:
        return None
    return {
        "id": till.pk,
        "code": till.code,
        "description": "",
        "name": till.name or till.code,
        "type": "TILL",
    }


def goodwill_representation(request: PointsRequest, tz: datetime.tzinfo) -> dict[str, Any]:
    data = {
        "id": request.pk,
        "addedBy": actor_reference(request.requested_by_till),
        "updatedBy": actor_reference(request.updated_by_till or request.requested_by_till),
        "addedOn": iso_datetime(request.created_at, tz),
        "updatedOn": iso_datetime(request.updated_at, tz),
        "userId": request.customer_id,
        "requestId": request.pk,
        "programId": request.program_id,
        "goodwillType": request.base_type,
        "goodwillStatus": request.status,
        "comments": request.comments,
        "reason": request.reason,
        "requestedValue": points_text(request.points),
        "updatedComments": request.updated_comments,
        "oneStep": request.is_one_step,
    }
    if request.approved_points is not None:
        data["approvedValue"] = points_text(request.approved_points)
    return data


# Negative adjustment (v2) ---------------------------------------------------------------------
class PointsAdjustmentQueryInputSerializer(serializers.Serializer):
    identifierName = serializers.CharField(max_length=30)
    identifierValue = serializers.CharField(max_length=300)
    source = _text(max_length=30)
    accountId = _text(max_length=100)


class PointsNegativeAdjustmentInputSerializer(serializers.Serializer):
    pointsToBeAdjusted = serializers.JSONField(required=False)
    valueToBeAdjusted = serializers.JSONField(required=False)
    alternateCurrencyName = _text(max_length=100)
    reasonOfReturn = serializers.CharField(required=False, allow_blank=True, max_length=255)
    pointCategoryTypes = serializers.CharField(required=False, allow_blank=True, max_length=30)
    pointsAwardedId = serializers.JSONField(required=False)
    pointsAwardedRefType = _text(max_length=40)
    promotionId = serializers.JSONField(required=False)
    promotionIdentifier = _text(max_length=100)
    programId = serializers.JSONField(required=False)

    def validate_pointCategoryTypes(self, value: str) -> str:  # noqa: N802 (contract name)
        key = (value or "REGULAR").strip().upper()
        if key not in ADJUSTMENT_CATEGORIES:
            raise serializers.ValidationError(
                "pointCategoryTypes must be REGULAR, PROMISED or EXTERNAL_TRIGGER_BASED"
            )
        return ADJUSTMENT_CATEGORIES[key]


class PointsNegativeAdjustmentOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    pointsAvailable = serializers.CharField()
    message = serializers.CharField()
    warnings = PointsCheckErrorOutputSerializer(many=True)
