"""Writing promotions: validate a PromotionSpec (the seed's error codes), store the promotion with
its restrictions, ruleset, rules, actions and filters, and tell the earning engine's catalog.

Checks run in the order of the seed's error table: source type (4079), dates (4011, 4012, 4013),
UCC targets (4074), one ruleset (4075), ruleset fields and rules (4076), actions (4080), filters
(4078), restrictions (4081), then uniqueness of the identifier (4007) and the name (4003) in the
program, which the database enforces too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from members.models import LoyaltyType, Org, Program, RegistrationSource, Till
from promotions.exceptions import (
    PromotionDateRangeError,
    PromotionEndDateError,
    PromotionIdentifierExistsError,
    PromotionInvalidActionError,
    PromotionInvalidFieldError,
    PromotionInvalidFilterError,
    PromotionInvalidRestrictionError,
    PromotionInvalidRulesetError,
    PromotionNameExistsError,
    PromotionNotFoundError,
    PromotionRulesetCountError,
    PromotionSourceTypeError,
    PromotionStartDateError,
    PromotionTargetsRequiredError,
)
from promotions.models import (
    AllocatePointsOn,
    AwardStrategy,
    ExpiryStrategy,
    PeriodType,
    PeriodUnit,
    PointsOfferType,
    Promotion,
    PromotionAction,
    PromotionAddType,
    PromotionCatalogState,
    PromotionCustomerUsage,
    PromotionRestriction,
    PromotionRule,
    PromotionRuleset,
    PromotionSourceType,
    PromotionUsage,
    RestrictionFamily,
    RestrictionType,
    RulesetFilter,
)
from promotions.rules import RuleSyntaxError, rule_compile, to_exp_json_text
from promotions.services.kpis import (
    DEFAULT_REDEMPTION_RESTRICTION,
    DISABLED,
    EXPIRY_RESTRICTIONS,
    kpi_of,
)
from promotions.services.specs import (
    ActionSpec,
    FilterSpec,
    PromotionSpec,
    RestrictionSpec,
    RulesetSpec,
    RuleSpec,
)

Actor = Till | AbstractBaseUser | None
EVENT_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
ROUNDING_VALUES = {"ACTUAL", "ROUND", "FLOOR", "CEIL", "ROUND_DOWN", "ROUND_UP", "NONE"}
ROUNDING_PROPERTIES = ("PointsRoundingStrategy", "SourceValueRoundingStrategy")
CASES = {"true", "false"}
FILTER_PROPERTIES = {
    "LoyaltyType": ("loyaltyType", {value.lower() for value in LoyaltyType.values}),
    "EventSource": ("eventSource", {*RegistrationSource.values, "ALL"}),
}
MAX_TEXT = 255
MAX_LIMIT = Decimal("1e15")


def event_key_of(event_name: str) -> str:
    """TransactionAdd, TRANSACTIONADD and Transaction_Add all name one event."""
    return re.sub(r"[^A-Z0-9]", "", (event_name or "").upper())


def catalog_changed(org_id: int) -> None:
    """Give the org's promotion catalog a new token (in the caller's transaction), so every
    process rebuilds its compiled copy once the change commits."""
    token = uuid.uuid4().hex
    if PromotionCatalogState.objects.filter(org_id=org_id).update(token=token):
        return
    try:
        with transaction.atomic():
            PromotionCatalogState.objects.create(org_id=org_id, token=token)
    except IntegrityError:
        PromotionCatalogState.objects.filter(org_id=org_id).update(token=token)


# Field checks ------------------------------------------------------------------------------------
def _choice(value: Any, choices: Iterable[str], field: str, *, default: str | None = None) -> str:
    text = str(value or "").strip().upper()
    if not text and default is not None:
        return default
    if text not in set(choices):
        raise PromotionInvalidFieldError(
            f"{field} {value!r} is not one of {', '.join(sorted(choices))}", field=field
        )
    return text


def _text(value: Any, field: str, *, required: bool = True, max_length: int = MAX_TEXT) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise PromotionInvalidFieldError(f"{field} is required", field=field)
    if len(text) > max_length:
        raise PromotionInvalidFieldError(
            f"{field} is longer than {max_length} characters", field=field
        )
    return text


def _limit(value: Any, field: str, *, integer: bool = False) -> Decimal | int | None:
    """-1 and 0 (and nothing) mean no limit; anything else must be a positive number."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise PromotionInvalidFieldError(f"{field} must be a number", field=field)
    if not number.is_finite() or number < -1 or number >= MAX_LIMIT:
        raise PromotionInvalidFieldError(f"{field} must be -1 (no limit) or more", field=field)
    if number in (-1, 0):
        return None
    if integer:
        if number != number.to_integral_value():
            raise PromotionInvalidFieldError(f"{field} must be a whole number", field=field)
        return int(number)
    if number != number.quantize(Decimal("0.001")):
        raise PromotionInvalidFieldError(f"{field} has more than 3 decimals", field=field)
    return number


