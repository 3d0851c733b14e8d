"""Cart promotion reads: promotions by public id, evaluations of a customer, and promo codes with
what their restrictions leave and the bills that redeemed them (code lookup, member care)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from members.exceptions import CustomerMergedError, CustomerNotFoundError
from members.models import Customer
from promotions.exceptions import CartEvaluationNotFoundError, CartPromotionNotFoundError
from promotions.models import (
    CartEvaluation,
    CartEvaluationPromotion,
    CartPromotion,
    CartPromotionCounter,
    PromoCode,
)
from promotions.services.cart.catalog import cart_promotion_compile
from promotions.services.cart.engine import CounterRestriction
from promotions.services.cart.usage import LEVELS, held_by_counter, period_of, window_start

MAX_DATABASE_ID = 2**63 - 1


class CartPromotionStatus:
    UPCOMING = "UPCOMING"
    LIVE = "LIVE"
    EXPIRED = "EXPIRED"
    INACTIVE = "INACTIVE"


def cart_promotion_status(promotion: CartPromotion, now: datetime.datetime | None = None) -> str:
    now = now or timezone.now()
    if not promotion.is_active:
        return CartPromotionStatus.INACTIVE
    if now < promotion.starts_at:
        return CartPromotionStatus.UPCOMING
    if now > promotion.ends_at:
        return CartPromotionStatus.EXPIRED
    return CartPromotionStatus.LIVE


def cart_promotion_get(*, org_ids: Iterable[int], promotion_id: str) -> CartPromotion:
    """The promotion with that public id in the orgs. Raises CartPromotionNotFoundError."""
    promotion = CartPromotion.objects.filter(
        org_id__in=list(org_ids), public_id=str(promotion_id or "").strip()
    ).first()
    if promotion is None:
        raise CartPromotionNotFoundError(f"Promotion {promotion_id} not found", field="promotionId")
    return promotion


def cart_promotions_list(
    *,
    org_ids: Iterable[int],
    public_ids: Sequence[str] | None = None,
    include_expired: bool = True,
    include_inactive: bool = True,
) -> QuerySet[CartPromotion]:
    rows = CartPromotion.objects.filter(org_id__in=list(org_ids))
    if public_ids is not None:
        rows = rows.filter(public_id__in=list(public_ids))
    if not include_expired:
        rows = rows.filter(ends_at__gte=timezone.now())
    if not include_inactive:
        rows = rows.filter(is_active=True)
    return rows.order_by("-id")


def cart_customer_get(*, org_ids: Iterable[int], customer_id: int | str | None) -> Customer:
    """The customer of the engine APIs (`customerId` is the customer's id). Raises 8015 (also
    for another org's customer) and 8069 (merged)."""
    text = str(customer_id if customer_id is not None else "").strip()
    if not text.isdigit() or int(text) > MAX_DATABASE_ID:
        raise CustomerNotFoundError(f"Invalid customerId {customer_id!r}", field="customerId")
    customer = Customer.objects.filter(org_id__in=list(org_ids), pk=int(text)).first()
    if customer is None:
        raise CustomerNotFoundError(f"Customer {text} not found", field="customerId")
    if customer.merged_into_id:
        raise CustomerMergedError(
            f"Customer {text} was merged into {customer.merged_into_id}", field="customerId"
        )
    return customer


def cart_evaluation_get(
    *, org_ids: Iterable[int], customer: Customer, evaluation_id: str
) -> CartEvaluation:
    """The customer's evaluation. Raises CartEvaluationNotFoundError (4110)."""
    evaluation = CartEvaluation.objects.filter(
        org_id__in=list(org_ids), customer=customer, public_id=str(evaluation_id).strip()
    ).first()
    if evaluation is None:
        raise CartEvaluationNotFoundError(
            f"Evaluation {evaluation_id} not found for customer {customer.pk}",
            field="evaluationId",
        )
    return evaluation


def cart_evaluations_pending(*, customer: Customer) -> list[CartEvaluation]:
    """The customer's evaluations still holding promotions (locked carts), newest first."""
    return list(
        CartEvaluation.objects.filter(
            customer=customer,
            status=CartEvaluation.Status.PENDING,
            expires_at__gt=timezone.now(),
            applied__state=CartEvaluationPromotion.State.HELD,
        )
        .distinct()
        .order_by("-created_at", "-pk")
    )


def cart_evaluation_status(evaluation: CartEvaluation, now: datetime.datetime | None = None) -> str:
    now = now or timezone.now()
    if evaluation.status == CartEvaluation.Status.PENDING and evaluation.expires_at <= now:
        return CartEvaluation.Status.EXPIRED
    return evaluation.status


# Codes ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestrictionStatus:
    level: str
    kpi: str
    max_limit: Decimal
    remaining: Decimal
    held: Decimal
    period_start: datetime.datetime | None = None
    period_end: datetime.datetime | None = None


def window_end(restriction: CounterRestriction, start: datetime.datetime, tz) -> datetime.datetime:
    local = start.astimezone(tz)
    if restriction.frequency == "MONTHS":
        months = local.year * 12 + local.month - 1 + restriction.repeat
        following = datetime.datetime(months // 12, months % 12 + 1, 1, tzinfo=tz)
    else:
        days = restriction.repeat * (7 if restriction.frequency == "WEEKS" else 1)
        following = datetime.datetime.combine(
            local.date() + datetime.timedelta(days=days), datetime.time.min, tzinfo=tz
        )
    return following - datetime.timedelta(milliseconds=1)


def code_restrictions_status(
    code: PromoCode, *, customer_id: int | None = None
) -> list[RestrictionStatus]:
    """What each Code and Promotion restriction (and Customer, given a customer) leaves now."""
    promotion = cart_promotion_compile(code.promotion)
    now = timezone.now()
    tz = code.promotion.org.tzinfo
    wanted = []
    for restriction in promotion.counter_restrictions:
        if restriction.level == "Code":
            scope = str(code.pk)
        elif restriction.level == "Promotion":
            scope = ""
        elif customer_id is not None:
            scope = str(customer_id)
        else:
            continue
        start = window_start(
            restriction=restriction, promotion_start=promotion.starts_at, moment=now, tz=tz
        )
        wanted.append((restriction, scope, start))
    if not wanted:
        return []
    counters = {
        (row.level, row.scope_key, row.period, row.window_start): row
        for row in CartPromotionCounter.objects.filter(
            promotion_id=promotion.id, scope_key__in={scope for _, scope, _ in wanted}
        )
    }
    held = held_by_counter([row.pk for row in counters.values()], now=now)
    statuses = []
    for restriction, scope, start in wanted:
        counter = counters.get((LEVELS[restriction.level], scope, period_of(restriction), start))
        used = Decimal(0)
        taken = Decimal(0)
        if counter is not None:
            hold = held.get(counter.pk)
            if restriction.kpi == "REDEMPTION":
                used = Decimal(counter.used_redemptions)
                taken = Decimal(hold.redemptions) if hold else taken
            elif restriction.kpi == "TRANSACTION":
                used = Decimal(counter.used_transactions)
                taken = Decimal(hold.transactions) if hold else taken
            else:
                used = counter.used_discount
                taken = hold.discount if hold else taken
        statuses.append(
            RestrictionStatus(
                level=restriction.level,
                kpi=restriction.kpi,
                max_limit=restriction.limit,
                remaining=max(Decimal(0), restriction.limit - used - taken),
                held=taken,
                period_start=start if restriction.frequency else None,
                period_end=window_end(restriction, start, tz) if restriction.frequency else None,
            )
        )
    return statuses


@dataclass
class CodeLookup:
    text: str
    code: PromoCode | None
    redemptions: list[CartEvaluationPromotion] = field(default_factory=list)


def promo_codes_lookup(
    *, org_ids: Iterable[int], codes: Sequence[str], include_redemptions: bool = False
) -> list[CodeLookup]:
    """Each asked code with its row (None when unknown) and, if asked, its redemptions."""
    texts = list(dict.fromkeys(str(code).strip().upper() for code in codes if str(code).strip()))
    rows = {
        row.code: row
        for row in PromoCode.objects.filter(org_id__in=list(org_ids), code__in=texts)
        .select_related("promotion", "promotion__org")
        .prefetch_related("links")
    }
    result = [CodeLookup(text=text, code=rows.get(text)) for text in texts]
    if include_redemptions:
        for item in result:
            if item.code is not None:
                item.redemptions = promo_code_redemptions(code=item.code)
    return result


def promo_code_redemptions(*, code: PromoCode) -> list[CartEvaluationPromotion]:
    """Every bill that used (or returned) the code, newest first, with its transaction."""
    return list(
        CartEvaluationPromotion.objects.filter(
            code=code,
            state__in=[
                CartEvaluationPromotion.State.USED,
                CartEvaluationPromotion.State.RETURNED,
            ],
        )
        .select_related("evaluation", "transaction", "transaction__store", "customer")
        .order_by("-used_at", "-pk")
    )
