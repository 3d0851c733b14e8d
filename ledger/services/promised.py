"""Promised (delayed accrual) and trigger-based points turning into regular points.

Promised points are credited to the PROMISED account with a maturity time (points_allocate with
category=PROMISED); the maturity job converts the matured lots. Trigger-based points wait for an
outside trigger (points_trigger_convert). A conversion is one event with the debit from the
waiting account and the credit to REGULAR (net zero). A return before maturity voids them
(points_transaction_return with a PROMISED line).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from ledger.exceptions import InsufficientCurrentPointsError, InvalidLedgerRequestError
from ledger.models import EventName, LedgerEvent, PointsAccount, PointsLot
from ledger.services.bulk import (
    EventRows,
    LedgerBatchResult,
    LotSlice,
    event_for_owner,
    event_rows_write,
    owner_accounts_lock,
)
from ledger.services.locking import lock_owner_rows
from ledger.services.posting import (
    ZERO,
    AccountKey,
    CreditPart,
    EventWriter,
    LotPlan,
    Owner,
    accounts_open,
    actor_event_fields,
    clean_idempotency_key,
    ensure_program,
    owner_from_label,
    owner_label,
    owner_label_batches,
    post_event,
    program_expiry,
    request_fingerprint,
    resolve_owner,
    to_points,
)
from loyalty_site.core.exceptions import DomainError
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
    Returns None when nothing matured. Safe to run twice. Raises InsufficientCurrentPointsError
    (804) when the PROMISED account holds less than its lots."""
    owner = resolve_owner(customer=customer, user_group=user_group)
    result = points_promised_mature_many(
        org=owner.org,
        customer_ids=[owner.pk] if isinstance(owner, Customer) else [],
        user_group_ids=[owner.pk] if isinstance(owner, UserGroup) else [],
        as_of=as_of,
        actor=actor,
    )
    error = result.errors.get(owner_label(owner))
    if error is not None:
        raise error
    return result.events[0] if result.events else None


