"""Cart promotion usage on the bill seams (TRANSACTION_ADD_PIPELINE / TRANSACTION_RETURN_PIPELINE).

A bill names the evaluation it was priced with (`promotionEvaluationId`) and the promotions it
took (`appliedPromotionIdentifiers`, each carrying its evaluation id too). Adding the bill turns
the evaluation's holds into use, for the promotions the bill names (all of them when it names
none); the others are released. A hold that ran out (or a cancelled evaluation) is checked again
against what is left: if a limit was reached meanwhile the bill is refused (4112), so a limit is
never passed; the till evaluates again. An evaluation already used by another bill is 4111.

Ids this platform never issued (another engine's, or the contract's samples) are ignored: the
bill is stored and nothing is counted. So is an evaluation of another customer.

A return gives the usage back once the bill is returned in full (a FULL or CANCELLED return, or
partial returns that together reach the bill amount).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from members.models import ReturnType, Till, Transaction, TransactionType
from promotions.exceptions import CartEvaluationClosedError, CartPromotionLimitReachedError
from promotions.models import CartEvaluation, CartEvaluationPromotion, CartEvaluationUsage
from promotions.services.cart.catalog import cart_catalog_get, cart_promotion_compile
from promotions.services.cart.evaluation import promotion_identifier_read, six
from promotions.services.cart.usage import (
    counter_restrictions,
    counters_add,
    counters_lock_by_id,
    held_by_counter,
    usage_fits,
)

logger = logging.getLogger(__name__)

WHOLE_BILL_RETURNS = (ReturnType.FULL, ReturnType.CANCELLED)


def _named_promotions(transaction: Transaction) -> dict[str, set[str]]:
    """evaluation public id -> promotion public ids the bill names (empty set: all)."""
    named: dict[str, set[str]] = {}
    evaluation_id = (transaction.promotion_evaluation_id or "").strip()
    if evaluation_id:
        named[evaluation_id] = set()
    for text in transaction.applied_promotion_identifiers or ():
        payload = promotion_identifier_read(text) if text else None
        if not payload:
            continue
        evaluation = str(payload.get("evaluationId") or evaluation_id or "").strip()
        promotion = str(payload.get("promotionId") or "").strip()
        if evaluation and promotion:
            named.setdefault(evaluation, set()).add(promotion)
    return named


def _use(
    *, evaluation: CartEvaluation, promotion_ids: set[str], transaction: Transaction
) -> list[dict[str, Any]]:
    now = timezone.now()
    applied = list(
        CartEvaluationPromotion.objects.filter(evaluation=evaluation)
        .select_related("promotion")
        .order_by("position", "pk")
    )
    taken = [
        row
        for row in applied
        if row.state in (CartEvaluationPromotion.State.HELD, CartEvaluationPromotion.State.RELEASED)
        and (not promotion_ids or row.promotion.public_id in promotion_ids)
    ]
    left_out = [row for row in applied if row not in taken]
    usages = list(CartEvaluationUsage.objects.filter(applied__in=taken).order_by("counter_id"))
    counters = counters_lock_by_id(usage.counter_id for usage in usages)
    stale = [usage for usage in usages if usage.held_until is None or usage.held_until <= now]
    if stale:
        # The hold ran out or was freed: check what is left now, as a new evaluation would.
        held = held_by_counter(
            [usage.counter_id for usage in stale], now=now, excluding_evaluation_id=evaluation.pk
        )
        catalog = cart_catalog_get(evaluation.org_id)
        by_id = {promotion.id: promotion for promotion in catalog.promotions}
        applied_by_id = {row.pk: row for row in taken}
        for usage in stale:
            row = applied_by_id[usage.applied_id]
            compiled = by_id.get(row.promotion_id) or cart_promotion_compile(row.promotion)
            counter = counters[usage.counter_id]
            restrictions = counter_restrictions(counter, compiled)
            if not usage_fits(usage, counter, held.get(counter.pk), restrictions):
                raise CartPromotionLimitReachedError(
                    f"Promotion {row.promotion.name!r} of evaluation {evaluation.public_id} has "
                    "reached its usage limit since the evaluation's hold ended; evaluate the "
                    "cart again"
                )
    counters_add(usages, sign=1)
    CartEvaluationUsage.objects.filter(pk__in=[usage.pk for usage in usages]).update(
        held_until=None
    )
    CartEvaluationPromotion.objects.filter(pk__in=[row.pk for row in taken]).update(
        state=CartEvaluationPromotion.State.USED, transaction=transaction, used_at=now
    )
    released = [row.pk for row in left_out if row.state == CartEvaluationPromotion.State.HELD]
    if released:
        CartEvaluationUsage.objects.filter(applied_id__in=released).update(held_until=None)
        CartEvaluationPromotion.objects.filter(pk__in=released).update(
            state=CartEvaluationPromotion.State.RELEASED
        )
    evaluation.status = CartEvaluation.Status.REDEEMED
    evaluation.transaction = transaction
    evaluation.closed_at = now
    evaluation.save(update_fields=["status", "transaction", "closed_at", "updated_at"])
    return [
        {
            "type": "cartPromotion",
            "evaluationId": evaluation.public_id,
            "promotionId": row.promotion.public_id,
            "code": row.code.code if row.code_id else None,
            "redemptionCount": row.redemptions,
            "discount": six(row.discount),
        }
        for row in taken
    ]


def cart_promotions_on_transaction_add(
    *, transaction: Transaction, actor: Till, context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """TRANSACTION_ADD_PIPELINE step: use the usage the bill's evaluation(s) hold."""
    if transaction.type not in (TransactionType.REGULAR, TransactionType.NOT_INTERESTED):
        return []
    named = _named_promotions(transaction)
    if not named:
        return []
    evaluations = list(
        CartEvaluation.objects.select_for_update()
        .filter(org_id=transaction.org_id, public_id__in=list(named))
        .order_by("pk")
    )
    side_effects: list[dict[str, Any]] = []
    for evaluation in evaluations:
        if evaluation.customer_id is not None and evaluation.customer_id != transaction.customer_id:
            logger.warning(
                "Bill %s names evaluation %s of another customer; not counted",
                transaction.pk,
                evaluation.public_id,
            )
            continue
        if evaluation.status in (CartEvaluation.Status.REDEEMED, CartEvaluation.Status.RETURNED):
            raise CartEvaluationClosedError(
                f"Evaluation {evaluation.public_id} was already used by transaction "
                f"{evaluation.transaction_id}"
            )
        side_effects.extend(
            _use(
                evaluation=evaluation,
                promotion_ids=named[evaluation.public_id],
                transaction=transaction,
            )
        )
    return side_effects


