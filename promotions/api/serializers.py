"""Loyalty promotion API shapes (CONTRACT.md §5.1, seed 002): the add body read into a
PromotionSpec, and the add / get / list representations.

The body's fields are read leniently (null or missing is allowed here) so that the service can
answer the seed's own codes: 4011 / 4012 for a missing or unreadable date, 4076 for a ruleset
without its mandatory fields, and so on. Wrong JSON types are plain 400s.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from members.models import Org
from promotions.exceptions import (
    PromotionEndDateError,
    PromotionInvalidRulesetError,
    PromotionStartDateError,
)
from promotions.models import Promotion, RestrictionFamily, RestrictionType
from promotions.selectors import promotion_status
from promotions.services import (
    ActionSpec,
    FilterSpec,
    PromotionSpec,
    RestrictionSpec,
    RulesetSpec,
    RuleSpec,
)

OPTIONAL = {"required": False, "allow_null": True}
TEXT = {"required": False, "allow_null": True, "allow_blank": True}
LIMIT = {"max_digits": 18, "decimal_places": 3, **OPTIONAL}
# Largest epoch milliseconds a datetime can hold (year 9999).
MAX_EPOCH_MS = 253402300799999
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


# Input -------------------------------------------------------------------------------------------
class LimitsInputSerializer(serializers.Serializer):
    pointsPerCustomer = serializers.DecimalField(**LIMIT)
    numberOfTimesPerCustomer = serializers.IntegerField(**OPTIONAL)
    totalPointsInPromotion = serializers.DecimalField(**LIMIT)
    totalPointsPerEventLimit = serializers.DecimalField(**LIMIT)


class RestrictionInputSerializer(serializers.Serializer):
    name = serializers.CharField(**TEXT)
    value = serializers.DecimalField(max_digits=18, decimal_places=3, **OPTIONAL)
    type = serializers.CharField(**TEXT)
    periodType = serializers.CharField(**TEXT)
    periodUnit = serializers.CharField(**TEXT)


class RestrictionsInputSerializer(serializers.Serializer):
    redemptionRestrictions = RestrictionInputSerializer(many=True, **OPTIONAL)
    issualRestrictions = RestrictionInputSerializer(many=True, **OPTIONAL)
    earnRestrictions = RestrictionInputSerializer(many=True, **OPTIONAL)
    expiryRestrictions = RestrictionInputSerializer(many=True, **OPTIONAL)


class PromotionRestrictionsInputSerializer(serializers.Serializer):
    loyaltyEarningType = serializers.CharField(**TEXT)
    isStackable = serializers.BooleanField(**OPTIONAL)
    isExclusive = serializers.BooleanField(**OPTIONAL)
    isConsideredForRanking = serializers.BooleanField(**OPTIONAL)
    isAlwaysApply = serializers.BooleanField(**OPTIONAL)
    targetRuleIds = serializers.ListField(child=serializers.IntegerField(), **OPTIONAL)
    targetGroupIds = serializers.ListField(child=serializers.IntegerField(), **OPTIONAL)
    restrictions = RestrictionsInputSerializer(**OPTIONAL)
    priority = serializers.IntegerField(
        **OPTIONAL, help_text="Extension: rank among competing promotions (lower first)."
    )


class ActionInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(**OPTIONAL)
    actionName = serializers.CharField(**TEXT)
    mandatoryPropertiesValues = serializers.JSONField(**OPTIONAL)
    mandatoryComplexPropertiesValues = serializers.JSONField(**OPTIONAL)
    description = serializers.CharField(**TEXT)


class RuleInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(**OPTIONAL)
    name = serializers.CharField(**TEXT)
    description = serializers.CharField(**TEXT)
    exp = serializers.CharField(**TEXT, trim_whitespace=False)
    expJSON = serializers.JSONField(**OPTIONAL)
    isActive = serializers.BooleanField(**OPTIONAL)
    priority = serializers.IntegerField(**OPTIONAL)
    caseToActions = serializers.DictField(
        child=serializers.ListField(child=ActionInputSerializer()), **OPTIONAL
    )
    filterInfo = serializers.ListField(child=serializers.JSONField(), **OPTIONAL)
    expDataType = serializers.CharField(**TEXT)
    ruleSetId = serializers.IntegerField(**OPTIONAL)
    updatedViaNewUI = serializers.BooleanField(**OPTIONAL)


class FilterInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(**OPTIONAL)
    contextType = serializers.CharField(**TEXT)
    name = serializers.CharField(**TEXT)
    description = serializers.CharField(**TEXT)
    isInclude = serializers.BooleanField(**OPTIONAL)
    propertyToValues = serializers.JSONField(**OPTIONAL)


class RulesetInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(**OPTIONAL)
    contextID = serializers.IntegerField(**OPTIONAL)
    orgID = serializers.IntegerField(**OPTIONAL)
    contextType = serializers.CharField(**TEXT)
    endpointName = serializers.CharField(**TEXT)
    name = serializers.CharField(**TEXT)
    type = serializers.CharField(**TEXT)
    description = serializers.CharField(**TEXT)
    startDate = serializers.IntegerField(**OPTIONAL)
    endDate = serializers.IntegerField(**OPTIONAL)
    active = serializers.BooleanField(**OPTIONAL)
    rules = RuleInputSerializer(many=True, **OPTIONAL)
    filterInfo = FilterInputSerializer(many=True, **OPTIONAL)
    cappingInfo = serializers.ListField(child=serializers.JSONField(), **OPTIONAL)
    isRulesetForGlobalPromotion = serializers.BooleanField(**OPTIONAL)
    programIds = serializers.ListField(child=serializers.JSONField(), **OPTIONAL)
    label = serializers.CharField(**TEXT)


class PromotionInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(**OPTIONAL, help_text="-1 (or absent) creates.")
    name = serializers.CharField(**TEXT)
    programId = serializers.IntegerField(**OPTIONAL)
    description = serializers.CharField(**TEXT)
    startDate = serializers.CharField(**TEXT)
    endDate = serializers.CharField(**TEXT)
    allocatePointsOn = serializers.CharField(**TEXT)
    identifier = serializers.CharField(**TEXT)
    eventName = serializers.CharField(**TEXT)
    pointsOfferType = serializers.CharField(**TEXT)
    promotionType = serializers.CharField(**TEXT)
    promotionSourceType = serializers.CharField(**TEXT)
    isActive = serializers.BooleanField(**OPTIONAL)
    limits = LimitsInputSerializer(**OPTIONAL)
    promotionRestrictions = PromotionRestrictionsInputSerializer(**OPTIONAL)
    rulesetInfos = RulesetInputSerializer(many=True, **OPTIONAL)
    metadata = serializers.DictField(**OPTIONAL)
    allocationActions = serializers.ListField(child=serializers.JSONField(), **OPTIONAL)


class PromotionAddInputSerializer(serializers.Serializer):
    """The UCC body wraps the promotion in `promotion`; a bare promotion object is read too."""

    promotion = PromotionInputSerializer()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and "promotion" not in data:
            data = {"promotion": data}
        return super().to_internal_value(data)


# Reading the body into a spec --------------------------------------------------------------------
def _moment(value: str | None, *, org: Org, end_of_day: bool) -> datetime.datetime | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        moment = parse_datetime(text)
    except ValueError:
        return None
    if moment is None:
        try:
            day = parse_date(text)
        except ValueError:
            return None
        if day is None:
            return None
        moment = datetime.datetime.combine(
            day, datetime.time.max if end_of_day else datetime.time.min
        )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=org.tzinfo)
    return moment


def _epoch(value: int | None, field: str) -> datetime.datetime | None:
    if value is None:
        return None
    if not 0 <= value <= MAX_EPOCH_MS:
        raise PromotionInvalidRulesetError(
            f"Invalid UCC Promotions Ruleset: {field} {value} is out of range", field=field
        )
    return EPOCH + datetime.timedelta(milliseconds=value)


def _restrictions(data: Mapping[str, Any] | None) -> list[RestrictionSpec]:
    specs = []
    families = (
        ("redemptionRestrictions", RestrictionFamily.REDEMPTION),
        ("issualRestrictions", RestrictionFamily.ISSUAL),
        ("earnRestrictions", RestrictionFamily.EARN),
        ("expiryRestrictions", RestrictionFamily.EXPIRY),
    )
    for key, family in families:
        for item in (data or {}).get(key) or []:
            specs.append(
                RestrictionSpec(
                    family=family,
                    name=item.get("name") or "",
                    value=item.get("value"),
                    type=item.get("type") or "",
                    period_type=item.get("periodType") or "",
                    period_unit=item.get("periodUnit") or "",
                )
            )
    return specs


def _rule(data: Mapping[str, Any]) -> RuleSpec:
    actions = []
    for case, items in (data.get("caseToActions") or {}).items():
        for item in items or []:
            actions.append(
                ActionSpec(
                    action_name=item.get("actionName") or "",
                    properties=item.get("mandatoryPropertiesValues"),
                    case=str(case),
                    description=item.get("description") or "",
                    complex_properties=item.get("mandatoryComplexPropertiesValues") or {},
                )
            )
    return RuleSpec(
        exp=data.get("exp"),
        exp_json=data.get("expJSON"),
        actions=actions,
        name=data.get("name") or "",
        description=data.get("description") or "",
        is_active=data.get("isActive") is not False,
        priority=data.get("priority") if data.get("priority") is not None else -1,
        exp_data_type=data.get("expDataType") or "",
        updated_via_new_ui=bool(data.get("updatedViaNewUI")),
        filter_info=data.get("filterInfo") or [],
    )


def _ruleset(data: Mapping[str, Any]) -> RulesetSpec:
    return RulesetSpec(
        name=data.get("name"),
        context_id=data.get("contextID"),
        org_id=data.get("orgID"),
        context_type=data.get("contextType"),
        starts_at=_epoch(data.get("startDate"), "startDate"),
        ends_at=_epoch(data.get("endDate"), "endDate"),
        rules=[_rule(rule) for rule in data.get("rules") or []],
        filters=[
            FilterSpec(
                name=(item.get("name") or "").strip(),
                property_to_values=item.get("propertyToValues"),
                is_include=item.get("isInclude") is not False,
                description=item.get("description") or "",
                context_type=item.get("contextType") or "RULESET",
            )
            for item in data.get("filterInfo") or []
        ],
        endpoint_name=data.get("endpointName") or "POINTSENGINE_ENDPOINT",
        type=data.get("type") or "USER_CREATED",
        is_active=data.get("active") is not False,
        description=data.get("description") or "",
        is_for_global_promotion=bool(data.get("isRulesetForGlobalPromotion")),
        program_ids=data.get("programIds") or [],
        capping_info=data.get("cappingInfo") or [],
        label=data.get("label") or "",
    )


def promotion_spec_from_body(
    data: Mapping[str, Any], *, org: Org, add_type: str
) -> tuple[PromotionSpec, int | None]:
    """(the spec, the body's promotion id) of a validated add body."""
    body = data["promotion"]
    starts_at = _moment(body.get("startDate"), org=org, end_of_day=False)
    if starts_at is None:
        raise PromotionStartDateError(
            "Given start date is null, empty or not an ISO date-time", field="startDate"
        )
    ends_at = _moment(body.get("endDate"), org=org, end_of_day=True)
    if ends_at is None:
        raise PromotionEndDateError(
            "Given end date is null, empty or not an ISO date-time", field="endDate"
        )
    limits = body.get("limits") or {}
    restrictions = body.get("promotionRestrictions") or {}
    spec = PromotionSpec(
        name=body.get("name") or "",
        identifier=body.get("identifier") or "",
        starts_at=starts_at,
        ends_at=ends_at,
        event_name=body.get("eventName") or "",
        source_type=body.get("promotionSourceType"),
        rulesets=[_ruleset(item) for item in body.get("rulesetInfos") or []],
        allocate_points_on=body.get("allocatePointsOn") or "",
        points_offer_type=body.get("pointsOfferType") or "",
        promotion_type=body.get("promotionType") or "",
        add_type=add_type,
        description=body.get("description") or "",
        is_active=body.get("isActive") is not False,
        points_per_customer=limits.get("pointsPerCustomer"),
        times_per_customer=limits.get("numberOfTimesPerCustomer"),
        total_points=limits.get("totalPointsInPromotion"),
        points_per_event=limits.get("totalPointsPerEventLimit"),
        loyalty_earning_type=restrictions.get("loyaltyEarningType") or "",
        is_stackable=bool(restrictions.get("isStackable")),
        is_exclusive=bool(restrictions.get("isExclusive")),
        is_considered_for_ranking=bool(restrictions.get("isConsideredForRanking")),
        is_always_apply=bool(restrictions.get("isAlwaysApply")),
        priority=restrictions.get("priority") or 0,
        target_group_ids=restrictions.get("targetGroupIds") or [],
        target_rule_ids=restrictions.get("targetRuleIds") or [],
        restrictions=_restrictions(restrictions.get("restrictions")),
        metadata=body.get("metadata") or {},
        allocation_actions=body.get("allocationActions") or [],
    )
    return spec, body.get("id")


# Output ------------------------------------------------------------------------------------------
def iso_ms(moment: datetime.datetime) -> str:
    """2024-08-09T00:00:00.284Z, the seeds' date format."""
    moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_seconds(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(moment: datetime.datetime) -> int:
    return (moment - EPOCH) // datetime.timedelta(milliseconds=1)


def number(value: Decimal | int | None) -> int | float | None:
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _limit(value: Decimal | int | None) -> int | float:
    return -1 if value is None else number(value)


def limits_representation(promotion: Promotion) -> dict[str, Any]:
    return {
        "pointsPerCustomer": _limit(promotion.points_per_customer),
        "numberOfTimesPerCustomer": _limit(promotion.times_per_customer),
        "totalPointsInPromotion": _limit(promotion.total_points),
        "totalPointsPerEventLimit": _limit(promotion.points_per_event),
    }


def restrictions_representation(promotion: Promotion) -> dict[str, Any] | None:
    rows = list(promotion.restrictions.all())
    if not rows:
        return None
    groups: dict[str, list[dict[str, Any]]] = {
        "redemptionRestrictions": [],
        "issualRestrictions": [],
        "earnRestrictions": [],
        "expiryRestrictions": [],
    }
    for row in sorted(rows, key=lambda r: (r.family, r.position, r.pk or 0)):
        item: dict[str, Any] = {"name": row.name, "value": number(row.value)}
        if row.family == RestrictionFamily.EXPIRY:
            item["type"] = row.type
            groups["expiryRestrictions"].append(item)
            continue
        periodic = row.type == RestrictionType.PERIOD_BASED
        if row.family == RestrictionFamily.REDEMPTION or periodic:
            item.update(
                type=row.type,
                periodType=row.period_type or None,
                periodUnit=row.period_unit or None,
            )
        key = {
            RestrictionFamily.REDEMPTION: "redemptionRestrictions",
            RestrictionFamily.ISSUAL: "issualRestrictions",
            RestrictionFamily.EARN: "earnRestrictions",
        }[row.family]
        groups[key].append(item)
    return groups


def promotion_restrictions_representation(
    promotion: Promotion, *, detailed: bool
) -> dict[str, Any]:
    groups = list(promotion.target_group_ids or [])
    rules = list(promotion.target_rule_ids or [])
    body: dict[str, Any] = {
        "restrictions": restrictions_representation(promotion),
        "scope": None,
        "isStackable": promotion.is_stackable,
        "isConsideredForRanking": promotion.is_considered_for_ranking,
        "loyaltyEarningType": promotion.loyalty_earning_type or None,
        "expiryReminder": None,
        "isExclusive": promotion.is_exclusive,
        "isAlwaysApply": promotion.is_always_apply,
        "targetGroupIds": groups or None,
        "targetRuleIds": rules or None,
    }
    if detailed:
        body.update(
            linkedTargetGroupVsTargetRuleIdMap=(
                {str(group): rules for group in groups} if groups else None
            ),
            cappingStatus=None,
            skipEarnedDateCheckOnRedeem=False,
            priority=promotion.priority,
        )
    return body


def promotion_add_representation(promotion: Promotion) -> dict[str, Any]:
    """The add API's item (seed 002 sample response)."""
    body: dict[str, Any] = {
        "id": promotion.pk,
        "name": promotion.name,
        "promotionStatus": promotion_status(promotion),
        "programId": promotion.program_id,
        "startDate": iso_ms(promotion.starts_at),
        "endDate": iso_ms(promotion.ends_at),
        "identifier": promotion.identifier,
        "isActive": promotion.is_active,
        "promotionSourceType": promotion.source_type,
        "eventName": promotion.event_name,
        "allocatePointsOn": promotion.allocate_points_on,
        "limits": limits_representation(promotion),
        "pointsOfferType": promotion.points_offer_type,
        "promotionRestrictions": promotion_restrictions_representation(promotion, detailed=False),
    }
    if promotion.allocation_actions:
        body["allocationActions"] = promotion.allocation_actions
    return body


def _action_representation(action) -> dict[str, Any]:
    return {
        "id": action.pk,
        "actionName": action.action_name,
        "mandatoryPropertiesValues": action.properties,
        "mandatoryComplexPropertiesValues": action.complex_properties or {},
        "description": action.description or None,
    }


def _ruleset_representation(promotion: Promotion) -> dict[str, Any]:
    ruleset = promotion.ruleset
    created = epoch_ms(promotion.created_at)
    modified = epoch_ms(promotion.updated_at)
    rules = []
    for rule in ruleset.rules.all():
        cases: dict[str, list[dict[str, Any]]] = {}
        for action in rule.actions.all():
            cases.setdefault(action.case, []).append(_action_representation(action))
        rules.append(
            {
                "id": rule.pk,
                "exp": rule.exp,
                "expJSON": rule.exp_json,
                "jsonType": "JNODE",
                "isActive": rule.is_active,
                "priority": rule.priority,
                "startDate": epoch_ms(ruleset.starts_at),
                "endDate": epoch_ms(ruleset.ends_at),
                "createdOn": created,
                "caseToActions": cases,
                "ruleScope": "SERVER",
                "createdBy": -1,
                "modifiedBy": -1,
                "modifiedOn": modified,
                "name": rule.name,
                "description": rule.description,
                "expDataType": rule.exp_data_type or None,
                "filterInfo": rule.filter_info,
                "ruleSetId": ruleset.pk,
                "updatedViaNewUI": rule.updated_via_new_ui,
            }
        )
    return {
        "id": ruleset.pk,
        "orgName": promotion.org.name,
        "contextID": ruleset.context_id,
        "orgID": promotion.org_id,
        "contextType": ruleset.context_type,
        "endpointName": ruleset.endpoint_name,
        "type": ruleset.type,
        "active": ruleset.is_active,
        "rules": rules,
        "ruleScope": "SERVER",
        "startDate": epoch_ms(ruleset.starts_at),
        "endDate": epoch_ms(ruleset.ends_at),
        "createdOn": created,
        "createdBy": -1,
        "modifiedBy": -1,
        "modifiedOn": modified,
        "name": ruleset.name,
        "packageName": "",
        "description": ruleset.description,
        "filterInfo": [
            {
                "id": item.pk,
                "orgID": promotion.org_id,
                "ruleID": -1,
                "name": item.name,
                "description": item.description,
                "contextType": item.context_type,
                "isInclude": item.is_include,
                "propertyToValues": item.property_to_values,
            }
            for item in ruleset.filters.all()
        ],
        "eventType": None,
        "cappingInfo": ruleset.capping_info,
        "isRulesetForGlobalPromotion": str(ruleset.is_for_global_promotion).lower(),
        "programIds": ruleset.program_ids,
        "updatedViaNewUI": False,
        "label": ruleset.label or None,
        "private": False,
    }


def promotion_detail_representation(promotion: Promotion) -> dict[str, Any]:
    """The get-by-id / list item (fixtures promotions_get_by_id / program_list)."""
    ruleset = getattr(promotion, "ruleset", None)
    return {
        "id": promotion.pk,
        "name": promotion.name,
        "description": promotion.description,
        "promotionStatus": promotion_status(promotion),
        "lastUpdateDate": iso_seconds(promotion.updated_at),
        "lastUpdatedBy": promotion.updated_by_user_id or -1,
        "rulesetInfos": [_ruleset_representation(promotion)] if ruleset is not None else [],
        "programName": promotion.program.name,
        "programId": promotion.program_id,
        "startDate": iso_ms(promotion.starts_at),
        "endDate": iso_ms(promotion.ends_at),
        "identifier": promotion.identifier,
        "isActive": promotion.is_active,
        "promotionSourceType": promotion.source_type,
        "eventName": promotion.event_name,
        "allocatePointsOn": promotion.allocate_points_on,
        "limits": limits_representation(promotion),
        "useProportions": False,
        "pointsOfferType": promotion.points_offer_type,
        "promotionRestrictions": promotion_restrictions_representation(promotion, detailed=True),
    }


class LoyaltyStatusOutputSerializer(serializers.Serializer):
    code = serializers.IntegerField()
    message = serializers.CharField()


class PageDetailsOutputSerializer(serializers.Serializer):
    pageNumber = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    totalEntries = serializers.IntegerField()
    pageCount = serializers.IntegerField()


class PromotionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    promotionStatus = serializers.ChoiceField(choices=["UPCOMING", "LIVE", "COMPLETED", "INACTIVE"])
    programId = serializers.IntegerField()
    startDate = serializers.CharField()
    endDate = serializers.CharField()
    identifier = serializers.CharField()
    isActive = serializers.BooleanField()
    promotionSourceType = serializers.CharField()
    eventName = serializers.CharField()
    allocatePointsOn = serializers.CharField()
    limits = serializers.DictField()
    pointsOfferType = serializers.CharField()
    promotionRestrictions = serializers.DictField()
    rulesetInfos = serializers.ListField(child=serializers.DictField(), required=False)


class PromotionEnvelopeOutputSerializer(serializers.Serializer):
    status = LoyaltyStatusOutputSerializer()
    validationErrors = serializers.ListField(child=serializers.DictField(), allow_null=True)
    data = PromotionOutputSerializer(many=True)


class PromotionPageOutputSerializer(PromotionEnvelopeOutputSerializer):
    pageDetails = PageDetailsOutputSerializer()


def loyalty_envelope(data: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """`{"status":{"code":200,"message":"success"},"validationErrors":null,"data":[...]}`."""
    return {
        "status": {"code": 200, "message": "success"},
        "validationErrors": None,
        "data": data,
        **extra,
    }