@db_transaction.atomic
def points_promised_mature_many(
    *,
    org: Org,
    customer_ids: Iterable[int] = (),
    user_group_ids: Iterable[int] = (),
    as_of: datetime.datetime | None = None,
    actor: Any = None,
) -> LedgerBatchResult:
    """points_promised_mature for a batch of the org's owners at once (the maturity job), with
    a few set-wise statements for the whole batch. Each matured lot becomes a REGULAR lot with
    its expiry (or the program's from now) and its bill. A missing REGULAR account is opened
    first, as for one owner. An owner that is not the org's, or whose PROMISED account holds
    less than its lots (804), is left untouched and reported in `errors`.

    Raises ConcurrentLedgerUpdateError (nothing is written).
    """
    as_of = as_of or timezone.now()
    errors: dict[str, DomainError] = {}
    customer_ids, user_group_ids = list(customer_ids), list(user_group_ids)
    owners = lock_owner_rows(customer_ids=customer_ids, user_group_ids=user_group_ids)
    wanted = [f"customer:{pk}" for pk in sorted(set(customer_ids))] + [
        f"group:{pk}" for pk in sorted(set(user_group_ids))
    ]
    for label in wanted:
        owner = owners.get(label)
        if owner is None or owner.org_id != org.pk:
            errors[label] = InvalidLedgerRequestError(f"{label} is not an owner of org {org.pk}")
    valid = [label for label in wanted if label not in errors]
    if not valid:
        return LedgerBatchResult(events=[], errors=errors)
    owner_ids = {
        "customer_ids": [owners[label].pk for label in valid if label.startswith("customer:")],
        "user_group_ids": [owners[label].pk for label in valid if label.startswith("group:")],
    }

    matured = PointsLot.objects.filter(
        remaining_points__gt=0, matures_at__lte=as_of, account__category=PointsCategory.PROMISED
    )
    # The REGULAR account of each program with matured points must exist before the accounts
    # are locked: open the missing ones (rare, registration opens them) as post_event would.
    needed: dict[str, set[int]] = defaultdict(set)
    owner_columns = ("account__customer_id", "account__user_group_id", "account__program_id")
    for customer_id, user_group_id, program_id in (
        matured.filter(_owner_q("account__", **owner_ids)).values_list(*owner_columns).distinct()
    ):
        label = f"customer:{customer_id}" if customer_id else f"group:{user_group_id}"
        needed[label].add(program_id)
    regular = set(
        PointsAccount.objects.filter(_owner_q("", **owner_ids), category=REGULAR).values_list(
            "customer_id", "user_group_id", "program_id"
        )
    )
    for label, program_ids in needed.items():
        owner = owners[label]
        key = (owner.pk, None) if label.startswith("customer:") else (None, owner.pk)
        missing = [(pk, REGULAR) for pk in sorted(program_ids) if (*key, pk) not in regular]
        if missing:
            accounts_open(owner=owner_from_label(label), keys=missing, actor=actor)

    has_matured = Exists(matured.filter(account=OuterRef("pk")))
    accounts = owner_accounts_lock(
        **owner_ids,
        condition=Q(category=PointsCategory.PROMISED) & has_matured
        | Q(category=REGULAR, program_id__in={pk for ids in needed.values() for pk in ids}),
    )
    # The plan of EventWriter.plan for "all matured points": nearest expiry (none last), then id.
    lots: dict[int, list[tuple[LotSlice, datetime.datetime | None, int | None]]] = defaultdict(list)
    for lot_id, account_id, remaining, expires_at, transaction_id in (
        matured.filter(account_id__in=list(accounts))
        .order_by("account_id", F("expires_at").asc(nulls_last=True), "id")
        .values_list("pk", "account_id", "remaining_points", "expires_at", "transaction_id")
    ):
        lots[account_id].append((LotSlice(lot_id, remaining), expires_at, transaction_id))
    pairs: dict[str, list[tuple[int, int]]] = defaultdict(list)  # (promised, regular) by owner
    regular_ids = {
        (a.owner_label, a.program_id): a.pk for a in accounts.values() if a.category == REGULAR
    }
    for account in sorted(accounts.values(), key=lambda a: a.program_id):
        if account.category == PointsCategory.PROMISED and lots.get(account.pk):
            target = regular_ids[(account.owner_label, account.program_id)]
            pairs[account.owner_label].append((account.pk, target))

    now = timezone.now()
    programs = {
        program.pk: program
        for program in Program.objects.filter(
            pk__in={accounts[target].program_id for ids in pairs.values() for _, target in ids}
        ).select_related("org")
    }
    # The program's expiry from now, for matured lots that had none (as _convert does).
    default_expiry = {pk: program_expiry(program, now) for pk, program in programs.items()}
    actor_fields = actor_event_fields(actor)
    batch: list[EventRows] = []
    for label in valid:
        rows = EventRows(
            event=event_for_owner(
                owner_label=label,
                org_id=org.pk,
                event_name=EventName.DELAYED_ACCRUAL,
                actor_fields=actor_fields,
                occurred_at=now,
                details={"asOf": str(as_of)},
            ),
            base=accounts,
            now=now,
        )
        try:
            for promised_id, regular_id in pairs.get(label, []):
                planned = lots[promised_id]
                rows.debit_whole_lots(promised_id, [lot for lot, _, _ in planned])
                fallback = default_expiry[accounts[regular_id].program_id]
                rows.credit(
                    regular_id,
                    [
                        CreditPart(
                            points=lot.points,
                            expires_at=expires_at or fallback,
                            transaction_id=transaction_id,
                        )
                        for lot, expires_at, transaction_id in planned
                    ],
                )
        except DomainError as exc:
            errors[label] = exc
            continue
        if rows.entries:
            batch.append(rows)
    return LedgerBatchResult(events=event_rows_write(batch), errors=errors)


def _owner_q(prefix: str, *, customer_ids: list[int], user_group_ids: list[int]) -> Q:
    condition = Q(pk__in=[])
    if customer_ids:
        condition |= Q(**{f"{prefix}customer_id__in": customer_ids})
    if user_group_ids:
        condition |= Q(**{f"{prefix}user_group_id__in": user_group_ids})
    return condition


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
    return owner_label_batches(
        accounts=PointsAccount.objects.filter(org=org, category=PointsCategory.PROMISED),
        lots=PointsLot.objects.filter(remaining_points__gt=0, matures_at__lte=as_of),
        after=after,
        size=size,
    )
