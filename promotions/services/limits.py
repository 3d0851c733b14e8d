"""Limits and restrictions at earn time, exact under concurrency.

The caller holds the customer's row lock, so the customer's usage rows and earn log cannot change
under it; promotion-wide totals are read from PromotionUsage rows locked here (pk order), and
promotion-wide windows from the earn log after that lock. Points limits cap an award (the last
points up to the limit are still given); count limits refuse it once reached.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum

from members.models import Customer, Org
from promotions.models import PromotionCustomerUsage, PromotionEarn, PromotionUsage
from promotions.services.awards import cut_to_places, period_start
from promotions.services.catalog import CompiledPromotion, CompiledRestriction
from promotions.services.evaluation import AwardPart, Candidate

ZERO = Decimal(0)


@dataclass
class UsageState:
    now: datetime.datetime
    org: Org
    customer: dict[int, PromotionCustomerUsage] = field(default_factory=dict)
    promotion: dict[int, PromotionUsage] = field(default_factory=dict)
    # promotion id -> [(earned_at, points)] of this customer since the earliest window start
    customer_earns: dict[int, list[tuple[datetime.datetime, Decimal]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # (promotion id, window start) -> [times, points] of every customer
    promotion_windows: dict[tuple[int, datetime.datetime], list] = field(default_factory=dict)

    def window_start(self, restriction: CompiledRestriction) -> datetime.datetime:
        return period_start(
            restriction.period_type, restriction.period_unit, now=self.now, org=self.org
        )


def _locked_rows(model, *, filters: dict, ids: list[int], defaults: dict) -> dict[int, object]:
    """Lock the rows of `ids` (pk order), creating the missing ones first."""
    rows = {
        row.promotion_id: row
        for row in model.objects.select_for_update()
        .filter(promotion_id__in=ids, **filters)
        .order_by("pk")
    }
    missing = [promotion_id for promotion_id in ids if promotion_id not in rows]
    if missing:
        model.objects.bulk_create(
            [model(promotion_id=promotion_id, **filters, **defaults) for promotion_id in missing],
            ignore_conflicts=True,
        )
        rows.update(
            (row.promotion_id, row)
            for row in model.objects.select_for_update()
            .filter(promotion_id__in=missing, **filters)
            .order_by("pk")
        )
    return rows


def usage_state_load(
    *, customer: Customer, promotions: list[CompiledPromotion], now: datetime.datetime, org: Org
) -> UsageState:
    """Lock and read everything the limits of `promotions` need (a few queries, not one per
    promotion)."""
    state = UsageState(now=now, org=org)
    ids = sorted({promotion.id for promotion in promotions})
    state.customer = _locked_rows(
        PromotionCustomerUsage, filters={"customer_id": customer.pk}, ids=ids, defaults={}
    )
    tracking = sorted({p.id for p in promotions if p.tracks_totals})
    if tracking:
        state.promotion = _locked_rows(PromotionUsage, filters={}, ids=tracking, defaults={})

    customer_windows: dict[int, datetime.datetime] = {}
    promotion_windows: set[tuple[int, datetime.datetime]] = set()
    for promotion in promotions:
        for restriction in promotion.restrictions:
            if not restriction.is_periodic or restriction.kpi.measure == "issues":
                continue
            start = state.window_start(restriction)
            if restriction.kpi.scope == "CUSTOMER":
                earliest = customer_windows.get(promotion.id)
                customer_windows[promotion.id] = start if earliest is None else min(earliest, start)
            elif restriction.kpi.scope == "PROMOTION":
                promotion_windows.add((promotion.id, start))
    if customer_windows:
        rows = PromotionEarn.objects.filter(
            customer_id=customer.pk,
            promotion_id__in=list(customer_windows),
            earned_at__gte=min(customer_windows.values()),
        ).values_list("promotion_id", "earned_at", "points")
        for promotion_id, earned_at, points in rows:
            state.customer_earns[promotion_id].append((earned_at, points))
    for promotion_id, start in sorted(promotion_windows):
        # Under the promotion's usage lock: every earlier earn is committed and counted.
        totals = PromotionEarn.objects.filter(
            promotion_id=promotion_id, earned_at__gte=start
        ).aggregate(times=Count("id"), points=Sum("points"))
        state.promotion_windows[(promotion_id, start)] = [
            totals["times"] or 0,
            totals["points"] or ZERO,
        ]
    return state


def _usage(
    state: UsageState, promotion: CompiledPromotion, restriction: CompiledRestriction
) -> tuple[int, Decimal]:
    """(times, points) the restriction measures right now."""
    if restriction.kpi.scope == "CUSTOMER":
        if restriction.is_periodic:
            start = state.window_start(restriction)
            earns = [
                points for at, points in state.customer_earns.get(promotion.id, []) if at >= start
            ]
            return len(earns), sum(earns, ZERO)
        usage = state.customer[promotion.id]
        return usage.times_awarded, usage.points_awarded
    if restriction.is_periodic:
        times, points = state.promotion_windows[(promotion.id, state.window_start(restriction))]
        return times, points
    total = state.promotion[promotion.id]
    return total.times_awarded, total.points_awarded


def _keep_lines(parts: list[AwardPart], limit: int) -> list[AwardPart]:
    kept_lines: list[int | None] = []
    kept = []
    for part in parts:
        if part.line_id not in kept_lines:
            if len(kept_lines) >= limit:
                continue
            kept_lines.append(part.line_id)
        kept.append(part)
    return kept


def _trim(parts: list[AwardPart], cap: Decimal, places: int) -> list[AwardPart]:
    cap = cut_to_places(max(cap, ZERO), places)
    kept = []
    left = cap
    for part in parts:
        if left <= 0:
            break
        if part.points <= left:
            kept.append(part)
            left -= part.points
        else:
            kept.append(AwardPart(points=left, raw=left, line_id=part.line_id, action=part.action))
            left = ZERO
    return kept


def limited_parts(candidate: Candidate, state: UsageState) -> list[AwardPart]:
    """The candidate's award parts after every limit and restriction (empty: nothing to give)."""
    promotion = candidate.promotion
    usage = state.customer[promotion.id]
    total = state.promotion.get(promotion.id)
    if (
        promotion.times_per_customer is not None
        and usage.times_awarded >= promotion.times_per_customer
    ):
        return []
    caps: list[Decimal] = []
    if promotion.points_per_event is not None:
        caps.append(promotion.points_per_event)
    if promotion.points_per_customer is not None:
        caps.append(promotion.points_per_customer - usage.points_awarded)
    if promotion.total_points is not None and total is not None:
        caps.append(promotion.total_points - total.points_awarded)
    line_limit: int | None = None
    for restriction in promotion.restrictions:
        kpi = restriction.kpi
        if kpi.measure == "issues":
            continue  # issual limits apply when issuing
        if kpi.scope == "ISSUE":
            if candidate.issue is not None:
                caps.append(restriction.value - candidate.issue.points_earned)
            continue
        if kpi.scope == "EVENT":
            if kpi.measure == "points":
                caps.append(restriction.value)
            else:
                limit = int(restriction.value)
                line_limit = limit if line_limit is None else min(line_limit, limit)
            continue
        times, points = _usage(state, promotion, restriction)
        if kpi.measure == "times":
            if times >= restriction.value:
                return []
        else:
            caps.append(restriction.value - points)
    parts = list(candidate.parts)
    if line_limit is not None:
        parts = _keep_lines(parts, line_limit)
    if caps:
        parts = _trim(parts, min(caps), candidate.program.points_decimal_places)
    return [part for part in parts if part.points > 0]


def usage_record(candidate: Candidate, state: UsageState) -> None:
    """Count an award in the in-memory state (the caller writes the rows)."""
    promotion = candidate.promotion
    points = candidate.awarded_points
    usage = state.customer[promotion.id]
    usage.times_awarded += 1
    usage.points_awarded += points
    usage.last_awarded_at = state.now
    total = state.promotion.get(promotion.id)
    if total is not None:
        total.times_awarded += 1
        total.points_awarded += points
    state.customer_earns[promotion.id].append((state.now, points))
    for (promotion_id, _start), values in state.promotion_windows.items():
        if promotion_id == promotion.id:
            values[0] += 1
            values[1] += points
    if candidate.issue is not None:
        candidate.issue.points_earned += points
        candidate.issue.earn_count += 1
