"""`CouponSeriesV2` payloads (CONTRACT.md §2.1): field names exactly as the contract spells them.

Input fields map onto CouponSeries settings (`SERIES_INPUT_FIELDS`); `-1` means "no limit"
where the contract says so. Response-side fields of the contract (counters, `seriesCode`,
`orgId`, constants such as `ownedBy`) are accepted in an update body and ignored. Extensions,
documented in docs/API.md: `currency`, `issualLimitNotificationThreshold`, `restrictToAudience`,
`smsUnicodeAllowed` and `expiryReminders[]`.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from coupons.models import (
    CodeType,
    CouponSeries,
    DeliveryMethod,
    DiscountOn,
    DiscountType,
    ExpiryStrategy,
    ProductType,
    RedemptionEntityType,
    ReminderChannel,
)
from coupons.selectors import series_redeemed_total
from coupons.services.series import ReminderSpec

MAX_SAFE_INTEGER = 9007199254740991  # the contract's "no maximum bill amount"
API_CODE_TYPES = [CodeType.UNIQUE, CodeType.COMMON, CodeType.UPLOADED]


class LimitField(serializers.IntegerField):
    """An integer where -1 (or null) means "no limit"; stored as None."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", -1)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> int | None:
        value = super().run_validation(data)
        return None if value == -1 else value


class ProductInfoSerializer(serializers.Serializer):
    productType = serializers.ChoiceField(choices=ProductType.values)
    productIds = serializers.ListField(child=serializers.IntegerField(min_value=1))


class RedemptionOrgEntitySerializer(serializers.Serializer):
    redemptionOrgEntityType = serializers.ChoiceField(choices=RedemptionEntityType.values)
    orgEntityId = serializers.IntegerField(min_value=1)


class TargetUserDetailsSerializer(serializers.Serializer):
    validMaxUserTransactionLimit = LimitField()
    validUserRegistrationStartTime = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, help_text="Epoch milliseconds."
    )
    validUserRegistrationEndTime = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, help_text="Epoch milliseconds."
    )


class ExpiryReminderSerializer(serializers.Serializer):
    """Extension: one expiry reminder (the seed's "Send expiry reminders")."""

    daysBeforeExpiry = serializers.IntegerField(min_value=0, max_value=365)
    channel = serializers.ChoiceField(choices=ReminderChannel.values)
    time = serializers.TimeField(help_text="Local time of day in the org's time zone, HH:MM.")
    message = serializers.CharField()


def _epoch_ms_to_datetime(value: int | None) -> datetime.datetime | None:
    if not value:
        return None
    return datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)


def _contract_epoch(value: datetime.datetime | None) -> datetime.datetime | None:
    """The contract writes "not set" as the epoch (redemptionValidFrom 1970-01-01)."""
    if value is not None and value.timestamp() <= 0:
        return None
    return value


