"""The earning engine's catalog: every active promotion of an org, compiled once per process.

Reading the database for 200 promotions, their rules, actions and restrictions on every bill would
cost more than the bill itself, so each process keeps the org's promotions compiled (rules as
closures, strategies as plain values) and checks one token per event: `catalog_changed` gives the
org a new token in the same transaction as any promotion or strategy write, and a process that
sees another token rebuilds the catalog (five queries).
"""

from __future__ import annotations

import datetime
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from promotions.models import (
    AwardStrategy,
    ExpiryStrategy,
    PointsOfferType,
    Promotion,
    PromotionAction,
    PromotionCatalogState,
    PromotionRule,
    RestrictionFamily,
    RestrictionType,
)
from promotions.rules import CompiledRule, RuleSyntaxError, rule_compile
from promotions.services.kpis import DISABLED, Kpi, kpi_of

logger = logging.getLogger(__name__)

# Actions that credit points; other actions (badges, rewards, alternate currencies) are kept and
# shown but do nothing here.
POINTS_ACTIONS = frozenset(
    {
        "AWARD_POINTS_ACTION",
        "AWARD_TARGET_POINTS_ACTION",
        "AWARD_BILL_POINTS_ACTION",
        "AWARD_LINEITEM_POINTS_ACTION",
    }
)
ROUNDING_ALIASES = {"ROUND_DOWN": "FLOOR", "ROUND_UP": "CEIL", "NONE": "ACTUAL"}
DELAY_FROM_STRATEGY = "AS_DEFINED_IN_ALLOCATION_STRATEGY"
# An event earns from the promotions live at its own time (a bill's billing date); promotions
# that ended this long ago stay compiled for bills sent late.
BACKDATED_EVENTS_WINDOW = datetime.timedelta(days=90)


@dataclass(frozen=True, slots=True)
class AwardPlan:
    strategy_id: int
    kind: str
    value: Decimal
    per_amount: Decimal
    rounding: str
    source_rounding: str
    delay_days: int


@dataclass(frozen=True, slots=True)
class ExpiryPlan:
    strategy_id: int
    kind: str
    value: int


@dataclass(frozen=True, slots=True)
class CompiledAction:
    action_id: int
    name: str
    award: AwardPlan | None
    expiry: ExpiryPlan | None
    target_group_id: str
    award_strategy_ref: str
    expiry_strategy_ref: str


@dataclass(frozen=True, slots=True)
class CompiledRuleEntry:
    rule_id: int
    name: str
    rule: CompiledRule
    cases: dict[str, tuple[CompiledAction, ...]]


@dataclass(frozen=True, slots=True)
class CompiledRestriction:
    family: str
    name: str
    kpi: Kpi
    value: Decimal
    period_type: str
    period_unit: str

    @property
    def is_periodic(self) -> bool:
        return bool(self.period_type)


@dataclass(frozen=True, slots=True)
class SetFilter:
    include: frozenset[str] | None
    exclude: frozenset[str]

    def allows(self, value: str) -> bool:
        if value in self.exclude or "ALL" in self.exclude:
            return False
        if self.include is None:
            return True
        return value in self.include or "ALL" in self.include


ALLOW_ALL = SetFilter(None, frozenset())


@dataclass(frozen=True)
class CompiledPromotion:
    id: int
    org_id: int
    program_id: int
    name: str
    identifier: str
    description: str
    event_key: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    allocate_on: str
    offer_type: str
    is_stackable: bool
    is_exclusive: bool
    is_considered_for_ranking: bool
    is_always_apply: bool
    priority: int
    points_per_customer: Decimal | None
    times_per_customer: int | None
    total_points: Decimal | None
    points_per_event: Decimal | None
    tracks_totals: bool
    restrictions: tuple[CompiledRestriction, ...]
    rules: tuple[CompiledRuleEntry, ...]
    loyalty_types: SetFilter
    sources: SetFilter
    target_group_ids: frozenset[str]
    target_rule_ids: frozenset[str]
    roots: frozenset[str] = frozenset()

    @property
    def needs_issue(self) -> bool:
        return self.offer_type != PointsOfferType.GENERIC

    def is_live(self, moment: datetime.datetime) -> bool:
        return self.starts_at <= moment <= self.ends_at


