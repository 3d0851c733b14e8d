"""Which live promotions an event meets and what their actions would give, in memory (no query
per promotion), and how competing promotions are resolved.

A promotion's rules run in priority order; the first rule whose outcome ("true" or "false") has
actions decides. A LINEITEM promotion runs its rules once per sold line (with `lineItem` bound)
and awards on each line's amount; a BILL promotion runs them once and awards on the event amount.

Resolution per program, deterministic:
  1. isAlwaysApply promotions always apply;
  2. if any exclusive promotion qualifies, only the best-ranked exclusive one applies;
  3. otherwise every stackable promotion applies, and of the non-stackable ones only the
     best-ranked.
Rank: promotions considered for ranking first, then lower `priority`, then more points, then the
older promotion (lower id). When limits leave the winner with nothing, the next in rank tries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from members.models import Customer, Program
from promotions.models import AllocatePointsOn
from promotions.rules import RuleContext, RuleEvaluationError
from promotions.services.awards import award_points
from promotions.services.catalog import CompiledAction, CompiledPromotion
from promotions.services.context import EarningEvent

logger = logging.getLogger(__name__)
ZERO = Decimal(0)


@dataclass
class AwardPart:
    """What one action gives on one line (line_id None: the whole event)."""

    points: Decimal
    raw: Decimal
    line_id: int | None
    action: CompiledAction


@dataclass
class Candidate:
    promotion: CompiledPromotion
    program: Program
    parts: list[AwardPart]
    issue: Any = None
    # Filled by the limits: what is actually credited.
    awarded: list[AwardPart] = field(default_factory=list)

    @property
    def points(self) -> Decimal:
        return sum((part.points for part in self.parts), ZERO)

    @property
    def awarded_points(self) -> Decimal:
        return sum((part.points for part in self.awarded), ZERO)

    def rank(self) -> tuple:
        promotion = self.promotion
        return (
            0 if promotion.is_considered_for_ranking else 1,
            promotion.priority,
            -self.points,
            promotion.id,
        )


def passes_filters(
    promotion: CompiledPromotion, *, customer: Customer, event: EarningEvent
) -> bool:
    if not promotion.loyalty_types.allows((customer.loyalty_type or "").lower()):
        return False
    if not promotion.sources.allows((event.source or "").upper()):
        return False
    if event.target is not None:
        if promotion.target_rule_ids and event.target.rule_id not in promotion.target_rule_ids:
            return False
        if promotion.target_group_ids and event.target.group_id not in promotion.target_group_ids:
            return False
    return True


def _actions(promotion: CompiledPromotion, context: RuleContext) -> tuple[CompiledAction, ...]:
    for entry in promotion.rules:
        try:
            outcome = entry.rule.matches(context)
        except RuleEvaluationError as exc:
            logger.debug("Rule %s of promotion %s not met: %s", entry.rule_id, promotion.id, exc)
            outcome = False
        actions = entry.cases.get("true" if outcome else "false")
        if actions:
            return actions
    return ()


def _parts(
    actions: tuple[CompiledAction, ...],
    *,
    amount: Decimal,
    line_id: int | None,
    event: EarningEvent,
    places: int,
) -> list[AwardPart]:
    parts = []
    for action in actions:
        if action.award is None:
            continue
        if action.target_group_id and (
            event.target is None or event.target.group_id != action.target_group_id
        ):
            continue
        raw, points = award_points(action.award, amount, places=places)
        if points > 0:
            parts.append(AwardPart(points=points, raw=raw, line_id=line_id, action=action))
    return parts


def evaluate_promotion(
    promotion: CompiledPromotion,
    *,
    context: RuleContext,
    program: Program,
    event: EarningEvent,
) -> list[AwardPart]:
    """The award parts the promotion's rules give for the event (before limits)."""
    places = program.points_decimal_places
    if promotion.allocate_on == AllocatePointsOn.LINEITEM and event.transaction is not None:
        parts: list[AwardPart] = []
        for line in context.line_rows():
            line_context = context.with_roots(lineItem=line)
            actions = _actions(promotion, line_context)
            if actions:
                parts.extend(
                    _parts(
                        actions,
                        amount=line["amount"] or ZERO,
                        line_id=line["id"],
                        event=event,
                        places=places,
                    )
                )
        return parts
    actions = _actions(promotion, context)
    if not actions:
        return []
    return _parts(actions, amount=event.amount, line_id=None, event=event, places=places)


def resolve(candidates: list[Candidate]) -> list[list[Candidate]]:
    """The slots to award, each a chain tried in rank order until one gives points (see the
    module docstring)."""
    always = [c for c in candidates if c.promotion.is_always_apply]
    rest = [c for c in candidates if not c.promotion.is_always_apply]
    slots: list[list[Candidate]] = [[c] for c in sorted(always, key=Candidate.rank)]
    exclusive = sorted((c for c in rest if c.promotion.is_exclusive), key=Candidate.rank)
    if exclusive:
        slots.append(exclusive)
        return slots
    slots.extend([c] for c in sorted(rest, key=Candidate.rank) if c.promotion.is_stackable)
    competing = sorted((c for c in rest if not c.promotion.is_stackable), key=Candidate.rank)
    if competing:
        slots.append(competing)
    return slots