def _json_string(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


# API field -> (model field, converter of the validated value)
Converter = Callable[[Any], Any]
SERIES_INPUT_FIELDS: dict[str, tuple[str, Converter | None]] = {
    "description": ("description", None),
    "discountCode": ("discount_code", lambda v: v or ""),
    "discountType": ("discount_type", None),
    "discountValue": ("discount_value", None),
    "discountUpto": ("discount_upto", None),
    "discountOn": ("discount_on", None),
    "currency": ("currency", lambda v: (v or "").upper()),
    "info": ("info", lambda v: v or ""),
    "termsAndConditions": ("terms_and_conditions", lambda v: v or ""),
    "customPropertyMap": ("custom_properties", lambda v: dict(v or {})),
    "tag": ("tag", lambda v: v or ""),
    "priority": ("priority", lambda v: v or 0),
    "productInfo": ("product_info", lambda v: [dict(item) for item in v or []]),
    "isValidWithDiscountedItem": ("is_valid_with_discounted_item", None),
    "externalIssual": (
        "delivery_method",
        lambda v: DeliveryMethod.THIRD_PARTY if v else DeliveryMethod.PLATFORM,
    ),
    "clientHandlingType": ("code_type", None),
    "alphaNumeric": ("is_alphanumeric", None),
    "randomCodeLength": ("code_length", None),
    "shortCodeLength": ("short_code_length", lambda v: v or 0),
    "couponPrefix": ("code_prefix", lambda v: v or ""),
    "isPrefixEnabled": ("is_prefix_enabled", None),
    "orgPrefixOverride": ("prefix_overrides_org", None),
    "couponSuffix": ("code_suffix", lambda v: v or ""),
    "isSuffixEnabled": ("is_suffix_enabled", None),
    "orgSuffixOverride": ("suffix_overrides_org", None),
    "genericCode": ("generic_code", lambda v: v or ""),
    "validTillDate": ("valid_till", None),
    "expiryStrategyType": ("expiry_strategy", None),
    "expiryStrategyValue": ("expiry_value", None),
    "maxCreate": ("max_issuals", None),
    "issualLimitNotificationThreshold": ("issual_limit_notify_remaining", None),
    "isMultipleVouchersPerUserAllowed": ("allows_multiple_per_customer", None),
    "maxVouchersPerUser": ("max_per_customer", None),
    "minDaysBetweenVouchers": ("min_days_between_issuals", None),
    "doNotResendExistingVoucher": ("resends_existing_coupon", lambda v: not v),
    "mutualExclusiveSeriesIds": ("past_issual_series_ids", _json_string),
    "restrictToAudience": ("is_audience_restricted", None),
    "issueToLoyalty": ("issue_to_loyalty", None),
    "isReferralExistingUsersAllowed": ("is_referral_existing_users_allowed", None),
    "maxReferralsPerReferee": ("max_referrals_per_referee", None),
    "smsTemplate": ("sms_template", lambda v: v or ""),
    "shortSMSTemplate": ("short_sms_template", lambda v: v or ""),
    "isSMSDisabled": ("sends_sms", lambda v: not v),
    "resendMessageEnabled": ("is_resend_enabled", None),
    "smsUnicodeAllowed": ("allows_unicode_sms", None),
    "maxRedeem": ("max_redemptions", None),
    "anyUser": ("any_user", None),
    "redemptionPerCouponMaxLimit": ("redemption_per_coupon_max_limit", None),
    "sameUserMultipleRedeem": ("same_user_multiple_redeem", None),
    "isMultipleUseAllowed": ("is_multiple_use_allowed", None),
    "maxRedemptionsInSeriesPerUser": ("max_redemptions_per_user", None),
    "minDaysBetweenRedemption": ("min_days_between_redemptions", None),
    "redemptionValidFrom": ("redemption_valid_from", _contract_epoch),
    "redemptionValidAfterDays": ("redemption_valid_after_days", lambda v: v or 0),
    "redemptionRange": ("redemption_range", _json_string),
    "minBillAmount": ("min_bill_amount", lambda v: v or 0),
    "maxBillAmount": ("max_bill_amount", lambda v: None if v in (None, MAX_SAFE_INTEGER) else v),
    "redemptionOrgEntityDetails": (
        "redemption_org_entities",
        lambda v: [dict(item) for item in v or []],
    ),
}
REQUIRED_ON_UPDATE = ("description", "discountCode", "discountType")


class CouponSeriesInputSerializer(serializers.Serializer):
    """The `CouponSeriesV2` object of a create or update body."""

    description = serializers.CharField(max_length=200, help_text="Offer name.")
    discountCode = serializers.CharField(
        max_length=100, required=False, allow_blank=True, allow_null=True
    )
    discountType = serializers.ChoiceField(choices=DiscountType.values, required=False)
    discountValue = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False
    )
    discountUpto = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    discountOn = serializers.ChoiceField(choices=DiscountOn.values, required=False)
    currency = serializers.CharField(
        max_length=3,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Extension: ISO 4217 currency of the coupon value (default: org currency).",
    )
    info = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    termsAndConditions = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    customPropertyMap = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, allow_null=True
    )
    tag = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    priority = serializers.IntegerField(required=False, allow_null=True)
    productInfo = ProductInfoSerializer(many=True, required=False, allow_null=True)
    isValidWithDiscountedItem = serializers.BooleanField(required=False)

    externalIssual = serializers.BooleanField(
        required=False, help_text="True: the coupons are sent through a third party."
    )
    clientHandlingType = serializers.ChoiceField(choices=API_CODE_TYPES, required=False)
    alphaNumeric = serializers.BooleanField(required=False)
    randomCodeLength = serializers.IntegerField(required=False, min_value=1)
    shortCodeLength = serializers.IntegerField(required=False, min_value=0, allow_null=True)
    couponPrefix = serializers.CharField(
        max_length=20, required=False, allow_blank=True, allow_null=True
    )
    isPrefixEnabled = serializers.BooleanField(required=False)
    orgPrefixOverride = serializers.BooleanField(required=False)
    couponSuffix = serializers.CharField(
        max_length=20, required=False, allow_blank=True, allow_null=True
    )
    isSuffixEnabled = serializers.BooleanField(required=False)
    orgSuffixOverride = serializers.BooleanField(required=False)
    genericCode = serializers.CharField(
        max_length=64, required=False, allow_blank=True, allow_null=True
    )

    validTillDate = serializers.DateTimeField(required=False, allow_null=True)
    expiryStrategyType = serializers.ChoiceField(choices=ExpiryStrategy.values, required=False)
    expiryStrategyValue = serializers.IntegerField(required=False, min_value=0)

    maxCreate = LimitField()
    issualLimitNotificationThreshold = LimitField(
        help_text="Extension: email the brand contacts once when this many issuals are left."
    )
    isMultipleVouchersPerUserAllowed = serializers.BooleanField(required=False)
    maxVouchersPerUser = LimitField()
    minDaysBetweenVouchers = LimitField()
    doNotResendExistingVoucher = serializers.BooleanField(required=False)
    mutualExclusiveSeriesIds = serializers.JSONField(
        required=False, help_text='Series ids as a JSON string, e.g. "[10]".'
    )
    restrictToAudience = serializers.BooleanField(
        required=False, help_text="Extension: issue to the series' audiences only."
    )
    issueToLoyalty = serializers.BooleanField(required=False)
    isReferralExistingUsersAllowed = serializers.BooleanField(required=False)
    maxReferralsPerReferee = LimitField()

    smsTemplate = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    shortSMSTemplate = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    isSMSDisabled = serializers.BooleanField(required=False)
    resendMessageEnabled = serializers.BooleanField(required=False)
    smsUnicodeAllowed = serializers.BooleanField(
        required=False, help_text="Extension: the SMS may contain Unicode characters."
    )
    expiryReminders = ExpiryReminderSerializer(
        many=True, required=False, allow_null=True, help_text="Extension."
    )

    maxRedeem = LimitField()
    anyUser = serializers.BooleanField(required=False)
    redemptionPerCouponMaxLimit = LimitField()
    sameUserMultipleRedeem = serializers.BooleanField(required=False)
    isMultipleUseAllowed = serializers.BooleanField(required=False)
    maxRedemptionsInSeriesPerUser = LimitField()
    minDaysBetweenRedemption = LimitField()
    redemptionValidFrom = serializers.DateTimeField(required=False, allow_null=True)
    redemptionValidAfterDays = serializers.IntegerField(
        required=False, min_value=0, allow_null=True
    )
    redemptionRange = serializers.JSONField(
        required=False,
        help_text='JSON string, e.g. "{\\"dom\\":[1],\\"dow\\":[1],\\"hours\\":[10]}"; "-1" = any.',
    )
    minBillAmount = serializers.DecimalField(
        max_digits=20, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    maxBillAmount = serializers.DecimalField(
        max_digits=20, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    redemptionOrgEntityDetails = RedemptionOrgEntitySerializer(
        many=True, required=False, allow_null=True
    )
    targetUserDetails = TargetUserDetailsSerializer(required=False, allow_null=True)

    def series_values(self) -> dict[str, Any]:
        """The model field values of the fields present in the body."""
        data = self.validated_data
        values: dict[str, Any] = {}
        for name, (field_name, convert) in SERIES_INPUT_FIELDS.items():
            if name in data:
                value = data[name]
                values[field_name] = convert(value) if convert else value
        if "targetUserDetails" in data:
            target = data["targetUserDetails"] or {}
            values["target_max_transactions"] = target.get("validMaxUserTransactionLimit")
            values["target_registered_from"] = _epoch_ms_to_datetime(
                target.get("validUserRegistrationStartTime")
            )
            values["target_registered_until"] = _epoch_ms_to_datetime(
                target.get("validUserRegistrationEndTime")
            )
        return values

    def reminders(self) -> list[ReminderSpec] | None:
        """The expiry reminders when the body has them (None keeps the current ones)."""
        if "expiryReminders" not in self.validated_data:
            return None
        return [
            ReminderSpec(
                days_before_expiry=item["daysBeforeExpiry"],
                channel=item["channel"],
                send_at=item["time"],
                message=item["message"],
            )
            for item in self.validated_data["expiryReminders"] or []
        ]


class CouponSeriesCreateInputSerializer(serializers.Serializer):
    CouponSeriesV2 = CouponSeriesInputSerializer()


ORG_ENTITY_FILTER_TYPES = [
    RedemptionEntityType.STORE,
    RedemptionEntityType.ZONE,
    RedemptionEntityType.CONCEPT,
]


class CouponSeriesListInputSerializer(serializers.Serializer):
    """`ids`, or one `orgEntityType` with `orgEntityIds` (the seed's "Coupon APIs"), or both."""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=100,
        help_text="Series ids, repeated: ?ids=1&ids=2 (at most 100).",
    )
    orgEntityType = serializers.ListField(
        child=serializers.ChoiceField(choices=ORG_ENTITY_FILTER_TYPES),
        required=False,
        help_text="STORE, ZONE or CONCEPT: one type per request.",
    )
    orgEntityIds = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=100,
        help_text="Ids of that type (at most 100); unknown ids match nothing.",
    )

    def validate_orgEntityType(self, value: list[str]) -> list[str]:
        types = list(dict.fromkeys(value))
        if len(types) > 1:
            raise serializers.ValidationError(
                "Filter by one orgEntityType per request (STORE, ZONE or CONCEPT)"
            )
        return types

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_type = bool(attrs.get("orgEntityType"))
        has_ids = bool(attrs.get("orgEntityIds"))
        if has_type != has_ids:
            missing = "orgEntityIds" if has_type else "orgEntityType"
            raise serializers.ValidationError({missing: ["Give orgEntityType with orgEntityIds"]})
        if not attrs.get("ids") and not has_type:
            raise serializers.ValidationError(
                {"ids": ["Give ids, or orgEntityType with orgEntityIds"]}
            )
        return attrs