@dataclass
class Catalog:
    token: str | None
    # event key -> program id -> promotions
    by_event: dict[str, dict[int, tuple[CompiledPromotion, ...]]]


_cache: dict[int, Catalog] = {}
_build_lock = threading.Lock()


# Compiling ---------------------------------------------------------------------------------------
def _rounding(value: Any, default: str) -> str:
    text = str(value or "").strip().upper()
    text = ROUNDING_ALIASES.get(text, text)
    return text if text in {"ACTUAL", "ROUND", "FLOOR", "CEIL"} else default


def _award_plan(action: PromotionAction) -> AwardPlan | None:
    strategy: AwardStrategy | None = action.award_strategy
    if strategy is None:
        return None
    properties = action.properties or {}
    delay = strategy.delay_days
    delay_text = str(properties.get("DelayStrategy") or "").strip()
    if delay_text.isdigit() and delay_text != DELAY_FROM_STRATEGY:
        delay = int(delay_text)
    return AwardPlan(
        strategy_id=strategy.pk,
        kind=strategy.kind,
        value=strategy.value,
        per_amount=strategy.per_amount,
        rounding=_rounding(properties.get("PointsRoundingStrategy"), strategy.rounding),
        source_rounding=_rounding(properties.get("SourceValueRoundingStrategy"), "ACTUAL"),
        delay_days=delay,
    )


def _expiry_plan(action: PromotionAction) -> ExpiryPlan | None:
    strategy: ExpiryStrategy | None = action.expiry_strategy
    if strategy is None or strategy.kind == ExpiryStrategy.Kind.PROGRAM_DEFAULT:
        return None
    return ExpiryPlan(strategy_id=strategy.pk, kind=strategy.kind, value=strategy.value)


def _compile_action(action: PromotionAction) -> CompiledAction:
    properties = action.properties or {}
    is_points = action.action_name.strip().upper() in POINTS_ACTIONS
    return CompiledAction(
        action_id=action.pk,
        name=action.action_name,
        award=_award_plan(action) if is_points else None,
        expiry=_expiry_plan(action),
        target_group_id=str(properties.get("TargetGroupId") or "").strip(),
        award_strategy_ref=str(properties.get("AwardStrategy") or ""),
        expiry_strategy_ref=str(properties.get("ExpiryStrategy") or ""),
    )


def _compile_rule(rule: PromotionRule) -> CompiledRuleEntry | None:
    try:
        compiled = rule_compile(exp=rule.exp, exp_json=rule.exp_json)
    except RuleSyntaxError:
        logger.warning("Promotion rule %s no longer compiles; it is skipped", rule.pk)
        return None
    cases: dict[str, list[CompiledAction]] = {}
    for action in rule.actions.all():
        cases.setdefault(action.case, []).append(_compile_action(action))
    return CompiledRuleEntry(
        rule_id=rule.pk,
        name=rule.name,
        rule=compiled,
        cases={case: tuple(actions) for case, actions in cases.items()},
    )


def _set_filter(filters, name: str, key: str, normalise) -> SetFilter:
    include: set[str] | None = None
    exclude: set[str] = set()
    for item in filters:
        if item.name != name:
            continue
        values = {normalise(str(v).strip()) for v in (item.property_to_values or {}).get(key, [])}
        if item.is_include:
            include = values if include is None else include & values
        else:
            exclude |= values
    return SetFilter(frozenset(include) if include is not None else None, frozenset(exclude))


def _compile_restrictions(promotion: Promotion) -> tuple[CompiledRestriction, ...]:
    rows = []
    for row in promotion.restrictions.all():
        kpi = kpi_of(row.family, row.name)
        if kpi is None or row.family == RestrictionFamily.EXPIRY or row.value == DISABLED:
            continue
        periodic = row.type == RestrictionType.PERIOD_BASED
        rows.append(
            CompiledRestriction(
                family=row.family,
                name=row.name,
                kpi=kpi,
                value=row.value,
                period_type=row.period_type if periodic else "",
                period_unit=row.period_unit if periodic else "",
            )
        )
    return tuple(rows)


