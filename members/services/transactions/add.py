"""Adding bills (§11.3-§11.5): REGULAR, NOT_INTERESTED and mixed bills.

A REGULAR or NOT_INTERESTED bill number is unique per store (a database constraint); the same
bill sent again answers the first result (see booking). The RETURN lines of a mixed bill are
booked as line-item returns of their parent bills in the same database transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from members.exceptions import ReturnBillNumberMissingError, TransactionInvalidTypeError
from members.models import (
    Customer,
    Org,
    RegistrationSource,
    ReturnType,
    Till,
    Transaction,
    TransactionType,
)
from members.selectors.transactions import UserGroupReference
from members.services.customers import registration_source_clean
from members.services.transactions.booking import (
    bill_fingerprint,
    existing_bill_lookup,
    existing_by_key,
    lifetime_purchases_add,
    line_rows_create,
    replay,
    save_or_replay,
    transaction_new,
)
from members.services.transactions.cleaning import (
    ADD_TYPES,
    check_actor,
    check_customer,
    clean_bill,
    clean_figures,
    clean_number,
    clean_return_type,
    clean_type,
)
from members.services.transactions.returns import return_book
from members.services.transactions.seams import after_add_pipeline
from members.services.transactions.values import (
    BillDetails,
    BillFigures,
    CleanBill,
    CleanLine,
    LineItemInput,
    TransactionResult,
)

# Payments, coupons and promotions belong to the sale, not to its returned lines.
MIXED_RETURN_CLEARED_FIELDS = {
    "payment_modes": [],
    "coupon_codes": [],
    "points_redemption_ids": [],
    "promotion_evaluation_id": "",
    "applied_promotion_identifiers": [],
    "loyalty_promotion_identifiers": [],
}


def _check_returned_lines(
    returned: Sequence[CleanLine], *, bill_type: str, customer: Customer | None
) -> None:
    if returned and (bill_type != TransactionType.REGULAR or customer is None):
        raise TransactionInvalidTypeError("Returned line items are only allowed on REGULAR bills")
    for line in returned:
        if not line.parent_bill_number:
            raise ReturnBillNumberMissingError(
                f"Returned line item {line.item_code} needs parentBillNumber"
            )


def _mixed_returns_book(
    *,
    org: Org,
    actor: Till,
    bill: CleanBill,
    sale: Transaction,
    returned: Sequence[CleanLine],
    context: Mapping[str, Any] | None,
) -> list[TransactionResult]:
    """Book the RETURN lines of mixed bill `sale` as returns of their parent bills, one per
    parent bill and return type."""
    groups: dict[tuple[str, str], list[CleanLine]] = defaultdict(list)
    for line in returned:
        groups[(line.parent_bill_number, line.return_type or ReturnType.LINE_ITEM)].append(line)
    outcomes = []
    for (parent_number, return_type), parent_lines in groups.items():
        parent_return = replace(
            bill,
            type=TransactionType.RETURN,
            number=parent_number,
            figures=BillFigures(
                bill_amount=sum((line.amount for line in parent_lines), Decimal("0.000")),
                gross_amount=None,
                discount=None,
                billed_at=sale.billed_at,
                lines=tuple(parent_lines),
            ),
            fields={**bill.fields, **MIXED_RETURN_CLEARED_FIELDS},
            idempotency_key=None,
        )
        outcomes.append(
            return_book(
                org=org,
                actor=actor,
                bill=parent_return,
                original_number=parent_number,
                original_id=None,
                return_type=clean_return_type(return_type),
                purchased_at=None,
                fingerprint="",
                context={**(context or {}), "mixed_bill": sale},
            )
        )
    return outcomes


@transaction.atomic
def transaction_add(
    *,
    org: Org,
    actor: Till,
    customer: Customer | None,
    number: str,
    type: str,
    bill_amount: Decimal | int | str | None,
    billed_at: datetime | None,
    lines: Sequence[LineItemInput],
    gross_amount: Decimal | int | str | None = None,
    discount: Decimal | int | str | None = 0,
    source: str = RegistrationSource.INSTORE,
    details: BillDetails | None = None,
    user_group: UserGroupReference | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> TransactionResult:
    """Record a REGULAR or NOT_INTERESTED bill on the actor's till and store.

    RETURN lines (mixed bills) are booked as line-item returns of their parent bills in the same
    database transaction. A replay of the same bill returns the first result. `billed_at` None
    means now. Raises 601/627/631/661-666 (amounts), 602 (number), 604 (number exists with other
    details), 605 (type), 606 (customer missing), 622/685 (line items), 643 (date), 671 (till of
    another org), 1632 (user group), 8015 (customer of another org) and any return error.
    """
    check_actor(org=org, actor=actor)
    type = clean_type(type, allowed=ADD_TYPES)
    number = clean_number(number)
    source = registration_source_clean(source)
    # Not-interested bills are those of shoppers who did not join: no customer is attached.
    customer = (
        None
        if type == TransactionType.NOT_INTERESTED
        else check_customer(org=org, customer=customer, required=True)
    )
    figures = clean_figures(
        org=org,
        bill_amount=bill_amount,
        bill_amount_required=True,
        gross_amount=gross_amount,
        discount=discount,
        billed_at=billed_at,
        lines=lines,
    )
    sold = [line for line in figures.lines if not line.is_return]
    returned = [line for line in figures.lines if line.is_return]
    _check_returned_lines(returned, bill_type=type, customer=customer)
    bill = clean_bill(
        org=org,
        type=type,
        number=number,
        source=source,
        customer=customer,
        figures=figures,
        details=details,
        user_group=user_group,
        idempotency_key=idempotency_key,
    )
    fingerprint = request_fingerprint or bill_fingerprint(bill, kind="add")

    if existing := existing_bill_lookup()(actor=actor, number=number):
        return replay(existing, fingerprint=fingerprint, what="number")
    if existing := existing_by_key(actor=actor, idempotency_key=bill.idempotency_key):
        return replay(existing, fingerprint=fingerprint, what="key")

    txn = transaction_new(bill, org=org, actor=actor, fingerprint=fingerprint)
    replayed = save_or_replay(txn, actor=actor, fingerprint=fingerprint, check_number=True)
    if replayed is not None:
        return replayed
    line_rows_create(txn, sold)
    if type == TransactionType.REGULAR:
        lifetime_purchases_add(customer, figures.bill_amount or Decimal(0))

    side_effects = after_add_pipeline(
        txn=txn,
        actor=actor,
        context={
            "source": source,
            "customer": customer,
            "user_group": bill.group,
            **(context or {}),
        },
    )
    result = TransactionResult(transaction=txn, created=True, side_effects=list(side_effects))
    for outcome in _mixed_returns_book(
        org=org, actor=actor, bill=bill, sale=txn, returned=returned, context=context
    ):
        result.returns.append(outcome)
        result.side_effects.extend(outcome.side_effects)
    return result