# Output -------------------------------------------------------------------------------------
def iso_utc(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(value: datetime.datetime | None) -> int:
    return int(value.timestamp() * 1000) if value is not None else 0


def _limit(value: int | None) -> int:
    return -1 if value is None else value


def _number(value: Any) -> int | float:
    if value is None:
        return 0
    integral = value.to_integral_value()
    return int(integral) if value == integral else float(value)


def _store_ids_json(series: CouponSeries) -> str:
    stores = [
        entry["orgEntityId"]
        for entry in series.redemption_org_entities
        if entry.get("redemptionOrgEntityType") == RedemptionEntityType.STORE
    ]
    return json.dumps(stores or [-1]).replace(" ", "")


def _midnight(value: datetime.datetime | None) -> datetime.datetime | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _audience_size(audience: Any) -> int:
    size = getattr(audience, "customer_count", None)  # annotated by the selector
    return audience.members.count() if size is None else size


def series_representation(series: CouponSeries) -> dict[str, Any]:
    """The contract's response object for one series (without `warnings`)."""
    range_ = series.redemption_range or {}
    redemption_range = {key: range_.get(key) or ["-1"] for key in ("dom", "dow", "hours")}
    code_type = series.code_type
    if code_type == CodeType.RANDOMIZED_COMMON:
        code_type = CodeType.UNIQUE  # one unique code per customer, as the contract knows it
    data: dict[str, Any] = {
        "id": series.pk,
        "orgId": series.org_id,
        "description": series.description,
        "discountCode": series.discount_code,
        "validTillDate": iso_utc(series.valid_till),
        "validDaysFromCreation": (
            series.expiry_value if series.expiry_strategy == ExpiryStrategy.DAYS else 0
        ),
        "expiryStrategyValue": series.expiry_value,
        "maxCreate": _limit(series.max_issuals),
        "maxRedeem": _limit(series.max_redemptions),
        "isTransferrable": False,
        "anyUser": series.any_user,
        "sameUserMultipleRedeem": series.same_user_multiple_redeem,
        "isReferralExistingUsersAllowed": series.is_referral_existing_users_allowed,
        "isMultipleUseAllowed": series.is_multiple_use_allowed,
        "isValidationRequired": False,
        "isValidWithDiscountedItem": series.is_valid_with_discounted_item,
        "createdBy": series.created_by_till_id or -1,
        "numIssued": series.num_issued,
        "numRedeemed": series_redeemed_total(series),
        "createdOn": iso_utc(series.created_at),
        "lastUsed": iso_utc(series.updated_at),
        "seriesCode": series.series_code,
        "smsTemplate": series.sms_template,
        "isSMSDisabled": not series.sends_sms,
        "info": series.info,
        "isMultipleVouchersPerUserAllowed": series.allows_multiple_per_customer,
        "doNotResendExistingVoucher": not series.resends_existing_coupon,
        "mutualExclusiveSeriesIds": json.dumps(series.past_issual_series_ids).replace(" ", ""),
        "storeIdsJson": _store_ids_json(series),
        "isDvsEnabled": False,
        # DVS (dynamic vouchers) is not built: the contract's samples show these placeholders.
        "dvsExpiryDate": iso_utc(_midnight(series.created_at)),
        "priority": series.priority,
        "shortSMSTemplate": series.short_sms_template,
        "maxVouchersPerUser": _limit(series.per_customer_limit),
        "minDaysBetweenVouchers": _limit(series.min_days_between_issuals),
        "maxReferralsPerReferee": _limit(series.max_referrals_per_referee),
        "discountUpto": _number(series.discount_upto),
        "discountValue": _number(series.discount_value),
        "dvsItems": "items",
        "redemptionRange": json.dumps(redemption_range, separators=(",", ":")),
        "minBillAmount": _number(series.min_bill_amount),
        "maxBillAmount": (
            MAX_SAFE_INTEGER if series.max_bill_amount is None else _number(series.max_bill_amount)
        ),
        "redeemAtStore": _store_ids_json(series),
        "campaignId": -1,
        "tag": series.tag or series.description,
        "maxRedemptionsInSeriesPerUser": _limit(series.max_redemptions_per_user),
        "minDaysBetweenRedemption": _limit(series.min_days_between_redemptions),
        "redemptionValidFrom": iso_utc(series.redemption_valid_from) or "1970-01-01T00:00:00Z",
        "sourceOrgId": -1,
        "issueToLoyalty": series.issue_to_loyalty,
        "redeemStoreType": "redeemable_stores",
        "offlineRedeemType": False,
        "isOldFlowEnabled": False,
        "isPreRedeemEventRequired": False,
        "termsAndConditions": series.terms_and_conditions,
        "signalRedemptionEvent": False,
        "syncToClient": False,
        "showPinCode": False,
        "numUploadedNonIssued": series.num_uploaded_non_issued,
        "numUploadedTotal": series.num_uploaded_total,
        "redemptionValidAfterDays": series.redemption_valid_after_days,
        "ownedBy": "NONE",
        "ownerId": -1,
        "ownerValidity": 0,
        "alphaNumeric": series.is_alphanumeric,
        "shortCodeLength": series.short_code_length,
        "randomCodeLength": series.code_length,
        "fixedExpiryDate": (
            epoch_ms(series.valid_till)
            if series.expiry_strategy == ExpiryStrategy.WITH_OFFER
            else 0
        ),
        "numTotal": series.num_codes,
        "latestIssualTime": epoch_ms(series.latest_issued_at),
        "latestRedemptionTime": epoch_ms(getattr(series, "latest_redeemed_at", None)),
        "resendMessageEnabled": series.is_resend_enabled,
        "redemptionPerCouponMaxLimit": _limit(series.redemption_per_coupon_max_limit),
        "seriesType": "UNDEFINED",
        "clientHandlingType": code_type,
        "expiryStrategyType": series.expiry_strategy,
        "discountOn": series.discount_on,
        "discountType": series.discount_type,
        "externalIssual": series.is_third_party,
        "updateProductData": False,
        "customPropertyMap": series.custom_properties,
        "productInfo": series.product_info,
        "redemptionOrgEntityDetails": series.redemption_org_entities,
        "genericCode": series.generic_code or None,
        "couponPrefix": series.code_prefix,
        "isPrefixEnabled": series.is_prefix_enabled,
        "orgPrefixOverride": series.prefix_overrides_org,
        "couponSuffix": series.code_suffix,
        "isSuffixEnabled": series.is_suffix_enabled,
        "orgSuffixOverride": series.suffix_overrides_org,
        "currency": series.effective_currency,
        "issualLimitNotificationThreshold": _limit(series.issual_limit_notify_remaining),
        "restrictToAudience": series.is_audience_restricted,
        "smsUnicodeAllowed": series.allows_unicode_sms,
        "couponSeriesAudience": [
            {
                "audienceId": audience.pk,
                "audienceName": audience.name,
                "customerCount": _audience_size(audience),
                "audienceGroupVersionId": None,
            }
            for audience in series.audiences.all()
        ],
        "expiryReminders": [
            {
                "daysBeforeExpiry": reminder.days_before_expiry,
                "channel": reminder.channel,
                "time": reminder.send_at.strftime("%H:%M"),
                "message": reminder.message,
            }
            for reminder in series.expiry_reminders.all()
        ],
    }
    if any(
        value is not None
        for value in (
            series.target_max_transactions,
            series.target_registered_from,
            series.target_registered_until,
        )
    ):
        data["targetUserDetails"] = {
            "validMaxUserTransactionLimit": _limit(series.target_max_transactions),
            "validUserRegistrationStartTime": epoch_ms(series.target_registered_from),
            "validUserRegistrationEndTime": epoch_ms(series.target_registered_until),
        }
    return data


class AudienceOutputSerializer(serializers.Serializer):
    audienceId = serializers.IntegerField()
    audienceName = serializers.CharField()
    customerCount = serializers.IntegerField()
    audienceGroupVersionId = serializers.IntegerField(allow_null=True)


class CouponSeriesOutputSerializer(serializers.Serializer):
    """A series as the contract's create/update/get responses show it (documents the shape;
    `series_representation` builds it)."""

    id = serializers.IntegerField()
    orgId = serializers.IntegerField()
    description = serializers.CharField()
    discountCode = serializers.CharField()
    validTillDate = serializers.CharField(allow_null=True, help_text="ISO 8601, UTC.")
    validDaysFromCreation = serializers.IntegerField()
    expiryStrategyValue = serializers.IntegerField()
    maxCreate = serializers.IntegerField(help_text="-1: no limit.")
    maxRedeem = serializers.IntegerField(help_text="-1: no limit.")
    isTransferrable = serializers.BooleanField()
    anyUser = serializers.BooleanField()
    sameUserMultipleRedeem = serializers.BooleanField()
    isReferralExistingUsersAllowed = serializers.BooleanField()
    isMultipleUseAllowed = serializers.BooleanField()
    isValidationRequired = serializers.BooleanField()
    isValidWithDiscountedItem = serializers.BooleanField()
    createdBy = serializers.IntegerField(help_text="Id of the till that created the series.")
    numIssued = serializers.IntegerField()
    numRedeemed = serializers.IntegerField()
    createdOn = serializers.CharField()
    lastUsed = serializers.CharField()
    seriesCode = serializers.CharField()
    smsTemplate = serializers.CharField()
    isSMSDisabled = serializers.BooleanField()
    info = serializers.CharField()
    isMultipleVouchersPerUserAllowed = serializers.BooleanField()
    doNotResendExistingVoucher = serializers.BooleanField()
    mutualExclusiveSeriesIds = serializers.CharField()
    storeIdsJson = serializers.CharField()
    isDvsEnabled = serializers.BooleanField()
    dvsExpiryDate = serializers.CharField()
    dvsItems = serializers.CharField()
    priority = serializers.IntegerField()
    shortSMSTemplate = serializers.CharField()
    maxVouchersPerUser = serializers.IntegerField()
    minDaysBetweenVouchers = serializers.IntegerField()
    maxReferralsPerReferee = serializers.IntegerField()
    discountUpto = serializers.FloatField()
    discountValue = serializers.FloatField()
    redemptionRange = serializers.CharField()
    minBillAmount = serializers.FloatField()
    maxBillAmount = serializers.FloatField()
    redeemAtStore = serializers.CharField()
    campaignId = serializers.IntegerField()
    tag = serializers.CharField()
    maxRedemptionsInSeriesPerUser = serializers.IntegerField()
    minDaysBetweenRedemption = serializers.IntegerField()
    redemptionValidFrom = serializers.CharField()
    sourceOrgId = serializers.IntegerField()
    issueToLoyalty = serializers.BooleanField()
    redeemStoreType = serializers.CharField()
    offlineRedeemType = serializers.BooleanField()
    isOldFlowEnabled = serializers.BooleanField()
    isPreRedeemEventRequired = serializers.BooleanField()
    termsAndConditions = serializers.CharField()
    signalRedemptionEvent = serializers.BooleanField()
    syncToClient = serializers.BooleanField()
    showPinCode = serializers.BooleanField()
    targetUserDetails = TargetUserDetailsSerializer(required=False)
    numUploadedNonIssued = serializers.IntegerField()
    numUploadedTotal = serializers.IntegerField()
    redemptionValidAfterDays = serializers.IntegerField()
    ownedBy = serializers.CharField()
    ownerId = serializers.IntegerField()
    ownerValidity = serializers.IntegerField()
    alphaNumeric = serializers.BooleanField()
    shortCodeLength = serializers.IntegerField()
    randomCodeLength = serializers.IntegerField()
    fixedExpiryDate = serializers.IntegerField(help_text="Epoch ms; 0 unless SERIES_EXPIRY.")
    numTotal = serializers.IntegerField()
    latestIssualTime = serializers.IntegerField(help_text="Epoch ms; 0 before the first.")
    latestRedemptionTime = serializers.IntegerField()
    resendMessageEnabled = serializers.BooleanField()
    redemptionPerCouponMaxLimit = serializers.IntegerField()
    seriesType = serializers.CharField()
    clientHandlingType = serializers.ChoiceField(choices=API_CODE_TYPES)
    expiryStrategyType = serializers.ChoiceField(choices=ExpiryStrategy.values)
    discountOn = serializers.ChoiceField(choices=DiscountOn.values)
    discountType = serializers.ChoiceField(choices=DiscountType.values)
    externalIssual = serializers.BooleanField()
    updateProductData = serializers.BooleanField()
    customPropertyMap = serializers.DictField(child=serializers.CharField())
    productInfo = ProductInfoSerializer(many=True)
    redemptionOrgEntityDetails = RedemptionOrgEntitySerializer(many=True)
    genericCode = serializers.CharField(allow_null=True)
    couponPrefix = serializers.CharField()
    isPrefixEnabled = serializers.BooleanField()
    orgPrefixOverride = serializers.BooleanField()
    couponSuffix = serializers.CharField()
    isSuffixEnabled = serializers.BooleanField()
    orgSuffixOverride = serializers.BooleanField()
    currency = serializers.CharField(help_text="Extension.")
    issualLimitNotificationThreshold = serializers.IntegerField(help_text="Extension.")
    restrictToAudience = serializers.BooleanField(help_text="Extension.")
    smsUnicodeAllowed = serializers.BooleanField(help_text="Extension.")
    couponSeriesAudience = AudienceOutputSerializer(many=True)
    expiryReminders = ExpiryReminderSerializer(many=True, help_text="Extension.")
    warnings = serializers.ListField(child=serializers.DictField())

    def to_representation(self, instance: Any) -> dict[str, Any]:
        series, warnings = instance
        return {**series_representation(series), "warnings": warnings}


class CouponSeriesListOutputSerializer(serializers.Serializer):
    entity = CouponSeriesOutputSerializer(many=True)
    warnings = serializers.ListField(child=serializers.DictField())