def _is_fully_returned(transaction: Transaction, original: Transaction) -> bool:
    if transaction.return_type in WHOLE_BILL_RETURNS:
        return True
    returned = Transaction.objects.filter(original=original).aggregate(total=Sum("bill_amount"))
    return (returned["total"] or 0) >= original.bill_amount


def cart_promotions_on_transaction_return(
    *, transaction: Transaction, actor: Till, context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """TRANSACTION_RETURN_PIPELINE step: a bill returned in full gives its usage back."""
    original = transaction.original
    if original is None:
        return []
    evaluations = list(
        CartEvaluation.objects.select_for_update()
        .filter(transaction=original, status=CartEvaluation.Status.REDEEMED)
        .order_by("pk")
    )
    if not evaluations or not _is_fully_returned(transaction, original):
        return []
    side_effects = []
    now = timezone.now()
    for evaluation in evaluations:
        used = list(
            CartEvaluationPromotion.objects.filter(
                evaluation=evaluation, state=CartEvaluationPromotion.State.USED
            ).select_related("promotion")
        )
        usages = list(CartEvaluationUsage.objects.filter(applied__in=used).order_by("counter_id"))
        counters_lock_by_id(usage.counter_id for usage in usages)
        counters_add(usages, sign=-1)
        CartEvaluationPromotion.objects.filter(pk__in=[row.pk for row in used]).update(
            state=CartEvaluationPromotion.State.RETURNED
        )
        evaluation.status = CartEvaluation.Status.RETURNED
        evaluation.closed_at = now
        evaluation.save(update_fields=["status", "closed_at", "updated_at"])
        side_effects.extend(
            {
                "type": "cartPromotionReturn",
                "evaluationId": evaluation.public_id,
                "promotionId": row.promotion.public_id,
                "redemptionCount": row.redemptions,
                "discount": six(row.discount),
            }
            for row in used
        )
    return side_effects