def _ids(values: Iterable[Any] | None, field: str) -> list[int]:
    result = []
    for value in values or ():
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            raise PromotionInvalidFieldError(f"{field} holds a non-numeric id {value!r}")
        result.append(number)
    return result


def _check_dates(spec: PromotionSpec) -> None:
    if spec.starts_at is None:
        raise PromotionStartDateError(field="startDate")
    if spec.ends_at is None:
        raise PromotionEndDateError(field="endDate")
    if spec.ends_at <= spec.starts_at:
        raise PromotionDateRangeError(field="endDate")


# Rulesets, rules, actions, filters ---------------------------------------------------------------
def _check_ruleset(ruleset: RulesetSpec) -> None:
    missing = [
        label
        for label, value in (
            ("name", ruleset.name),
            ("contextID", ruleset.context_id),
            ("orgID", ruleset.org_id),
            ("contextType", ruleset.context_type),
            ("startDate", ruleset.starts_at),
            ("endDate", ruleset.ends_at),
        )
        if value is None or (isinstance(value, str) and not value.strip())
    ]
    if missing:
        raise PromotionInvalidRulesetError(
            f"Invalid UCC Promotions Ruleset: {', '.join(missing)} must not be null",
            field="rulesetInfos",
        )
    if ruleset.ends_at <= ruleset.starts_at:
        raise PromotionInvalidRulesetError(
            "Invalid UCC Promotions Ruleset: endDate must be after startDate",
            field="rulesetInfos",
        )
    if not ruleset.rules:
        raise PromotionInvalidRulesetError(
            "Invalid UCC Promotions Rules passed: the ruleset has no rules", field="rules"
        )


def _check_rule(rule: RuleSpec, index: int, *, allocate_on: str) -> str:
    """The rule's canonical expJSON text; raises 4076 naming the rule."""
    if (
        not (rule.exp or "").strip()
        or rule.exp_json in (None, "")
        or (isinstance(rule.exp_json, str) and not rule.exp_json.strip())
    ):
        raise PromotionInvalidRulesetError(
            f"Invalid UCC Promotions Rules passed check for expression, expressionJson and name "
            f"is not null (rule {index + 1})",
            field=f"rules[{index}]",
        )
    try:
        compiled = rule_compile(exp=rule.exp, exp_json=rule.exp_json)
    except RuleSyntaxError as exc:
        raise PromotionInvalidRulesetError(
            f"Invalid rule expression (rule {index + 1}): {exc}", field=f"rules[{index}].exp"
        ) from exc
    if compiled.reads_line_item and allocate_on != AllocatePointsOn.LINEITEM:
        raise PromotionInvalidRulesetError(
            f"Rule {index + 1} reads lineItem.*, which needs allocatePointsOn LINEITEM",
            field=f"rules[{index}].exp",
        )
    if isinstance(rule.exp_json, str):
        return rule.exp_json
    return to_exp_json_text(compiled.tree)


