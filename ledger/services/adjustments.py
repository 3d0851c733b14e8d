"""Negative points adjustment ("Manual Points Adjustment", §11.9): a member-care deduction with
a reason, optionally tied to the award (bill, line item, promotion) it corrects."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction as db_transaction

from ledger.exceptions import (
    AdjustmentAwardInvalidError,
    AdjustmentAwardRefTypeInvalidError,
    AdjustmentDecimalsError,
    AdjustmentExceedsAvailableError,
    AdjustmentPromotionInvalidError,
    AdjustmentPromotionProgramMissingError,
    AdjustmentReasonMissingError,
    AdjustmentZeroError,
    InsufficientCurrentPointsError,
    InvalidPointsError,
)
from ledger.models import EventName, LedgerEvent
from ledger.services.earn import points_deduct
from ledger.services.posting import ensure_program, to_points
from ledger.services.redeem import ensure_enrolled
from members.models import Customer, PointsCategory, Program, Transaction, TransactionLineItem

BILL_REF_TYPES = frozenset({"bill_regular", "bill_promotions"})
LINE_ITEM_REF_TYPES = frozenset({"line_item_regular", "line_item_promotions"})
PROMOTION_REF_TYPES = frozenset({"customer_promotions"})
POINTS_AWARDED_REF_TYPES = BILL_REF_TYPES | LINE_ITEM_REF_TYPES | PROMOTION_REF_TYPES
MAX_POINTS = Decimal(10) ** 15  # the ledger keeps at most 15 integer digits


def _amount(value: Any, program: Program) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidPointsError(f"Invalid pointsToBeAdjusted {value!r}") from exc
    if not amount.is_finite() or amount < 0 or amount >= MAX_POINTS:
        raise InvalidPointsError(f"Invalid pointsToBeAdjusted {value!r}")
    if amount == 0:
        raise AdjustmentZeroError()
    places = program.points_decimal_places
    if amount != amount.quantize(Decimal(1).scaleb(-min(places, 3))):
        raise AdjustmentDecimalsError(f"Program {program.pk} allows {places} decimal places")
    return to_points(amount, program=program)


def _awarded_transaction(
    *, customer: Customer, awarded_id: int | None, ref_type: str
) -> tuple[Transaction | None, dict[str, Any]]:
    """The bill an adjustment corrects (its lots go first) and the details to record."""
    if not ref_type and awarded_id is None:
        return None, {}
    if ref_type not in POINTS_AWARDED_REF_TYPES:
        raise AdjustmentAwardRefTypeInvalidError(
            f"pointsAwardedRefType must be one of {', '.join(sorted(POINTS_AWARDED_REF_TYPES))}"
        )
    if awarded_id is None:
        raise AdjustmentAwardInvalidError("pointsAwardedId is required with pointsAwardedRefType")
    details = {"pointsAwardedId": awarded_id, "pointsAwardedRefType": ref_type}
    if ref_type in BILL_REF_TYPES:
        transaction = Transaction.objects.filter(pk=awarded_id, customer=customer).first()
        if transaction is None:
            raise AdjustmentAwardInvalidError(f"No bill {awarded_id} of this customer")
        return transaction, details
    if ref_type in LINE_ITEM_REF_TYPES:
        line = (
            TransactionLineItem.objects.filter(pk=awarded_id, transaction__customer=customer)
            .select_related("transaction")
            .first()
        )
        if line is None:
            raise AdjustmentAwardInvalidError(f"No line item {awarded_id} of this customer")
        return line.transaction, details
    credited = LedgerEvent.objects.filter(pk=awarded_id, customer=customer, net_points__gt=0)
    if not credited.exists():
        raise AdjustmentAwardInvalidError(f"No points award {awarded_id} of this customer")
    return None, details


def _check_promotion(
    *, customer: Customer, program: Program, promotion_id: str, promotion_identifier: str
) -> dict[str, Any]:
    events = LedgerEvent.objects.filter(customer=customer, net_points__gt=0)
    if promotion_id:
        if not events.filter(promotion_id=promotion_id).exists():
            raise AdjustmentPromotionInvalidError(
                f"Promotion {promotion_id} awarded nothing to this customer"
            )
        return {"promotionId": promotion_id}
    if promotion_identifier:
        awarded = events.filter(promotion_identifier=promotion_identifier, source_program=program)
        if not awarded.exists():
            raise AdjustmentPromotionInvalidError(
                f"Promotion {promotion_identifier} awarded nothing in program {program.pk}"
            )
        return {"promotionIdentifier": promotion_identifier}
    return {}


@db_transaction.atomic
def points_negative_adjust(
    *,
    customer: Customer,
    program: Program,
    points: Any,
    reason: str,
    actor: Any,
    idempotency_key: str,
    category: str = PointsCategory.REGULAR,
    program_given: bool = True,
    points_awarded_id: int | None = None,
    points_awarded_ref_type: str = "",
    promotion_id: str = "",
    promotion_identifier: str = "",
) -> LedgerEvent:
    """Deduct `points` of `category` in `program` (a ManualPointsAdjustment event with the
    reason). Scoped to an award, the bill's own lots go first. The balance never goes below
    zero. `program_given` says whether the caller named the program (promotionIdentifier needs
    it). A replay of `idempotency_key` returns the first event (is_replay=True).

    Raises AdjustmentReasonMissingError (8882), AdjustmentZeroError (8888), InvalidPointsError
    (801), AdjustmentDecimalsError (8906), AdjustmentExceedsAvailableError (8907),
    AdjustmentPromotionProgramMissingError (8887), AdjustmentPromotionInvalidError (8874),
    AdjustmentAwardInvalidError (8877), AdjustmentAwardRefTypeInvalidError (9975),
    InvalidProgramIdError (885), NotEnrolledError (1218), CustomerMergedError (8069).
    """
    reason = (reason or "").strip()
    if not reason:
        raise AdjustmentReasonMissingError()
    if promotion_identifier and not program_given:
        raise AdjustmentPromotionProgramMissingError()
    ensure_program(customer, program)
    amount = _amount(points, program)
    ensure_enrolled(customer, program)
    transaction, details = _awarded_transaction(
        customer=customer, awarded_id=points_awarded_id, ref_type=points_awarded_ref_type
    )
    details.update(
        _check_promotion(
            customer=customer,
            program=program,
            promotion_id=promotion_id,
            promotion_identifier=promotion_identifier,
        )
    )
    try:
        return points_deduct(
            customer=customer,
            program=program,
            points=amount,
            actor=actor,
            idempotency_key=idempotency_key,
            event_name=EventName.MANUAL_POINTS_ADJUSTMENT,
            category=category,
            reason=reason,
            transaction=transaction,
            details=details,
        )
    except InsufficientCurrentPointsError as exc:
        raise AdjustmentExceedsAvailableError(exc.message) from exc