def compile_promotion(promotion: Promotion) -> CompiledPromotion | None:
    """The promotion as the engine runs it; None when its ruleset is switched off."""
    ruleset = getattr(promotion, "ruleset", None)
    if ruleset is None or not ruleset.is_active:
        return None
    rules = tuple(
        entry
        for entry in (_compile_rule(rule) for rule in ruleset.rules.all())
        if entry is not None
    )
    filters = list(ruleset.filters.all())
    roots: set[str] = set()
    for entry in rules:
        roots |= entry.rule.roots
    return CompiledPromotion(
        id=promotion.pk,
        org_id=promotion.org_id,
        program_id=promotion.program_id,
        name=promotion.name,
        identifier=promotion.identifier,
        description=promotion.description,
        event_key=promotion.event_key,
        starts_at=max(promotion.starts_at, ruleset.starts_at),
        ends_at=min(promotion.ends_at, ruleset.ends_at),
        allocate_on=promotion.allocate_points_on,
        offer_type=promotion.points_offer_type,
        is_stackable=promotion.is_stackable,
        is_exclusive=promotion.is_exclusive,
        is_considered_for_ranking=promotion.is_considered_for_ranking,
        is_always_apply=promotion.is_always_apply,
        priority=promotion.priority,
        points_per_customer=promotion.points_per_customer,
        times_per_customer=promotion.times_per_customer,
        total_points=promotion.total_points,
        points_per_event=promotion.points_per_event,
        tracks_totals=promotion.tracks_totals,
        restrictions=_compile_restrictions(promotion),
        rules=rules,
        loyalty_types=_set_filter(filters, "LoyaltyType", "loyaltyType", str.lower),
        sources=_set_filter(filters, "EventSource", "eventSource", str.upper),
        target_group_ids=frozenset(str(i) for i in promotion.target_group_ids or []),
        target_rule_ids=frozenset(str(i) for i in promotion.target_rule_ids or []),
        roots=frozenset(roots),
    )


def _build(org_id: int, token: str | None) -> Catalog:
    promotions = (
        Promotion.objects.filter(
            org_id=org_id,
            is_active=True,
            ends_at__gte=timezone.now() - BACKDATED_EVENTS_WINDOW,
            program__is_active=True,
        )
        .select_related("ruleset")
        .prefetch_related(
            Prefetch(
                "ruleset__rules",
                queryset=PromotionRule.objects.filter(is_active=True)
                .order_by("priority", "position", "id")
                .prefetch_related(
                    Prefetch(
                        "actions",
                        queryset=PromotionAction.objects.select_related(
                            "award_strategy", "expiry_strategy"
                        ).order_by("case", "position", "id"),
                    )
                ),
            ),
            "ruleset__filters",
            "restrictions",
        )
        .order_by("id")
    )
    by_event: dict[str, dict[int, list[CompiledPromotion]]] = {}
    for promotion in promotions:
        compiled = compile_promotion(promotion)
        if compiled is None:
            continue
        by_event.setdefault(compiled.event_key, {}).setdefault(compiled.program_id, []).append(
            compiled
        )
    return Catalog(
        token=token,
        by_event={
            key: {program: tuple(items) for program, items in programs.items()}
            for key, programs in by_event.items()
        },
    )


def catalog_get(org_id: int) -> Catalog:
    """The org's compiled promotions, rebuilt when a promotion write changed the token."""
    token = (
        PromotionCatalogState.objects.filter(org_id=org_id).values_list("token", flat=True).first()
    )
    cached = _cache.get(org_id)
    if cached is not None and cached.token == token:
        return cached
    if token is None:
        catalog = Catalog(token=None, by_event={})
    else:
        with _build_lock:
            cached = _cache.get(org_id)
            if cached is not None and cached.token == token:
                return cached
            catalog = _build(org_id, token)
    _cache[org_id] = catalog
    return catalog


def catalog_clear() -> None:
    """Forget every compiled catalog (tests; a process picks them up again on demand)."""
    _cache.clear()
