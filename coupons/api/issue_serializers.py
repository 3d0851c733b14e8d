"""Issue and resend payloads: v1.1 (CONTRACT.md §1.1, §1.2; snake_case, strings) and v2 (§2.2;
camelCase, typed numbers). Input serializers validate bodies; output serializers document the
response shapes, which the `*_representation` functions build."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from coupons.api.serializers import iso_utc
from coupons.models import Coupon, CouponSeries
from members.models import Customer

MAX_ISSUE_MULTIPLE = 500
MAX_BULK_SERIES = 100
METADATA_MAX_LENGTH = 50


def _local_date(value: datetime.datetime | None, series: CouponSeries) -> str:
    return value.astimezone(series.org.tzinfo).date().isoformat() if value else ""


def _decimal_text(value: Decimal | None) -> str:
    return f"{Decimal(value or 0).normalize():f}"


def _float(value: Decimal | None) -> float:
    return float(value or 0)


# v1.1 ----------------------------------------------------------------------------------------
class CouponV11CustomerInputSerializer(serializers.Serializer):
    mobile = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    email = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    external_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    user_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    card_number = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    card_external_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class CouponV11IssueItemInputSerializer(serializers.Serializer):
    series_id = serializers.IntegerField(min_value=1, help_text="A string in the samples.")
    customer = CouponV11CustomerInputSerializer(help_text="One identifier is enough.")


class CouponV11IssueRootInputSerializer(serializers.Serializer):
    coupon = serializers.JSONField(help_text="A list of coupons to issue (one object accepted).")


class CouponV11IssueInputSerializer(serializers.Serializer):
    root = CouponV11IssueRootInputSerializer()

    def items(self) -> list[Any]:
        coupons = self.validated_data["root"]["coupon"]
        return coupons if isinstance(coupons, list) else [coupons]


class CouponV11StatusOutputSerializer(serializers.Serializer):
    success = serializers.CharField()
    code = serializers.IntegerField()
    message = serializers.CharField()
    total = serializers.CharField(required=False)
    success_count = serializers.CharField(required=False)


class CouponV11ItemStatusOutputSerializer(serializers.Serializer):
    success = serializers.CharField()
    code = serializers.IntegerField()
    message = serializers.CharField()
    warnings = serializers.DictField()


class CouponV11SeriesInfoOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    description = serializers.CharField()
    discount_code = serializers.CharField()
    valid_till = serializers.CharField(help_text="YYYY-MM-DD, the org's time zone.")
    discount_type = serializers.CharField()
    discount_value = serializers.CharField()
    discount_on = serializers.CharField()
    detailed_info = serializers.CharField()


class CouponV11CustomerOutputSerializer(serializers.Serializer):
    mobile = serializers.CharField()
    email = serializers.CharField()
    external_id = serializers.CharField()
    user_id = serializers.CharField(required=False, help_text="Only with ?user_id=true.")


class CouponV11IssuedOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Coupon id (for resend); absent on failure.")
    code = serializers.CharField()
    valid_till = serializers.CharField(help_text="YYYY-MM-DD, the org's time zone.")
    series_info = CouponV11SeriesInfoOutputSerializer()
    customer = CouponV11CustomerOutputSerializer()
    item_status = CouponV11ItemStatusOutputSerializer()


class CouponV11IssueBodyOutputSerializer(serializers.Serializer):
    status = CouponV11StatusOutputSerializer()
    coupon = CouponV11IssuedOutputSerializer(
        help_text="One object for a one-coupon request, else a list in request order."
    )


class CouponV11IssueOutputSerializer(serializers.Serializer):
    response = CouponV11IssueBodyOutputSerializer()


class CouponV11ResendItemOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    code = serializers.CharField()
    item_status = CouponV11ItemStatusOutputSerializer()


class CouponV11ResendListOutputSerializer(serializers.Serializer):
    coupon = CouponV11ResendItemOutputSerializer(many=True)


class CouponV11ResendBodyOutputSerializer(serializers.Serializer):
    status = CouponV11StatusOutputSerializer()
    coupons = CouponV11ResendListOutputSerializer()


class CouponV11ResendOutputSerializer(serializers.Serializer):
    response = CouponV11ResendBodyOutputSerializer()


def coupon_v11_customer_representation(
    customer: Customer, *, include_user_id: bool
) -> dict[str, str]:
    data = {
        "mobile": customer.mobile or "",
        "email": customer.email or "",
        "external_id": customer.external_id or "",
    }
    if include_user_id:
        data["user_id"] = str(customer.pk)
    return data


def coupon_v11_representation(coupon: Coupon, *, include_user_id: bool) -> dict[str, Any]:
    """An issued coupon as the v1.1 issue response shows it (without item_status)."""
    series = coupon.series
    return {
        "id": str(coupon.pk),
        "code": coupon.code,
        "valid_till": _local_date(coupon.valid_till, series),
        "series_info": {
            "id": str(series.pk),
            "description": series.description,
            "discount_code": series.discount_code,
            "valid_till": _local_date(series.valid_till, series),
            "discount_type": series.discount_type,
            "discount_value": _decimal_text(series.discount_value),
            "discount_on": series.discount_on,
            "detailed_info": series.info or series.description,
        },
        "customer": coupon_v11_customer_representation(
            coupon.customer, include_user_id=include_user_id
        ),
    }


# v2 ------------------------------------------------------------------------------------------
class CouponV2CustomerInputSerializer(serializers.Serializer):
    """Any one identifier; empty strings are ignored (the contract's sample sends all four)."""

    id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    mobile = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    email = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    externalId = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class CouponV2IssueInputSerializer(serializers.Serializer):
    seriesId = serializers.IntegerField(min_value=1)
    customer = CouponV2CustomerInputSerializer()


class CouponV2IssueMultipleInputSerializer(CouponV2IssueInputSerializer):
    count = serializers.IntegerField(min_value=1, max_value=MAX_ISSUE_MULTIPLE, default=1)


class CouponV2BulkIssueMetadataInputSerializer(serializers.Serializer):
    sourceType = serializers.CharField(
        max_length=METADATA_MAX_LENGTH, required=False, allow_blank=True
    )
    sourceId = serializers.CharField(
        max_length=METADATA_MAX_LENGTH, required=False, allow_blank=True
    )
    sourceActivity = serializers.CharField(
        max_length=METADATA_MAX_LENGTH, required=False, allow_blank=True
    )
    notes = serializers.CharField(max_length=METADATA_MAX_LENGTH, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=METADATA_MAX_LENGTH, required=False, allow_blank=True)


class CouponV2BulkIssueInputSerializer(serializers.Serializer):
    seriesIds = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=MAX_BULK_SERIES
    )
    customer = CouponV2CustomerInputSerializer()
    metadata = CouponV2BulkIssueMetadataInputSerializer(required=False)


