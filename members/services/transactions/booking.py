"""Storing a cleaned bill: request fingerprints, replays, line rows and lifetime totals.

Sending the same bill again is safe: a request with the same normalised body (compared through
`Transaction.request_fingerprint`) answers the first result, the same bill number with other
details is 604 and the same Idempotency-Key with another body is 409.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from members.exceptions import TransactionIdempotencyKeyReusedError, TransactionNumberExistsError
from members.models import Customer, Org, Till, Transaction, TransactionLineItem
from members.services.customers import warning
from members.services.transactions.cleaning import ADD_TYPES, RETURN_TYPES
from members.services.transactions.values import CleanBill, CleanLine, TransactionResult

REPLAY_WARNING_CODE = 604


# Fingerprints ---------------------------------------------------------------------------------
def request_fingerprint_of(payload: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a normalised request (sorted keys, no whitespace)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _decimal_text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def bill_fingerprint(bill: CleanBill, *, kind: str, extra: Mapping[str, Any] | None = None) -> str:
    """The request fingerprint of a cleaned bill: what adds and returns share, plus `extra`."""
    figures = bill.figures
    return request_fingerprint_of(
        {
            "kind": kind,
            "customer": bill.customer.pk if bill.customer else None,
            "type": bill.type,
            "number": bill.number,
            "source": bill.source,
            "billAmount": _decimal_text(figures.bill_amount),
            "grossAmount": _decimal_text(figures.gross_amount),
            "discount": _decimal_text(figures.discount),
            "billedAt": iso(figures.billed_at),
            "lines": [line.canonical() for line in figures.lines],
            "userGroup": bill.group.pk if bill.group else None,
            **(extra or {}),
            **bill.fields,
        }
    )


# Replays --------------------------------------------------------------------------------------
def replay(existing: Transaction, *, fingerprint: str, what: str) -> TransactionResult:
    """The first result for a replay of the same request; 604 / 409 for different details."""
    if existing.request_fingerprint != fingerprint:
        if what == "number":
            raise TransactionNumberExistsError(
                f"Transaction number {existing.number} already exists in this store with "
                f"different details (transaction {existing.pk})"
            )
        raise TransactionIdempotencyKeyReusedError(
            f"Idempotency-Key was already used for transaction {existing.pk} with a different "
            "request"
        )
    return TransactionResult(
        transaction=existing,
        created=False,
        warnings=[
            warning(
                REPLAY_WARNING_CODE,
                f"Replay: transaction {existing.number} was already recorded with the same "
                f"details as transaction {existing.pk}; nothing was changed",
            )
        ],
    )


def existing_by_key(*, actor: Till, idempotency_key: str | None) -> Transaction | None:
    if idempotency_key is None:
        return None
    return Transaction.objects.filter(till=actor, idempotency_key=idempotency_key).first()


def existing_bill(*, actor: Till, number: str) -> Transaction | None:
    return Transaction.objects.filter(store=actor.store, number=number, type__in=ADD_TYPES).first()


def existing_bill_lookup() -> Callable[..., Transaction | None]:
    """existing_bill as the package exports it (`_existing_bill`), looked up at call time: a
    test stands in a lookup there that misses a committed bill, as in a lost insert race."""
    from members.services import transactions

    return transactions._existing_bill


def save_or_replay(
    txn: Transaction, *, actor: Till, fingerprint: str, check_number: bool
) -> TransactionResult | None:
    """Insert `txn` in a savepoint. When a concurrent request inserted the same bill (or used
    the same Idempotency-Key) first, return its replay result (or raise 604 / 409)."""
    try:
        with transaction.atomic():
            txn.save()
    except IntegrityError:
        # The unique index waited for the other request to commit, so its row is visible now.
        if check_number and (existing := existing_bill_lookup()(actor=actor, number=txn.number)):
            return replay(existing, fingerprint=fingerprint, what="number")
        if existing := existing_by_key(actor=actor, idempotency_key=txn.idempotency_key):
            return replay(existing, fingerprint=fingerprint, what="key")
        raise
    return None


# Rows -----------------------------------------------------------------------------------------
def transaction_new(
    bill: CleanBill, *, org: Org, actor: Till, fingerprint: str, **overrides: Any
) -> Transaction:
    """The unsaved Transaction of a cleaned bill on the actor's till; `overrides` are the
    fields a return takes from its original bill."""
    figures = bill.figures
    values: dict[str, Any] = {
        "org": org,
        "customer": bill.customer,
        "user_group": bill.group,
        "store": actor.store,
        "till": actor,
        "number": bill.number,
        "type": bill.type,
        "bill_amount": figures.bill_amount,
        "gross_amount": figures.gross_amount,
        "discount": figures.discount or Decimal(0),
        "billed_at": figures.billed_at or timezone.now(),
        "source": bill.source,
        "request_fingerprint": fingerprint,
        "idempotency_key": bill.idempotency_key,
        **bill.fields,
    }
    values.update(overrides)
    return Transaction(**values)


def line_rows_create(
    txn: Transaction,
    lines: Sequence[CleanLine],
    originals: Sequence[TransactionLineItem | None] | None = None,
) -> list[TransactionLineItem]:
    line_type = (
        TransactionLineItem.Type.RETURN
        if txn.type in RETURN_TYPES
        else TransactionLineItem.Type.REGULAR
    )
    rows = [
        TransactionLineItem(
            transaction=txn,
            serial=line.serial,
            type=line_type,
            sku=line.item_code,
            description=line.description,
            qty=line.qty,
            rate=line.rate,
            value=line.value,
            discount=line.discount,
            amount=line.amount,
            category=line.category,
            brand=line.brand,
            attributes=line.attributes,
            extended_fields=line.extended_fields,
            original_line=originals[position] if originals is not None else None,
        )
        for position, line in enumerate(lines)
    ]
    return TransactionLineItem.objects.bulk_create(rows)


def lifetime_purchases_add(customer: Customer | None, amount: Decimal) -> None:
    if customer is None or not amount:
        return
    # F() so concurrent bills of one customer never overwrite each other's totals.
    Customer.objects.filter(pk=customer.pk).update(
        lifetime_purchases=F("lifetime_purchases") + amount
    )
    customer.refresh_from_db(fields=["lifetime_purchases"])
