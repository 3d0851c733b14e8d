"""Transaction return: points returned (debits) and reversed redemptions (credits) in ONE event
carrying the return transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction
from django.db.models import Q

from ledger.exceptions import InsufficientCurrentPointsError, InvalidLedgerRequestError
from ledger.models import EventName, LedgerEvent, PointsAccount
from ledger.services.posting import (
    ZERO,
    AccountKey,
    EventWriter,
    clean_idempotency_key,
    ensure_category,
    ensure_program,
    owner_label,
    post_event,
    request_fingerprint,
    resolve_owner,
    to_points,
)
from ledger.services.redeem import redemption_account_keys, redemption_lookup, reverse_into
from members.models import Customer, PointsCategory, Program, Transaction, UserGroup

REGULAR = PointsCategory.REGULAR


@dataclass(frozen=True)
class ReturnLine:
    """Points to take back for one program. REGULAR takes the bill's own lots first, then the
    nearest expiry. PROMISED / TRIGGER_BASED void the bill's not-yet-converted points of that
    category first; whatever already converted is taken from REGULAR."""

    program: Program
    points: Decimal | int | str
    category: str = PointsCategory.REGULAR


@db_transaction.atomic
def points_transaction_return(
    *,
    return_transaction: Transaction,
    actor: Any,
    idempotency_key: str,
    lines: Sequence[ReturnLine] = (),
    redemption_ids: Sequence[str] = (),
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    cap_at_available: bool = False,
) -> LedgerEvent:
    """One ReturnBill event for a return transaction: a CREDIT per reversed redemption (written
    first, so the points it gives back count towards the return) and a DEBIT per returned line;
    its net points are credits minus debits. The owner defaults to the return transaction's
    customer (or user group).

    With `cap_at_available`, a return takes what is left and records the shortfall in
    details["unrecoveredPoints"]; otherwise it raises InsufficientCurrentPointsError (804).
    Also raises InvalidPointsError (801), InvalidProgramIdError (885), InvalidRedemptionIdError
    (901), RedemptionNotFoundError (902), RedemptionAlreadyReversedError (3802),
    CustomerMergedError (8069).
    """
    if customer is None and user_group is None:
        customer, user_group = return_transaction.customer, None
        if customer is None:
            user_group = return_transaction.user_group
    owner = resolve_owner(customer=customer, user_group=user_group)
    key = clean_idempotency_key(idempotency_key)
    if return_transaction.org_id != owner.org_id:
        raise InvalidLedgerRequestError("The return transaction belongs to another org")
    original_id = return_transaction.original_id

    cleaned: list[tuple[Program, Decimal, str]] = []
    for line in lines:
        ensure_program(owner, line.program)
        cleaned.append(
            (
                line.program,
                to_points(line.points, program=line.program),
                ensure_category(line.category),
            )
        )
    cleaned.sort(key=lambda item: (item[0].pk, item[2]))
    redemptions = {}
    for redemption_id in redemption_ids:
        redemption = redemption_lookup(org=owner.org, redemption_id=redemption_id, owner=owner)
        redemptions[redemption.pk] = redemption
    if not cleaned and not redemptions:
        raise InvalidLedgerRequestError("Nothing to return: give points lines or redemption ids")

    keys: list[AccountKey] = []
    for program, _, category in cleaned:
        keys += [(program.pk, category), (program.pk, REGULAR)]
    for redemption in redemptions.values():
        keys += redemption_account_keys(redemption)
    fingerprint = request_fingerprint(
        "points_transaction_return",
        owner=owner_label(owner),
        transaction=return_transaction.pk,
        lines=[(program.pk, points, category) for program, points, category in cleaned],
        redemptions=sorted(redemption.code for redemption in redemptions.values()),
        cap=cap_at_available,
    )

    def write(writer: EventWriter, accounts: dict[AccountKey, PointsAccount]) -> None:
        # Reversed redemptions first: the points they give back count towards what is returned.
        accounts_by_id = {account.pk: account for account in accounts.values()}
        for redemption_pk in sorted(redemptions):
            reverse_into(writer, accounts_by_id, redemption_id=redemption_pk, points=None)
        unrecovered: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for program, points, category in cleaned:
            left = points
            if category != REGULAR and original_id is not None:
                account = accounts[(program.pk, category)]
                plan = writer.plan(account, left, lot_filter=Q(transaction_id=original_id))
                voided = sum((taken for _, taken in plan), ZERO)
                if voided > 0:
                    writer.debit(account, voided, plan=plan)
                    left -= voided
            if left <= 0:
                continue
            regular = accounts[(program.pk, REGULAR)]
            plan = writer.plan(regular, left, preferred_transaction_id=original_id)
            covered = sum((taken for _, taken in plan), ZERO)
            if covered < left:
                if not cap_at_available:
                    raise InsufficientCurrentPointsError(
                        f"{left} points to return in program {program.pk}, {covered} left"
                    )
                unrecovered[program.pk] += left - covered
                left = covered
            if left > 0:
                writer.debit(regular, left, plan=plan)
        if unrecovered:
            details = {
                **writer.event.details,
                "unrecoveredPoints": {str(pk): str(value) for pk, value in unrecovered.items()},
            }
            LedgerEvent.objects.filter(pk=writer.event.pk).update(details=details)
            writer.event.details = details

    return post_event(
        owner=owner,
        keys=keys,
        idempotency_key=key,
        fingerprint=fingerprint,
        write=write,
        actor=actor,
        event_fields={
            "event_name": EventName.RETURN_BILL,
            "transaction": return_transaction,
            "occurred_at": return_transaction.billed_at,
            "details": {
                "originalTransactionId": original_id,
                "redemptionIds": sorted(r.code for r in redemptions.values()),
            },
        },
    )