def _check_action(action: ActionSpec, where: str) -> None:
    if not (action.action_name or "").strip():
        raise PromotionInvalidActionError(f"{where}: actionName is required", field=where)
    if str(action.case).strip().lower() not in CASES:
        raise PromotionInvalidActionError(
            f"{where}: caseToActions keys are 'true' or 'false', not {action.case!r}", field=where
        )
    properties = action.properties
    if not isinstance(properties, Mapping) or not properties:
        raise PromotionInvalidActionError(
            f"{where}: mandatoryPropertiesValues must not be null or empty", field=where
        )
    for key, value in properties.items():
        if not str(key).strip() or value is None or not str(value).strip():
            raise PromotionInvalidActionError(
                f"{where}: mandatoryPropertiesValues {key!r} has a null or empty key or value",
                field=where,
            )
        if isinstance(value, dict | list):
            raise PromotionInvalidActionError(
                f"{where}: mandatoryPropertiesValues {key!r} must be a plain value", field=where
            )
    for key in ROUNDING_PROPERTIES:
        if key in properties and str(properties[key]).strip().upper() not in ROUNDING_VALUES:
            raise PromotionInvalidActionError(
                f"{where}: {key} {properties[key]!r} is not one of "
                f"{', '.join(sorted(ROUNDING_VALUES))}",
                field=where,
            )


def _check_filter(item: FilterSpec, index: int) -> None:
    where = f"filterInfo[{index}]"
    if item.name not in FILTER_PROPERTIES:
        raise PromotionInvalidFilterError(
            f"Invalid name in Promotions RuleSet Filter: {item.name!r} (use LoyaltyType or "
            "EventSource)",
            field=where,
        )
    key, allowed = FILTER_PROPERTIES[item.name]
    values = (item.property_to_values or {}).get(key)
    if not isinstance(values, list | tuple) or not values:
        raise PromotionInvalidFilterError(
            f"{item.name} filter needs propertyToValues.{key} with at least one value", field=where
        )
    wanted = {str(value).strip() for value in values}
    normalised = (
        {v.lower() for v in wanted} if key == "loyaltyType" else {v.upper() for v in wanted}
    )
    unknown = normalised - allowed
    if unknown:
        raise PromotionInvalidFilterError(
            f"{item.name} filter has unknown values {sorted(unknown)}", field=where
        )


