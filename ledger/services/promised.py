"""Promised (delayed accrual) and trigger-based points turning into regular points.

Promised points are credited to the PROMISED account with a maturity time (points_allocate with
category=PROMISED); the maturity job converts the matured lots. Trigger-based points wait for an
outside trigger (points_trigger_convert). A conversion is one event with the debit from the
waiting account and the credit to REGULAR (net zero). A return before maturity voids them
(points_transaction_return with a PROMISED line).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction
from django.db.models import Q
from django.utils import timezone

from ledger.exceptions import InsufficientCurrentPointsError
from ledger.models import EventName, LedgerEvent, PointsAccount, PointsLot
from ledger.services.posting import (
    ZERO,
    AccountKey,
    CreditPart,
    EventWriter,
    LotPlan,
    Owner,
    clean_idempotency_key,
    ensure_program,
    owner_filter,
    owner_label,
    owner_label_batches,
    post_event,
    program_expiry,
    request_fingerprint,
    resolve_owner,
    to_points,
)
from members.models import Customer, Org, PointsCategory, Program, Transaction, UserGroup

REGULAR = PointsCategory.REGULAR
ALL_POINTS = Decimal("1e15")


def _convert(
    writer: EventWriter,
    source: PointsAccount,
    target: PointsAccount,
    plan: LotPlan,
) -> Decimal:
    """Debit the planned lots of `source` and credit the same points to `target`; each new
    lot keeps its expiry (or gets the program's from now) and its transaction."""
    amount = sum((taken for _, taken in plan), ZERO)
    if amount <= 0:
        return ZERO
    writer.debit(source, amount, plan=plan)
    default_expiry = program_expiry(target.program, writer.now)
    writer.credit(
        target,
        [
            CreditPart(
                points=taken,
                expires_at=lot.expires_at or default_expiry,
                transaction_id=lot.transaction_id,
            )
            for lot, taken in plan
        ],
    )
    return amount


@db_transaction.atomic
def points_promised_mature(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    as_of: datetime.datetime | None = None,
    actor: Any = None,
) -> LedgerEvent | None:
    """Convert the owner's promised lots that matured by `as_of` (default now) into REGULAR
    points: one DelayedAccrual event with a PROMISED debit and a REGULAR credit per program.
    Returns None when nothing matured. Safe to run twice."""
    owner = resolve_owner(customer=customer, user_group=user_group)
    as_of = as_of or timezone.now()
    matured = Q(matures_at__lte=as_of)
    program_ids = sorted(
        set(
            PointsLot.objects.filter(
                matured,
                remaining_points__gt=0,
                account__category=PointsCategory.PROMISED,
                **{f"account__{name}": value for name, value in owner_filter(owner).items()},
            ).values_list("account__program_id", flat=True)
        )
    )
    if not program_ids:
        return None
    keys: list[AccountKey] = []
    for program_id in program_ids:
        keys += [(program_id, PointsCategory.PROMISED), (program_id, REGULAR)]

    def write(writer: EventWriter, accounts: dict[AccountKey, PointsAccount]) -> None:
        for program_id in program_ids:
            promised = accounts[(program_id, PointsCategory.PROMISED)]
            plan = writer.plan(promised, ALL_POINTS, lot_filter=matured)
            _convert(writer, promised, accounts[(program_id, REGULAR)], plan)

    return post_event(
        owner=owner,
        keys=keys,
        idempotency_key=None,
        fingerprint="",
        write=write,
        actor=actor,
        merged_error=None,
        skip_if_empty=True,
        event_fields={"event_name": EventName.DELAYED_ACCRUAL, "details": {"asOf": str(as_of)}},
    )


@db_transaction.atomic
def points_trigger_convert(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program: Program,
    actor: Any,
    idempotency_key: str,
    points: Decimal | int | str | None = None,
    transaction: Transaction | None = None,
) -> LedgerEvent:
    """The outside trigger fired: convert TRIGGER_BASED points of `program` (those of
    `transaction` when given; `points` of them, default all) into REGULAR points as one
    TriggerBasedAccrual event (net zero).

    Raises InsufficientCurrentPointsError (804) when fewer are waiting, InvalidProgramIdError
    (885), CustomerMergedError (8069).
    """
    owner: Owner = resolve_owner(customer=customer, user_group=user_group)
    key = clean_idempotency_key(idempotency_key)
    ensure_program(owner, program)
    amount = None if points is None else to_points(points, program=program)
    lot_filter = Q(transaction=transaction) if transaction is not None else None
    fingerprint = request_fingerprint(
        "points_trigger_convert",
        owner=owner_label(owner),
        program=program.pk,
        points=amount,
        transaction=getattr(transaction, "pk", None),
    )
    source_key: AccountKey = (program.pk, PointsCategory.TRIGGER_BASED)
    target_key: AccountKey = (program.pk, REGULAR)

    def write(writer: EventWriter, accounts: dict[AccountKey, PointsAccount]) -> None:
        source = accounts[source_key]
        plan = writer.plan(source, amount or ALL_POINTS, lot_filter=lot_filter)
        covered = sum((taken for _, taken in plan), ZERO)
        if (amount is not None and covered < amount) or covered <= 0:
            raise InsufficientCurrentPointsError(
                f"{amount or 'Some'} trigger-based points asked, {covered} waiting"
            )
        _convert(writer, source, accounts[target_key], plan)

    return post_event(
        owner=owner,
        keys=[source_key, target_key],
        idempotency_key=key,
        fingerprint=fingerprint,
        write=write,
        actor=actor,
        event_fields={
            "event_name": EventName.TRIGGER_BASED_ACCRUAL,
            "transaction": transaction,
            "source_program": program,
        },
    )


def promised_maturity_owner_batches(
    *, org: Org, as_of: datetime.datetime, after: str = "", size: int = 200
) -> Iterator[tuple[list[str], str]]:
    """Keyset batches of owner labels ("customer:12") holding matured promised lots."""
    lots = PointsLot.objects.filter(
        account__org=org,
        account__category=PointsCategory.PROMISED,
        remaining_points__gt=0,
        matures_at__lte=as_of,
    )
    return owner_label_batches(lots, after=after, size=size)
