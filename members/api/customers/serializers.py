"""Request parsing and response shapes of the customer APIs (contract §11.1 v2, §11.2 v1.1).

Input serializers validate and normalise; output serializers render dicts built by the
`*_representation` helpers below, so every response field is declared once (and in the schema).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from ledger.selectors import ProgramPointsSummary, points_program_summaries
from loyalty_site.api.fields import JsonNumberField, NameValueListField, json_number
from loyalty_site.core.exceptions import DomainError
from members.exceptions import CustomerRegistrationError, InvalidIdentifierError
from members.models import Customer, CustomerSourceProfile, LoyaltyType, ProgramEnrollment, Till
from members.selectors.customers import customer_profiles_for_source
from members.services.identifiers import normalize_identifier

# v2 identifier types stored on the customer, keyed by their lower-cased contract name.
STORED_IDENTIFIER_TYPES = {"mobile": "mobile", "email": "email", "externalid": "external_id"}
# Types the contract lists that this platform does not keep (cards, social ids): accepted on
# register/update and ignored; a lookup by one of them finds nobody (8015).
IGNORED_IDENTIFIER_TYPES = frozenset(
    {
        "cardnumber",
        "cardexternalid",
        "wechat",
        "martjackid",
        "fbid",
        "tmall_uname",
        "cuid",
        "ali_uname",
        "jd_uname",
        "vip_uname",
        "line",
        "unionid",
    }
)
# Validation error codes the exception handler renders as the contract's numbers.
INVALID_IDENTIFIER_CODE = str(InvalidIdentifierError.code)  # 8013
REGISTRATION_ERROR_CODE = str(CustomerRegistrationError.code)  # 8014
IDENTIFIER_OUTPUT_TYPES = {"mobile": "mobile", "email": "email", "external_id": "externalId"}


def format_datetime(value: datetime.datetime | None, tz: datetime.tzinfo) -> str | None:
    """ISO 8601 with the org's offset, to the second (`2016-06-23T19:11:18+08:00`)."""
    if value is None:
        return None
    return value.astimezone(tz).isoformat(timespec="seconds")


def format_v11_datetime(value: datetime.datetime | None, tz: datetime.tzinfo) -> str:
    """v1.1's `YYYY-MM-DD HH:MM:SS` in the org's time zone ("" when unknown)."""
    if value is None:
        return ""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


# v2 input ----------------------------------------------------------------------------------
class CustomerIdentifierInputSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=50)
    # Numbers are accepted too (the update sample sends the mobile as a JSON number).
    value = serializers.CharField(max_length=255)


class CustomerCommChannelInputSerializer(serializers.Serializer):
    """Accepted for compatibility; channels are derived from the identifiers, not stored."""

    type = serializers.CharField(max_length=50)
    value = serializers.CharField(max_length=1000, allow_blank=True, required=False)
    primary = serializers.BooleanField(required=False)
    verified = serializers.BooleanField(required=False)
    subscribed = serializers.BooleanField(required=False)
    meta = serializers.DictField(required=False)
    attributes = serializers.DictField(required=False)