class CouponV2IdentifierOutputSerializer(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()


class CouponV2ProfileOutputSerializer(serializers.Serializer):
    firstName = serializers.CharField()
    lastName = serializers.CharField()
    fields = serializers.DictField()
    identifiers = CouponV2IdentifierOutputSerializer(many=True)
    commChannels = serializers.ListField(child=serializers.DictField())
    userId = serializers.IntegerField()
    accountId = serializers.CharField()
    autoUpdateTime = serializers.CharField()
    identifiersAll = CouponV2IdentifierOutputSerializer(many=True)


class CouponV2CustomerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    profiles = CouponV2ProfileOutputSerializer(many=True)


class CouponV2CouponOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    seriesId = serializers.IntegerField()
    description = serializers.CharField()
    discountCode = serializers.CharField()
    validTill = serializers.CharField(allow_null=True, help_text="ISO 8601, UTC.")
    discountType = serializers.CharField()
    discountValue = serializers.FloatField()
    discountUpto = serializers.FloatField()
    discountOn = serializers.CharField()
    detailedInfo = serializers.CharField()
    redemptionCount = serializers.IntegerField()
    id = serializers.IntegerField(help_text="The coupon's id.")


class CouponV2IssueOutputSerializer(CouponV2CouponOutputSerializer):
    customer = CouponV2CustomerOutputSerializer()
    warnings = serializers.ListField(child=serializers.DictField())


class CouponV2ErrorOutputSerializer(serializers.Serializer):
    status = serializers.BooleanField()
    code = serializers.IntegerField()
    message = serializers.CharField()


class CouponV2BatchItemOutputSerializer(serializers.Serializer):
    entityId = serializers.IntegerField(help_text="The series id.")
    result = CouponV2CouponOutputSerializer(allow_null=True)
    errors = CouponV2ErrorOutputSerializer(many=True)
    warnings = serializers.ListField(child=serializers.DictField())


class CouponV2BatchOutputSerializer(serializers.Serializer):
    response = CouponV2BatchItemOutputSerializer(many=True)
    totalCount = serializers.IntegerField()
    failureCount = serializers.IntegerField()


V2_IDENTIFIER_TYPES = {"mobile": "mobile", "email": "email", "external_id": "externalId"}


def coupon_v2_customer_representation(customer: Customer) -> dict[str, Any]:
    identifiers = [
        {"type": name, "value": getattr(customer, field)}
        for field, name in V2_IDENTIFIER_TYPES.items()
        if getattr(customer, field)
    ]
    return {
        "id": customer.pk,
        "profiles": [
            {
                "firstName": customer.first_name,
                "lastName": customer.last_name,
                "fields": dict(customer.custom_fields or {}),
                "identifiers": identifiers,
                "commChannels": [],
                "userId": customer.pk,
                "accountId": "",
                "autoUpdateTime": iso_utc(customer.updated_at),
                "identifiersAll": identifiers,
            }
        ],
    }


def coupon_v2_representation(coupon: Coupon) -> dict[str, Any]:
    """An issued coupon as the v2 issue and bulk issue responses show it."""
    series = coupon.series
    return {
        "code": coupon.code,
        "seriesId": series.pk,
        "description": series.description,
        "discountCode": series.discount_code or "NO_VALUE",
        "validTill": iso_utc(coupon.valid_till),
        "discountType": series.discount_type,
        "discountValue": _float(series.discount_value),
        "discountUpto": _float(series.discount_upto),
        "discountOn": series.discount_on,
        "detailedInfo": series.info or series.description,
        "redemptionCount": coupon.redemption_count,
        "id": coupon.pk,
    }
