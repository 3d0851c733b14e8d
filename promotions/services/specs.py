"""The value objects a promotion is written from (the add API and the admin both build them)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from promotions.models import AllocatePointsOn, PointsOfferType, PromotionAddType


@dataclass(frozen=True)
class RestrictionSpec:
    family: str  # REDEMPTION, ISSUAL, EARN, EXPIRY
    name: str
    value: Decimal | int | str | None
    type: str = ""
    period_type: str = ""
    period_unit: str = ""


@dataclass(frozen=True)
class ActionSpec:
    action_name: str
    properties: Mapping[str, Any] | None
    case: str = "true"
    description: str = ""
    complex_properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSpec:
    exp: str | None
    exp_json: str | Mapping[str, Any] | None
    actions: Sequence[ActionSpec]
    name: str = ""
    description: str = ""
    is_active: bool = True
    priority: int = -1
    exp_data_type: str = ""
    updated_via_new_ui: bool = False
    filter_info: Sequence[Any] = ()


@dataclass(frozen=True)
class FilterSpec:
    name: str
    property_to_values: Mapping[str, Any] | None
    is_include: bool = True
    description: str = ""
    context_type: str = "RULESET"


@dataclass(frozen=True)
class RulesetSpec:
    name: str | None
    context_id: int | None
    org_id: int | None
    context_type: str | None
    starts_at: datetime.datetime | None
    ends_at: datetime.datetime | None
    rules: Sequence[RuleSpec]
    filters: Sequence[FilterSpec] = ()
    endpoint_name: str = "POINTSENGINE_ENDPOINT"
    type: str = "USER_CREATED"
    is_active: bool = True
    description: str = ""
    is_for_global_promotion: bool = False
    program_ids: Sequence[Any] = ()
    capping_info: Sequence[Any] = ()
    label: str = ""


@dataclass(frozen=True)
class PromotionSpec:
    """Everything the add-promotion body carries. Limits: None (or -1 / 0) is no limit."""

    name: str
    identifier: str
    starts_at: datetime.datetime | None
    ends_at: datetime.datetime | None
    event_name: str
    source_type: str | None
    rulesets: Sequence[RulesetSpec]
    allocate_points_on: str = AllocatePointsOn.BILL
    points_offer_type: str = PointsOfferType.GENERIC
    promotion_type: str = ""
    add_type: str = PromotionAddType.SIMPLE
    description: str = ""
    is_active: bool = True
    points_per_customer: Decimal | int | str | None = None
    times_per_customer: int | None = None
    total_points: Decimal | int | str | None = None
    points_per_event: Decimal | int | str | None = None
    loyalty_earning_type: str = ""
    is_stackable: bool = False
    is_exclusive: bool = False
    is_considered_for_ranking: bool = False
    is_always_apply: bool = False
    priority: int = 0
    target_group_ids: Sequence[int] = ()
    target_rule_ids: Sequence[int] = ()
    restrictions: Sequence[RestrictionSpec] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    allocation_actions: Sequence[Any] = ()