class CustomerProfileInputSerializer(serializers.Serializer):
    firstName = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    lastName = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    identifiers = CustomerIdentifierInputSerializer(many=True, required=False)
    commChannels = CustomerCommChannelInputSerializer(many=True, required=False)
    source = serializers.CharField(required=False, max_length=50)
    accountId = serializers.CharField(required=False, allow_blank=True, max_length=100)
    fields = serializers.DictField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Add `identifier_values` ({mobile, email, external_id} in stored form).

        Unknown types are 8013; a malformed mobile/email/external id is 8014 naming the type.
        """
        values: dict[str, str] = {}
        for item in attrs.get("identifiers", []):
            kind = item["type"].strip()
            field = STORED_IDENTIFIER_TYPES.get(kind.lower())
            if field is None:
                if kind.lower() in IGNORED_IDENTIFIER_TYPES:
                    continue
                raise serializers.ValidationError(
                    {"identifiers": f"Unknown identifier type {kind!r}"},
                    code=INVALID_IDENTIFIER_CODE,
                )
            if field in values:
                raise serializers.ValidationError(
                    {"identifiers": f"{kind} is given more than once"}, code=REGISTRATION_ERROR_CODE
                )
            try:
                values[field] = str(normalize_identifier(field, item["value"]))
            except DomainError as exc:
                raise serializers.ValidationError(
                    {"identifiers": f"{kind}: {exc.message}"}, code=REGISTRATION_ERROR_CODE
                ) from exc
        attrs["identifier_values"] = values
        return attrs


class CustomerLoyaltyInfoInputSerializer(serializers.Serializer):
    loyaltyType = serializers.ChoiceField(choices=LoyaltyType.values, required=False)


class CustomerProgramEnrollmentInputSerializer(serializers.Serializer):
    programId = serializers.IntegerField(min_value=1)
    tierNumber = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    # Opening points and expiry dates belong to the points ledger; accepted and not applied here.
    loyaltyPoints = serializers.DecimalField(
        max_digits=16, decimal_places=3, required=False, allow_null=True
    )
    tierExpiryDate = serializers.DateTimeField(required=False, allow_null=True)
    pointsExpiryDate = serializers.DateTimeField(required=False, allow_null=True)


class CustomerRegisterInputSerializer(serializers.Serializer):
    loyaltyInfo = CustomerLoyaltyInfoInputSerializer(required=False)
    associatedWith = serializers.CharField(required=False, allow_blank=True, max_length=100)
    # One profile per request: further source accounts register with their own call (8050).
    profiles = CustomerProfileInputSerializer(many=True, min_length=1, max_length=1)
    extendedFields = serializers.DictField(required=False)
    loyaltyProgramEnrollments = CustomerProgramEnrollmentInputSerializer(many=True, required=False)
    referralCode = serializers.CharField(required=False, allow_blank=True, max_length=100)
    statusLabel = serializers.CharField(required=False, allow_blank=True, max_length=50)
    createDate = serializers.DateTimeField(required=False, allow_null=True)
    endPointsEnabled = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False
    )

    def validate_profiles(self, profiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not profiles[0].get("source"):
            raise serializers.ValidationError("profiles[0].source is required")
        return profiles


class CustomerUpdateInputSerializer(CustomerRegisterInputSerializer):
    profiles = CustomerProfileInputSerializer(many=True, required=False, max_length=1)

    def validate_profiles(self, profiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return profiles


class CustomerGetQuerySerializer(serializers.Serializer):
    source = serializers.CharField(required=False, allow_blank=True, max_length=50)
    accountId = serializers.CharField(required=False, allow_blank=True, max_length=100)
    embed = serializers.CharField(required=False, allow_blank=True, max_length=200)


# v2 output ---------------------------------------------------------------------------------
class ApiWarningOutputSerializer(serializers.Serializer):
    status = serializers.BooleanField()
    code = serializers.IntegerField()
    message = serializers.CharField()


class CustomerRegisterOutputSerializer(serializers.Serializer):
    createdId = serializers.IntegerField()
    warnings = ApiWarningOutputSerializer(many=True)
    sideEffects = serializers.ListField(child=serializers.DictField())


class CustomerLookupOutputSerializer(serializers.Serializer):
    entity = serializers.IntegerField()
    orgId = serializers.IntegerField(required=False)
    warnings = ApiWarningOutputSerializer(many=True)


class TillReferenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    type = serializers.CharField()


class CustomerAttributionOutputSerializer(serializers.Serializer):
    createDate = serializers.CharField()
    createdBy = TillReferenceOutputSerializer(allow_null=True)
    modifiedBy = TillReferenceOutputSerializer(allow_null=True)
    modifiedDate = serializers.CharField()


class CustomerIdentifierOutputSerializer(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()


class CustomerCommChannelOutputSerializer(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()
    primary = serializers.BooleanField()
    verified = serializers.BooleanField()
    meta = serializers.DictField()


class CustomerProfileOutputSerializer(serializers.Serializer):
    firstName = serializers.CharField(allow_blank=True)
    lastName = serializers.CharField(allow_blank=True)
    attribution = CustomerAttributionOutputSerializer()
    fields = serializers.DictField()
    identifiers = CustomerIdentifierOutputSerializer(many=True)
    commChannels = CustomerCommChannelOutputSerializer(many=True)
    source = serializers.CharField()
    userId = serializers.IntegerField()
    accountId = serializers.CharField(allow_blank=True)


class CustomerLoyaltyInfoOutputSerializer(serializers.Serializer):
    loyaltyType = serializers.CharField()
    lifetimePurchases = JsonNumberField()


class CustomerFraudDetailsOutputSerializer(serializers.Serializer):
    status = serializers.CharField()


class CustomerProgramDetailsOutputSerializer(serializers.Serializer):
    """`embed=mlp`: program and tier facts, and the points the ledger stores for the program
    (counters that would need summing the ledger's history are not given)."""

    programId = serializers.IntegerField()
    programTitle = serializers.CharField()
    programDescription = serializers.CharField(allow_blank=True)
    currentSlab = serializers.CharField(allow_null=True)
    slabSNo = serializers.IntegerField(allow_null=True)
    nextSlab = serializers.CharField(allow_null=True)
    nextSlabSerialNumber = serializers.IntegerField(allow_null=True)
    nextSlabDescription = serializers.CharField(allow_null=True, allow_blank=True)
    slabExpiryDate = serializers.CharField(allow_null=True)
    programPointsToCurrencyRatio = JsonNumberField()
    loyaltyPoints = JsonNumberField(help_text="Current regular points balance.")
    totalAvailablePoints = JsonNumberField(
        help_text="Regular points that can be redeemed now (lapsed points excluded)."
    )
    delayedPoints = JsonNumberField(help_text="Promised (delayed accrual) points balance.")


class CustomerPointsSummaryOutputSerializer(serializers.Serializer):
    """`embed=points`: the default program's points (or the first enrolled program's), from the
    ledger's stored balances, with its tier facts."""

    loyaltyPoints = JsonNumberField(help_text="Current regular points balance.")
    cumulativePurchases = JsonNumberField()
    currentSlab = serializers.CharField(allow_null=True)
    slabSNo = serializers.IntegerField(allow_null=True)
    nextSlab = serializers.CharField(allow_null=True)
    nextSlabSerialNumber = serializers.IntegerField(allow_null=True)
    nextSlabDescription = serializers.CharField(allow_null=True, allow_blank=True)
    slabExpiryDate = serializers.CharField(allow_null=True)


class CustomerGetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    orgId = serializers.IntegerField(required=False, help_text="Only with DATA-SCOPE OTHER/ALL")
    profiles = CustomerProfileOutputSerializer(many=True)
    loyaltyInfo = CustomerLoyaltyInfoOutputSerializer()
    fraudDetails = CustomerFraudDetailsOutputSerializer()
    associatedWith = serializers.CharField(allow_blank=True)
    extendedFields = serializers.DictField()
    loyaltyProgramDetails = CustomerProgramDetailsOutputSerializer(
        many=True, required=False, help_text="Only with embed=mlp"
    )
    pointsSummary = CustomerPointsSummaryOutputSerializer(
        required=False, help_text="Only with embed=points"
    )
    warnings = ApiWarningOutputSerializer(many=True)


def till_reference(till: Till | None) -> dict[str, Any] | None:
    if till is None:
        return None
    return {
        "id": till.pk,
        "code": till.code,
        "description": "",
        "name": till.name or till.code,
        "type": "TILL",
    }


def customer_identifiers(customer: Customer) -> list[dict[str, str]]:
    return [
        {"type": output_type, "value": getattr(customer, field)}
        for field, output_type in IDENTIFIER_OUTPUT_TYPES.items()
        if getattr(customer, field)
    ]


def customer_comm_channels(customer: Customer) -> list[dict[str, Any]]:
    """The mobile and email identifiers as contact channels (verification is not tracked)."""
    return [
        {
            "type": field,
            "value": getattr(customer, field),
            "primary": True,
            "verified": False,
            "meta": {"residence": False, "office": False},
        }
        for field in ("mobile", "email")
        if getattr(customer, field)
    ]


def _profile_representation(
    customer: Customer, profile: CustomerSourceProfile, *, is_first: bool
) -> dict[str, Any]:
    tz = customer.org.tzinfo
    # The first profile is the registration itself (its date may be back-dated by createDate).
    created = (
        customer.registered_at if is_first or profile.created_at is None else profile.created_at
    )
    return {
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "attribution": {
            "createDate": format_datetime(created, tz),
            "createdBy": till_reference(customer.registered_till),
            "modifiedBy": till_reference(customer.updated_by_till or customer.registered_till),
            "modifiedDate": format_datetime(customer.updated_at, tz),
        },
        "fields": dict(customer.custom_fields),
        "identifiers": customer_identifiers(customer),
        "commChannels": customer_comm_channels(customer),
        "source": profile.source,
        "userId": customer.pk,
        "accountId": profile.account_id,
    }


def program_details_representation(
    enrollment: ProgramEnrollment, tz: datetime.tzinfo
) -> dict[str, Any]:
    program = enrollment.program
    tier = enrollment.tier
    tiers = list(program.tiers.all())
    next_tier = None
    if tier is not None:
        next_tier = next((t for t in tiers if t.number > tier.number), None)
    return {
        "programId": program.pk,
        "programTitle": program.name,
        "programDescription": program.description,
        "currentSlab": tier.name if tier else None,
        "slabSNo": tier.number if tier else None,
        "nextSlab": next_tier.name if next_tier else None,
        "nextSlabSerialNumber": next_tier.number if next_tier else None,
        "nextSlabDescription": (next_tier.description or next_tier.name) if next_tier else None,
        "slabExpiryDate": format_datetime(enrollment.tier_expires_at, tz),
        "programPointsToCurrencyRatio": program.points_to_currency_ratio,
    }


def customer_v2_representation(
    customer: Customer,
    *,
    source: str | None = None,
    account_id: str | None = None,
    embed: set[str] | frozenset[str] = frozenset(),
    include_org: bool = False,
) -> dict[str, Any]:
    """The v2 get shape of a customer loaded with customer_details_queryset.

    Raises CustomerNotInSourceError (8065) when `source` is given and the customer lacks it.
    """
    profiles = customer_profiles_for_source(customer=customer, source=source, account_id=account_id)
    first_profile_id = min((p.pk for p in customer.source_profiles.all()), default=None)
    data: dict[str, Any] = {"id": customer.pk}
    if include_org:
        data["orgId"] = customer.org_id
    data.update(
        {
            "profiles": [
                _profile_representation(
                    customer, profile, is_first=profile.pk is None or profile.pk == first_profile_id
                )
                for profile in profiles
            ],
            "loyaltyInfo": {
                "loyaltyType": customer.loyalty_type,
                "lifetimePurchases": customer.lifetime_purchases,
            },
            "fraudDetails": {"status": customer.fraud_status},
            "associatedWith": customer.registered_till.code if customer.registered_till else "",
            "extendedFields": dict(customer.extended_fields),
            "warnings": [],
        }
    )
    if "mlp" in embed or "points" in embed:
        tz = customer.org.tzinfo
        summaries = points_program_summaries(customer=customer)
    if "mlp" in embed:
        data["loyaltyProgramDetails"] = [
            {
                **program_details_representation(enrollment, tz),
                **program_points_representation(summaries.get(enrollment.program_id)),
            }
            for enrollment in customer.enrollments.all()
        ]
    if "points" in embed:
        data["pointsSummary"] = points_summary_representation(customer, summaries, tz)
    return data


# Points figures from the ledger's stored balances (embed=mlp, embed=points) ------------------
def program_points_representation(summary: ProgramPointsSummary | None) -> dict[str, Any]:
    if summary is None:
        return {"loyaltyPoints": 0, "totalAvailablePoints": 0, "delayedPoints": 0}
    return {
        "loyaltyPoints": summary.regular,
        "totalAvailablePoints": summary.available,
        "delayedPoints": summary.promised,
    }


def points_summary_representation(
    customer: Customer, summaries: dict[int, ProgramPointsSummary], tz: datetime.tzinfo
) -> dict[str, Any]:
    enrollments = list(customer.enrollments.all())
    enrollment = next((e for e in enrollments if e.program.is_default), None)
    enrollment = enrollment or (enrollments[0] if enrollments else None)
    data: dict[str, Any] = {
        "loyaltyPoints": 0,
        "cumulativePurchases": customer.lifetime_purchases,
        "currentSlab": None,
        "slabSNo": None,
        "nextSlab": None,
        "nextSlabSerialNumber": None,
        "nextSlabDescription": None,
        "slabExpiryDate": None,
    }
    if enrollment is not None:
        details = program_details_representation(enrollment, tz)
        data.update({key: details[key] for key in data if key in details})
        summary = summaries.get(enrollment.program_id)
        data["loyaltyPoints"] = summary.regular if summary else 0
    return data


# v1.1 --------------------------------------------------------------------------------------
class CustomerV11BatchInputSerializer(serializers.Serializer):
    """`{"root": {"customer": [...]}}`; each item is validated on its own."""

    root = serializers.DictField()

    def validate_root(self, root: dict[str, Any]) -> dict[str, Any]:
        items = root.get("customer")
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items:
            raise serializers.ValidationError("root.customer must list at least one customer")
        root["customer"] = items
        return root


class CustomerV11ItemInputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(required=False, min_value=1)
    mobile = serializers.CharField(required=False, allow_blank=True, max_length=50)
    email = serializers.CharField(required=False, allow_blank=True, max_length=300)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    firstname = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    lastname = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    registered_on = serializers.CharField(required=False, allow_blank=True, max_length=30)
    updated_on = serializers.CharField(required=False, allow_blank=True, max_length=30)
    registered_till = serializers.CharField(required=False, allow_blank=True, max_length=100)
    associated_with = serializers.CharField(required=False, allow_blank=True, max_length=100)
    referral_code = serializers.CharField(required=False, allow_blank=True, max_length=100)
    source = serializers.CharField(required=False, allow_blank=True, max_length=50)
    accountId = serializers.CharField(required=False, allow_blank=True, max_length=100)
    type = serializers.ChoiceField(
        choices=["LOYALTY", "NON_LOYALTY", "NOT_INTERESTED"], required=False, allow_blank=True
    )
    extended_fields = NameValueListField(required=False)
    custom_fields = NameValueListField(required=False)
    # Cards, subscriptions and fraud status are not kept by this platform; accepted, not applied.
    card_details = serializers.DictField(required=False)
    subscriptions = serializers.DictField(required=False)
    fraud_status = serializers.DictField(required=False)

    def validate_type(self, value: str) -> str:
        return value.upper()


def parse_v11_datetime(value: str, tz: datetime.tzinfo) -> datetime.datetime | None:
    """`YYYY-MM-DD HH:MM:SS` (or a date) in the org's time zone; "" is None. ValueError if bad."""
    text = (value or "").strip()
    if not text:
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            naive = datetime.datetime.strptime(text, pattern)  # noqa: DTZ007 - made aware below
        except ValueError:
            continue
        return timezone.make_aware(naive, tz)
    raise ValueError(f"Invalid date {value!r}: use YYYY-MM-DD HH:MM:SS")


class V11ItemStatusOutputSerializer(serializers.Serializer):
    success = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    warnings = serializers.DictField()


class TillCodeNameOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CustomerV11OutputSerializer(serializers.Serializer):
    """One `customers.customer[]` item of add/update (user_id and amounts as numbers)."""

    user_id = serializers.IntegerField(required=False)
    firstname = serializers.CharField(allow_blank=True, required=False)
    lastname = serializers.CharField(allow_blank=True, required=False)
    mobile = serializers.CharField(allow_blank=True, required=False)
    email = serializers.CharField(allow_blank=True, required=False)
    external_id = serializers.CharField(allow_blank=True, required=False)
    current_slab = serializers.CharField(allow_blank=True, required=False)
    lifetime_purchases = JsonNumberField(required=False)
    registered_on = serializers.CharField(allow_blank=True, required=False)
    updated_on = serializers.CharField(allow_blank=True, required=False)
    type = serializers.CharField(required=False)
    source = serializers.CharField(required=False)
    fraud_status = serializers.CharField(required=False)
    custom_fields = NameValueListField(required=False)
    extended_fields = NameValueListField(required=False)
    side_effects = serializers.DictField(required=False)
    item_status = V11ItemStatusOutputSerializer()


class CustomerV11GetItemOutputSerializer(serializers.Serializer):
    """One `customers.customer[]` item of get (every scalar a string, as the sample prints)."""

    user_id = serializers.CharField(required=False)
    firstname = serializers.CharField(allow_blank=True, required=False)
    lastname = serializers.CharField(allow_blank=True, required=False)
    mobile = serializers.CharField(allow_blank=True, required=False)
    email = serializers.CharField(allow_blank=True, required=False)
    external_id = serializers.CharField(allow_blank=True, required=False)
    lifetime_purchases = serializers.CharField(required=False)
    current_slab = serializers.CharField(allow_blank=True, required=False)
    registered_on = serializers.CharField(allow_blank=True, required=False)
    updated_on = serializers.CharField(allow_blank=True, required=False)
    type = serializers.CharField(required=False)
    source = serializers.CharField(required=False)
    registered_by = serializers.CharField(allow_blank=True, required=False)
    registered_store = TillCodeNameOutputSerializer(required=False)
    registered_till = TillCodeNameOutputSerializer(required=False)
    fraud_details = serializers.DictField(required=False)
    user_group = serializers.DictField(
        required=False, help_text="With user_group=true, when the customer is in a group"
    )
    custom_fields = NameValueListField(required=False)
    extended_fields = NameValueListField(required=False)
    item_status = V11ItemStatusOutputSerializer()


class V11BatchStatusOutputSerializer(serializers.Serializer):
    success = serializers.CharField()
    code = serializers.IntegerField()
    message = serializers.CharField()
    total = serializers.CharField()
    success_count = serializers.CharField()


class CustomerV11ListOutputSerializer(serializers.Serializer):
    customer = CustomerV11OutputSerializer(many=True)


class CustomerV11GetListOutputSerializer(serializers.Serializer):
    customer = CustomerV11GetItemOutputSerializer(many=True)


class CustomerV11ResponseOutputSerializer(serializers.Serializer):
    status = V11BatchStatusOutputSerializer()
    customers = CustomerV11ListOutputSerializer()


class CustomerV11GetResponseOutputSerializer(serializers.Serializer):
    status = V11BatchStatusOutputSerializer()
    customers = CustomerV11GetListOutputSerializer()


class CustomerV11BatchOutputSerializer(serializers.Serializer):
    response = CustomerV11ResponseOutputSerializer()


class CustomerV11GetOutputSerializer(serializers.Serializer):
    response = CustomerV11GetResponseOutputSerializer()


def current_enrollment(customer: Customer) -> ProgramEnrollment | None:
    """The enrolment v1.1's single `current_slab` reports: the default program's, else the first."""
    enrollments = list(customer.enrollments.all())
    return next((e for e in enrollments if e.program.is_default), None) or next(
        iter(enrollments), None
    )


def customer_v11_representation(customer: Customer) -> dict[str, Any]:
    """add/update item fields of a customer loaded with customer_details_queryset."""
    tz = customer.org.tzinfo
    enrollment = current_enrollment(customer)
    return {
        "user_id": customer.pk,
        "firstname": customer.first_name,
        "lastname": customer.last_name,
        "mobile": customer.mobile or "",
        "email": customer.email or "",
        "external_id": customer.external_id or "",
        "current_slab": enrollment.tier.name if enrollment and enrollment.tier else "",
        "lifetime_purchases": customer.lifetime_purchases,
        "registered_on": format_v11_datetime(customer.registered_at, tz),
        "updated_on": format_v11_datetime(customer.updated_at, tz),
        "type": customer.loyalty_type.upper(),
        "source": customer.registration_source.lower(),
        "fraud_status": customer.fraud_status,
        "custom_fields": dict(customer.custom_fields),
        "extended_fields": dict(customer.extended_fields),
    }


def customer_v11_get_representation(
    customer: Customer, *, include_user_group: bool = False
) -> dict[str, Any]:
    """get item fields (strings throughout) of a customer loaded with customer_details_queryset."""
    base = customer_v11_representation(customer)
    store = customer.registered_store
    till = customer.registered_till
    data: dict[str, Any] = {
        **base,
        "user_id": str(customer.pk),
        "lifetime_purchases": str(json_number(customer.lifetime_purchases)),
        "registered_by": till.code if till else "",
        "fraud_details": {"status": customer.fraud_status},
    }
    data.pop("fraud_status")
    # Absent rather than null when unknown (a deleted till or store, no group).
    if store is not None:
        data["registered_store"] = {"code": store.code, "name": store.name}
    if till is not None:
        data["registered_till"] = {"code": till.code, "name": till.name or till.code}
    membership = next(iter(customer.active_group_memberships), None)
    if include_user_group and membership is not None:
        data["user_group"] = {
            "id": str(membership.group_id),
            "external_id": membership.group.external_id,
            "name": membership.group.name,
            "is_primary": "true" if membership.is_primary else "false",
        }
    return data