# Restrictions ------------------------------------------------------------------------------------
def _clean_restrictions(specs: Iterable[RestrictionSpec]) -> list[PromotionRestriction]:
    rows: list[PromotionRestriction] = []
    seen: set[tuple[str, str, str, str]] = set()
    positions: dict[str, int] = {}
    for spec in specs:
        family = str(spec.family or "").upper()
        name = str(spec.name or "").strip().upper()
        where = f"{family.lower()}Restrictions"
        if family == RestrictionFamily.EXPIRY:
            if name not in EXPIRY_RESTRICTIONS:
                raise PromotionInvalidRestrictionError(
                    f"Unknown expiry restriction {spec.name!r}", field=where
                )
            kpi = None
        else:
            kpi = kpi_of(family, name)
            if kpi is None:
                raise PromotionInvalidRestrictionError(
                    f"Unknown {family.lower()} restriction {spec.name!r}", field=where
                )
        try:
            value = Decimal(str(spec.value).strip())
        except (InvalidOperation, ValueError):
            raise PromotionInvalidRestrictionError(f"{name} needs a numeric value", field=where)
        if not value.is_finite() or value < DISABLED or value >= MAX_LIMIT:
            raise PromotionInvalidRestrictionError(f"{name} value must be -1 or more", field=where)
        if value != value.quantize(Decimal("0.001")):
            raise PromotionInvalidRestrictionError(f"{name} has more than 3 decimals", field=where)
        type_ = str(spec.type or "").strip().upper()
        period_type = period_unit = ""
        if family == RestrictionFamily.EXPIRY:
            type_ = type_ or "PROMOTION"
        else:
            type_ = type_ or RestrictionType.NON_PERIOD_BASED
            if type_ not in RestrictionType.values:
                raise PromotionInvalidRestrictionError(
                    f"{name} type must be PERIOD_BASED or NON_PERIOD_BASED", field=where
                )
            if type_ == RestrictionType.PERIOD_BASED:
                if kpi is not None and not kpi.periodic:
                    raise PromotionInvalidRestrictionError(
                        f"{name} cannot be PERIOD_BASED", field=where
                    )
                period_type = str(spec.period_type or "").strip().upper()
                period_unit = str(spec.period_unit or "").strip().upper()
                if period_type not in PeriodType.values or period_unit not in PeriodUnit.values:
                    raise PromotionInvalidRestrictionError(
                        f"{name} is PERIOD_BASED: periodType MOVING_WINDOW or FIXED_WINDOW and "
                        "periodUnit DAILY, WEEKLY or MONTHLY are required",
                        field=where,
                    )
        key = (family, name, period_type, period_unit)
        if key in seen:
            raise PromotionInvalidRestrictionError(f"{name} is given twice", field=where)
        seen.add(key)
        position = positions.get(family, 0)
        positions[family] = position + 1
        rows.append(
            PromotionRestriction(
                family=family,
                name=name,
                value=value,
                type=type_,
                period_type=period_type,
                period_unit=period_unit,
                position=position,
            )
        )
    if any(row.family == RestrictionFamily.REDEMPTION for row in rows):
        default_name, default_value = DEFAULT_REDEMPTION_RESTRICTION
        if not any(row.name == default_name for row in rows):
            rows.append(
                PromotionRestriction(
                    family=RestrictionFamily.REDEMPTION,
                    name=default_name,
                    value=Decimal(default_value),
                    type=RestrictionType.NON_PERIOD_BASED,
                    position=positions.get(RestrictionFamily.REDEMPTION, 0),
                )
            )
    return rows


def _tracks_totals(promotion: Promotion, restrictions: Iterable[PromotionRestriction]) -> bool:
    if promotion.total_points is not None:
        return True
    for row in restrictions:
        kpi = kpi_of(row.family, row.name)
        if kpi is not None and kpi.scope == "PROMOTION" and row.value != DISABLED:
            return True
    return False


