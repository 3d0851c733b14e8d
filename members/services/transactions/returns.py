"""Returns (§11.3-§11.5): all (FULL / CANCELLED) or part (LINE_ITEM / AMOUNT) of a bill.

Returns find the original bill of the same customer and never give back more than was bought:
the original row is locked while earlier returns are summed, so concurrent returns of one bill
are checked one after the other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from members.exceptions import (
    FullReturnAfterPartialError,
    ReturnAmountExceededError,
    ReturnLineNotFoundError,
    ReturnLinesMissingError,
    ReturnQuantityExceededError,
    ReturnQuantityNotAvailableError,
    TransactionAlreadyReturnedError,
    TransactionPurchaseTimeMissingError,
)
from members.models import (
    Customer,
    Org,
    RegistrationSource,
    ReturnType,
    Till,
    Transaction,
    TransactionLineItem,
    TransactionType,
)
from members.selectors.transactions import (
    ReturnHistory,
    UserGroupReference,
    transaction_original_for_return,
    transaction_return_history,
)
from members.services.customers import registration_source_clean
from members.services.transactions.booking import (
    bill_fingerprint,
    existing_by_key,
    iso,
    lifetime_purchases_add,
    line_rows_create,
    replay,
    save_or_replay,
    transaction_new,
)
from members.services.transactions.cleaning import (
    AMOUNT_QUANTUM,
    RETURN_TYPES,
    WHOLE_BILL_RETURNS,
    check_actor,
    check_customer,
    clean_bill,
    clean_figures,
    clean_number,
    clean_return_type,
    clean_type,
    org_aware,
)
from members.services.transactions.seams import after_return_pipeline
from members.services.transactions.values import (
    BillDetails,
    CleanBill,
    CleanLine,
    LineItemInput,
    TransactionResult,
)


def _whole_bill_lines(original_lines: Sequence[TransactionLineItem]) -> tuple[CleanLine, ...]:
    return tuple(
        CleanLine(
            item_code=row.sku,
            qty=row.qty,
            rate=row.rate,
            value=row.value,
            discount=row.discount,
            amount=row.amount,
            description=row.description,
            serial=row.serial,
            category=row.category,
            brand=row.brand,
            attributes=dict(row.attributes),
            extended_fields=dict(row.extended_fields),
            is_return=True,
            parent_bill_number="",
            return_type="",
        )
        for row in original_lines
    )


def _share(
    line: CleanLine, qty: Decimal, *, remainder_of: Sequence[CleanLine] | None = None
) -> CleanLine:
    """The part of a returned line given back against one original line (qty `qty`)."""
    if remainder_of is not None:
        return replace(
            line,
            qty=qty,
            value=line.value - sum((part.value for part in remainder_of), Decimal(0)),
            discount=line.discount - sum((part.discount for part in remainder_of), Decimal(0)),
            amount=line.amount - sum((part.amount for part in remainder_of), Decimal(0)),
        )
    ratio = qty / line.qty
    return replace(
        line,
        qty=qty,
        value=(line.value * ratio).quantize(AMOUNT_QUANTUM),
        discount=(line.discount * ratio).quantize(AMOUNT_QUANTUM),
        amount=(line.amount * ratio).quantize(AMOUNT_QUANTUM),
    )


def _match_return_lines(
    *,
    original: Transaction,
    original_lines: Sequence[TransactionLineItem],
    history: ReturnHistory,
    lines: Sequence[CleanLine],
) -> tuple[list[CleanLine], list[TransactionLineItem]]:
    """Link each returned line to original lines with the same item code, never returning
    more than was bought (626) or than earlier returns left (629); raises 688 for an item that
    is not on the bill. A line spread over several original lines is split between them."""
    by_code: dict[str, list[TransactionLineItem]] = defaultdict(list)
    for row in original_lines:
        by_code[row.sku].append(row)
    available = {
        row.pk: row.qty - history.returned_qty_by_line.get(row.pk, Decimal(0))
        for row in original_lines
    }
    requested: dict[str, Decimal] = defaultdict(Decimal)
    parts: list[CleanLine] = []
    links: list[TransactionLineItem] = []
    for line in lines:
        candidates = by_code.get(line.item_code)
        if not candidates:
            raise ReturnLineNotFoundError(
                f"Item {line.item_code} is not on bill {original.number} (transaction "
                f"{original.pk})"
            )
        purchased = sum((row.qty for row in candidates), Decimal(0))
        requested[line.item_code] += line.qty
        if requested[line.item_code] > purchased:
            raise ReturnQuantityExceededError(
                f"Returning {requested[line.item_code]} of item {line.item_code} but bill "
                f"{original.number} has {purchased}"
            )
        still = sum((available[row.pk] for row in candidates), Decimal(0))
        if line.qty > still:
            raise ReturnQuantityNotAvailableError(
                f"Only {max(still, Decimal(0))} of item {line.item_code} on bill "
                f"{original.number} can still be returned"
            )
        remaining = line.qty
        takes: list[tuple[TransactionLineItem, Decimal]] = []
        for row in candidates:
            take = min(available[row.pk], remaining)
            if take > 0:
                takes.append((row, take))
                available[row.pk] -= take
                remaining -= take
            if remaining == 0:
                break
        split: list[CleanLine] = []
        for position, (row, take) in enumerate(takes):
            last = position == len(takes) - 1
            split.append(
                _share(line, take, remainder_of=split if last else None) if len(takes) > 1 else line
            )
            links.append(row)
        parts.extend(split)
    return parts, links


def return_book(
    *,
    org: Org,
    actor: Till,
    bill: CleanBill,
    original_number: str,
    original_id: int | None,
    return_type: str,
    purchased_at: datetime | None,
    fingerprint: str,
    context: Mapping[str, Any] | None,
) -> TransactionResult:
    """Book a cleaned return of bill `original_number` (callers run inside
    transaction.atomic). Raises 625, 626/629, 630, 633, 639 and 688."""
    original_type = (
        TransactionType.REGULAR
        if bill.type == TransactionType.RETURN
        else TransactionType.NOT_INTERESTED
    )
    found = transaction_original_for_return(
        org=org,
        number=original_number,
        customer=bill.customer,
        original_type=original_type,
        original_id=original_id,
        preferred_store=actor.store,
    )
    # Lock the original bill: every return of it waits here, so the sums below stay true until
    # this return is committed.
    original = Transaction.objects.select_for_update().get(pk=found.pk)
    if existing := existing_by_key(actor=actor, idempotency_key=bill.idempotency_key):
        return replay(existing, fingerprint=fingerprint, what="key")

    history = transaction_return_history(original=original)
    if history.is_fully_returned:
        raise TransactionAlreadyReturnedError(
            f"Bill {original.number} (transaction {original.pk}) has already been returned in full"
        )
    original_lines = list(original.line_items.order_by("serial", "id"))
    figures = bill.figures
    links: list[TransactionLineItem | None]
    if return_type in WHOLE_BILL_RETURNS:
        if history.has_returns:
            raise FullReturnAfterPartialError(
                f"Bill {original.number} already has partial returns; return the rest by line "
                "item or amount"
            )
        figures = replace(
            figures,
            bill_amount=original.bill_amount,
            gross_amount=original.gross_amount,
            discount=original.discount,
            lines=_whole_bill_lines(original_lines),
        )
        links = list(original_lines)
    elif return_type == ReturnType.LINE_ITEM:
        if not figures.lines:
            raise ReturnLinesMissingError()
        parts, matched = _match_return_lines(
            original=original, original_lines=original_lines, history=history, lines=figures.lines
        )
        figures = replace(figures, lines=tuple(parts))
        links = list(matched)
    else:
        # AMOUNT returns give money back without naming items; their lines stay unlinked.
        links = [None] * len(figures.lines)
    bill_amount = figures.bill_amount
    assert bill_amount is not None
    if history.returned_amount + bill_amount > original.bill_amount:
        left = original.bill_amount - history.returned_amount
        raise ReturnAmountExceededError(
            f"Returning {bill_amount} but only {left} of bill {original.number} "
            f"({original.bill_amount}) is left to return"
        )

    txn = transaction_new(
        replace(bill, figures=figures),
        org=org,
        actor=actor,
        fingerprint=fingerprint,
        customer=original.customer,
        user_group=bill.group or original.user_group,
        return_type=return_type,
        original=original,
        purchased_at=purchased_at or original.billed_at,
    )
    replayed = save_or_replay(txn, actor=actor, fingerprint=fingerprint, check_number=False)
    if replayed is not None:
        return replayed
    line_rows_create(txn, figures.lines, links)
    if original.type == TransactionType.REGULAR:
        lifetime_purchases_add(original.customer, -bill_amount)

    side_effects = after_return_pipeline(
        txn=txn,
        actor=actor,
        context={
            "source": bill.source,
            "customer": original.customer,
            "user_group": txn.user_group,
            "original": original,
            "return_type": return_type,
            **(context or {}),
        },
    )
    return TransactionResult(transaction=txn, created=True, side_effects=list(side_effects))


@transaction.atomic
def transaction_return(
    *,
    org: Org,
    actor: Till,
    customer: Customer | None,
    number: str,
    return_type: str,
    bill_amount: Decimal | int | str | None,
    billed_at: datetime | None,
    lines: Sequence[LineItemInput] = (),
    type: str = TransactionType.RETURN,
    original_number: str | None = None,
    original_id: int | None = None,
    purchased_at: datetime | None = None,
    gross_amount: Decimal | int | str | None = None,
    discount: Decimal | int | str | None = 0,
    source: str = RegistrationSource.INSTORE,
    details: BillDetails | None = None,
    user_group: UserGroupReference | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> TransactionResult:
    """Give back all (FULL / CANCELLED) or part (LINE_ITEM / AMOUNT) of a bill of the customer.

    `number` is the return's own number; the original bill is `original_number` (default:
    `number`, as v2 sends it), picked with `original_id` when several stores used the number.
    A FULL return takes the original's lines and amount. A repeated Idempotency-Key replays the
    first result. Raises 605, 606, 624 (purchase time of a not-interested return), 625 (no
    original), 626/629 (quantity), 628 (return type), 630 (amount), 633 (already returned in
    full), 639 (full after partial), 688 (item not on the bill) and the amount errors.
    """
    check_actor(org=org, actor=actor)
    type = clean_type(type, allowed=RETURN_TYPES)
    return_type = clean_return_type(return_type)
    number = clean_number(number)
    original_number = clean_number(original_number or number, label="Original bill number")
    source = registration_source_clean(source)
    customer = (
        None
        if type == TransactionType.NOT_INTERESTED_RETURN
        else check_customer(org=org, customer=customer, required=True)
    )
    if type == TransactionType.NOT_INTERESTED_RETURN and purchased_at is None:
        raise TransactionPurchaseTimeMissingError(
            "A not-interested return needs purchaseTime, the time of the original bill"
        )
    figures = clean_figures(
        org=org,
        bill_amount=bill_amount,
        bill_amount_required=return_type not in WHOLE_BILL_RETURNS,
        gross_amount=gross_amount,
        discount=discount,
        billed_at=billed_at,
        lines=lines,
    )
    purchased_at = org_aware(purchased_at, org) if purchased_at is not None else None
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
    fingerprint = request_fingerprint or bill_fingerprint(
        bill,
        kind="return",
        extra={
            "returnType": return_type,
            "originalNumber": original_number,
            "originalId": original_id,
            "purchasedAt": iso(purchased_at),
        },
    )
    return return_book(
        org=org,
        actor=actor,
        bill=bill,
        original_number=original_number,
        original_id=original_id,
        return_type=return_type,
        purchased_at=purchased_at,
        fingerprint=fingerprint,
        context=context,
    )