# The promotion -----------------------------------------------------------------------------------
def _strategy_id(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


def _resolve_strategies(
    program: Program, actions: list[tuple[ActionSpec, PromotionAction]]
) -> None:
    """Link each action to the award / expiry strategy of the program its properties name."""
    award_ids = {_strategy_id((spec.properties or {}).get("AwardStrategy")) for spec, _ in actions}
    expiry_ids = {
        _strategy_id((spec.properties or {}).get("ExpiryStrategy")) for spec, _ in actions
    }
    awards = AwardStrategy.objects.in_bulk([i for i in award_ids if i is not None])
    expiries = ExpiryStrategy.objects.in_bulk([i for i in expiry_ids if i is not None])
    for spec, row in actions:
        properties = spec.properties or {}
        award = awards.get(_strategy_id(properties.get("AwardStrategy")))
        expiry = expiries.get(_strategy_id(properties.get("ExpiryStrategy")))
        row.award_strategy = award if award is not None and award.program_id == program.pk else None
        row.expiry_strategy = (
            expiry if expiry is not None and expiry.program_id == program.pk else None
        )


def _checked(spec: PromotionSpec) -> dict[str, Any]:
    """Validate everything that does not need the database; returns cleaned field values."""
    source_type = str(spec.source_type or "").strip().upper()
    if not source_type:
        raise PromotionSourceTypeError(field="promotionSourceType")
    if source_type not in PromotionSourceType.values:
        raise PromotionSourceTypeError(
            f"Promotion Source Type {spec.source_type!r} is not one of "
            f"{', '.join(PromotionSourceType.values)}",
            field="promotionSourceType",
        )
    _check_dates(spec)
    target_group_ids = _ids(spec.target_group_ids, "targetGroupIds")
    target_rule_ids = _ids(spec.target_rule_ids, "targetRuleIds")
    if source_type == PromotionSourceType.USER_CREATED and not (
        target_group_ids and target_rule_ids
    ):
        raise PromotionTargetsRequiredError(field="promotionRestrictions")
    if len(spec.rulesets) != 1:
        raise PromotionRulesetCountError(
            f"UCC Promotions should always have one RuleSet ({len(spec.rulesets)} given)",
            field="rulesetInfos",
        )
    allocate_on = _choice(
        spec.allocate_points_on,
        AllocatePointsOn.values,
        "allocatePointsOn",
        default=AllocatePointsOn.BILL,
    )
    ruleset = spec.rulesets[0]
    _check_ruleset(ruleset)
    exp_jsons = [
        _check_rule(rule, index, allocate_on=allocate_on)
        for index, rule in enumerate(ruleset.rules)
    ]
    for rule_index, rule in enumerate(ruleset.rules):
        for action_index, action in enumerate(rule.actions):
            _check_action(action, f"rules[{rule_index}].caseToActions[{action_index}]")
    for index, item in enumerate(ruleset.filters):
        _check_filter(item, index)
    restrictions = _clean_restrictions(spec.restrictions)

    event_name = _text(spec.event_name, "eventName", max_length=64)
    if not EVENT_NAME_PATTERN.match(event_name):
        raise PromotionInvalidFieldError(
            f"eventName {event_name!r}: use letters, digits and underscores", field="eventName"
        )
    return {
        "source_type": source_type,
        "allocate_points_on": allocate_on,
        "target_group_ids": target_group_ids,
        "target_rule_ids": target_rule_ids,
        "exp_jsons": exp_jsons,
        "restrictions": restrictions,
        "event_name": event_name,
        "points_offer_type": _choice(
            spec.points_offer_type,
            PointsOfferType.values,
            "pointsOfferType",
            default=PointsOfferType.GENERIC,
        ),
        "add_type": _choice(
            spec.add_type, PromotionAddType.values, "promotionType", default="SIMPLE"
        ),
        "name": _text(spec.name, "name"),
        "identifier": _text(spec.identifier, "identifier"),
        "points_per_customer": _limit(spec.points_per_customer, "pointsPerCustomer"),
        "times_per_customer": _limit(
            spec.times_per_customer, "numberOfTimesPerCustomer", integer=True
        ),
        "total_points": _limit(spec.total_points, "totalPointsInPromotion"),
        "points_per_event": _limit(spec.points_per_event, "totalPointsPerEventLimit"),
    }


def _check_unique(program: Program, values: dict[str, Any], exclude_pk: int | None) -> None:
    others = Promotion.objects.filter(program=program).exclude(pk=exclude_pk)
    if others.filter(identifier=values["identifier"]).exists():
        raise PromotionIdentifierExistsError(
            f"Promotion identifier {values['identifier']!r} already exists for the program",
            field="identifier",
        )
    if others.filter(name=values["name"]).exists():
        raise PromotionNameExistsError(
            f"A promotion named {values['name']!r} exists for the program", field="name"
        )


def _apply_fields(
    promotion: Promotion, spec: PromotionSpec, values: dict[str, Any], actor: Actor
) -> None:
    promotion.name = values["name"]
    promotion.identifier = values["identifier"]
    promotion.description = spec.description or ""
    promotion.add_type = values["add_type"]
    promotion.promotion_type = (spec.promotion_type or "").strip()[:32]
    promotion.source_type = values["source_type"]
    promotion.event_name = values["event_name"]
    promotion.event_key = event_key_of(values["event_name"])
    promotion.allocate_points_on = values["allocate_points_on"]
    promotion.points_offer_type = values["points_offer_type"]
    promotion.starts_at = spec.starts_at
    promotion.ends_at = spec.ends_at
    promotion.is_active = bool(spec.is_active)
    promotion.points_per_customer = values["points_per_customer"]
    promotion.times_per_customer = values["times_per_customer"]
    promotion.total_points = values["total_points"]
    promotion.points_per_event = values["points_per_event"]
    promotion.loyalty_earning_type = (spec.loyalty_earning_type or "").strip()[:32]
    promotion.is_stackable = bool(spec.is_stackable)
    promotion.is_exclusive = bool(spec.is_exclusive)
    promotion.is_considered_for_ranking = bool(spec.is_considered_for_ranking)
    promotion.is_always_apply = bool(spec.is_always_apply)
    promotion.priority = int(spec.priority or 0)
    promotion.target_group_ids = values["target_group_ids"]
    promotion.target_rule_ids = values["target_rule_ids"]
    promotion.metadata = dict(spec.metadata or {})
    promotion.allocation_actions = list(spec.allocation_actions or [])
    if isinstance(actor, Till):
        promotion.updated_by_till = actor
        promotion.updated_by_user = None
        if promotion.pk is None:
            promotion.created_by_till = actor
    elif isinstance(actor, AbstractBaseUser):
        promotion.updated_by_user = actor
        promotion.updated_by_till = None


def _write_children(promotion: Promotion, spec: PromotionSpec, values: dict[str, Any]) -> None:
    """Replace the promotion's restrictions and its ruleset tree with the spec's."""
    PromotionRestriction.objects.filter(promotion=promotion).delete()
    for row in values["restrictions"]:
        row.promotion = promotion
    PromotionRestriction.objects.bulk_create(values["restrictions"])

    PromotionRuleset.objects.filter(promotion=promotion).delete()
    ruleset_spec = spec.rulesets[0]
    ruleset = PromotionRuleset.objects.create(
        promotion=promotion,
        name=_text(ruleset_spec.name, "rulesetInfos.name"),
        context_id=int(ruleset_spec.context_id),
        context_type=_text(ruleset_spec.context_type, "rulesetInfos.contextType", max_length=32),
        endpoint_name=(ruleset_spec.endpoint_name or "POINTSENGINE_ENDPOINT")[:64],
        type=(ruleset_spec.type or "USER_CREATED")[:32],
        description=ruleset_spec.description or "",
        starts_at=ruleset_spec.starts_at,
        ends_at=ruleset_spec.ends_at,
        is_active=bool(ruleset_spec.is_active),
        is_for_global_promotion=bool(ruleset_spec.is_for_global_promotion),
        program_ids=list(ruleset_spec.program_ids or []),
        capping_info=list(ruleset_spec.capping_info or []),
        label=(ruleset_spec.label or "")[:MAX_TEXT],
    )
    RulesetFilter.objects.bulk_create(
        RulesetFilter(
            ruleset=ruleset,
            name=item.name,
            description=(item.description or item.name)[:MAX_TEXT],
            context_type=(item.context_type or "RULESET")[:32],
            is_include=bool(item.is_include),
            property_to_values=dict(item.property_to_values or {}),
            position=index,
        )
        for index, item in enumerate(ruleset_spec.filters)
    )
    pending: list[tuple[ActionSpec, PromotionAction]] = []
    for index, (rule_spec, exp_json) in enumerate(
        zip(ruleset_spec.rules, values["exp_jsons"], strict=True)
    ):
        rule = PromotionRule.objects.create(
            ruleset=ruleset,
            name=(rule_spec.name or f"Rule {index + 1}")[:MAX_TEXT],
            description=rule_spec.description or "",
            exp=rule_spec.exp.strip(),
            exp_json=exp_json,
            is_active=bool(rule_spec.is_active),
            priority=int(rule_spec.priority if rule_spec.priority is not None else -1),
            position=index,
            exp_data_type=(rule_spec.exp_data_type or "")[:32],
            updated_via_new_ui=bool(rule_spec.updated_via_new_ui),
            filter_info=list(rule_spec.filter_info or []),
        )
        for position, action_spec in enumerate(rule_spec.actions):
            pending.append(
                (
                    action_spec,
                    PromotionAction(
                        rule=rule,
                        case=str(action_spec.case).strip().lower(),
                        action_name=action_spec.action_name.strip()[:100],
                        properties={
                            str(k).strip(): str(v).strip()
                            for k, v in (action_spec.properties or {}).items()
                        },
                        complex_properties=dict(action_spec.complex_properties or {}),
                        description=(action_spec.description or "")[:MAX_TEXT],
                        position=position,
                    ),
                )
            )
    _resolve_strategies(promotion.program, pending)
    PromotionAction.objects.bulk_create([row for _, row in pending])


def _sync_usage(promotion: Promotion, *, was_tracking: bool) -> None:
    """Keep the promotion-wide usage row; when a promotion-wide limit appears, start it from the
    customers' totals (under its lock)."""
    usage, created = PromotionUsage.objects.get_or_create(promotion=promotion)
    if promotion.tracks_totals and not was_tracking and not created:
        usage = PromotionUsage.objects.select_for_update().get(pk=usage.pk)
        totals = PromotionCustomerUsage.objects.filter(promotion=promotion).aggregate(
            points=Sum("points_awarded"), times=Sum("times_awarded")
        )
        usage.points_awarded = totals["points"] or 0
        usage.times_awarded = totals["times"] or 0
        usage.save(update_fields=["points_awarded", "times_awarded"])


def _save(
    promotion: Promotion, program: Program, spec: PromotionSpec, values: dict[str, Any], actor
) -> Promotion:
    was_tracking = promotion.tracks_totals
    _check_unique(program, values, promotion.pk)
    _apply_fields(promotion, spec, values, actor)
    promotion.tracks_totals = _tracks_totals(promotion, values["restrictions"])
    try:
        with transaction.atomic():
            promotion.save()
    except IntegrityError as exc:
        # A concurrent add won the name or identifier.
        _check_unique(program, values, promotion.pk)
        raise PromotionIdentifierExistsError(field="identifier") from exc
    _write_children(promotion, spec, values)
    _sync_usage(promotion, was_tracking=was_tracking)
    catalog_changed(promotion.org_id)
    return promotion


@transaction.atomic
def promotion_create(*, program: Program, spec: PromotionSpec, actor: Actor) -> Promotion:
    """Create a promotion of `program` from `spec`. Raises the add API's errors (4003-4081)."""
    values = _checked(spec)
    promotion = Promotion(org_id=program.org_id, program=program)
    return _save(promotion, program, spec, values, actor)


@transaction.atomic
def promotion_update(*, promotion: Promotion, spec: PromotionSpec, actor: Actor) -> Promotion:
    """Replace a promotion's definition with `spec` (its usage and issues stay)."""
    values = _checked(spec)
    promotion = (
        Promotion.objects.select_for_update(of=("self",))
        .select_related("program")
        .get(pk=promotion.pk)
    )
    return _save(promotion, promotion.program, spec, values, actor)


def promotion_save(
    *, program: Program, spec: PromotionSpec, actor: Actor, promotion_id: int | None = None
) -> Promotion:
    """The add API: id -1 (or none) creates; the id of a promotion of the program replaces it."""
    if promotion_id is None or promotion_id < 0:
        return promotion_create(program=program, spec=spec, actor=actor)
    promotion = Promotion.objects.filter(pk=promotion_id, program=program).first()
    if promotion is None:
        raise PromotionNotFoundError(
            f"Promotion {promotion_id} not found in program {program.pk}", field="id"
        )
    return promotion_update(promotion=promotion, spec=spec, actor=actor)


@transaction.atomic
def promotion_set_active(*, promotion: Promotion, is_active: bool, actor: Actor) -> Promotion:
    """Switch a promotion on or off (an inactive promotion earns nothing and shows INACTIVE)."""
    now = timezone.now()
    Promotion.objects.filter(pk=promotion.pk).update(is_active=is_active, updated_at=now)
    promotion.is_active = is_active
    promotion.updated_at = now
    catalog_changed(promotion.org_id)
    return promotion


def strategies_changed(*, org: Org) -> None:
    """Award and expiry strategies are compiled into the catalog: call after changing one."""
    catalog_changed(org.pk)


def promotion_spec_of(promotion: Promotion) -> PromotionSpec:
    """The spec a promotion was written from (to change part of it and write it back)."""
    ruleset = getattr(promotion, "ruleset", None)
    rulesets = []
    if ruleset is not None:
        rulesets.append(
            RulesetSpec(
                name=ruleset.name,
                context_id=ruleset.context_id,
                org_id=promotion.org_id,
                context_type=ruleset.context_type,
                starts_at=ruleset.starts_at,
                ends_at=ruleset.ends_at,
                rules=[
                    RuleSpec(
                        exp=rule.exp,
                        exp_json=rule.exp_json,
                        actions=[
                            ActionSpec(
                                action_name=action.action_name,
                                properties=dict(action.properties),
                                case=action.case,
                                description=action.description,
                                complex_properties=dict(action.complex_properties or {}),
                            )
                            for action in rule.actions.all()
                        ],
                        name=rule.name,
                        description=rule.description,
                        is_active=rule.is_active,
                        priority=rule.priority,
                        exp_data_type=rule.exp_data_type,
                        updated_via_new_ui=rule.updated_via_new_ui,
                        filter_info=list(rule.filter_info or []),
                    )
                    for rule in ruleset.rules.all()
                ],
                filters=[
                    FilterSpec(
                        name=item.name,
                        property_to_values=dict(item.property_to_values),
                        is_include=item.is_include,
                        description=item.description,
                        context_type=item.context_type,
                    )
                    for item in ruleset.filters.all()
                ],
                endpoint_name=ruleset.endpoint_name,
                type=ruleset.type,
                is_active=ruleset.is_active,
                description=ruleset.description,
                is_for_global_promotion=ruleset.is_for_global_promotion,
                program_ids=list(ruleset.program_ids or []),
                capping_info=list(ruleset.capping_info or []),
                label=ruleset.label,
            )
        )
    restrictions = [
        RestrictionSpec(
            family=row.family,
            name=row.name,
            value=row.value,
            type=row.type,
            period_type=row.period_type,
            period_unit=row.period_unit,
        )
        for row in promotion.restrictions.all()
    ]
    return PromotionSpec(
        name=promotion.name,
        identifier=promotion.identifier,
        starts_at=promotion.starts_at,
        ends_at=promotion.ends_at,
        event_name=promotion.event_name,
        source_type=promotion.source_type,
        rulesets=rulesets,
        allocate_points_on=promotion.allocate_points_on,
        points_offer_type=promotion.points_offer_type,
        promotion_type=promotion.promotion_type,
        add_type=promotion.add_type,
        description=promotion.description,
        is_active=promotion.is_active,
        points_per_customer=promotion.points_per_customer,
        times_per_customer=promotion.times_per_customer,
        total_points=promotion.total_points,
        points_per_event=promotion.points_per_event,
        loyalty_earning_type=promotion.loyalty_earning_type,
        is_stackable=promotion.is_stackable,
        is_exclusive=promotion.is_exclusive,
        is_considered_for_ranking=promotion.is_considered_for_ranking,
        is_always_apply=promotion.is_always_apply,
        priority=promotion.priority,
        target_group_ids=list(promotion.target_group_ids or []),
        target_rule_ids=list(promotion.target_rule_ids or []),
        restrictions=restrictions,
        metadata=dict(promotion.metadata or {}),
        allocation_actions=list(promotion.allocation_actions or []),
    )


def restrictions_check(specs: Iterable[RestrictionSpec]) -> None:
    """Raise PromotionInvalidRestrictionError (4081) when a restriction is not valid."""
    _clean_restrictions(specs)


def promotion_spec_check(*, program: Program, spec: PromotionSpec, exclude_pk: int | None) -> None:
    """Every check promotion_create / promotion_update make, without writing (admin forms)."""
    values = _checked(spec)
    _check_unique(program, values, exclude_pk)
