"""Opening points accounts: at registration, on demand and by the back-fill of old customers.

The back-fill (event PointsLedgerBulkJob) has two entry points, one owner at a time
(ledger_backfill_owner) and a batch of customers at a time (ledger_backfill_customers, the job's
path). Both check balances with `_opening_balances`, build the rows with `_backfill_rows` and
insert them with `_backfill_write`, so they write the same rows.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ledger.exceptions import ConcurrentLedgerUpdateError, InvalidLedgerRequestError
from ledger.models import (
    EntryType,
    EventName,
    LedgerEntry,
    LedgerEvent,
    PointsAccount,
    PointsLot,
)
from ledger.services.locking import lock_owners
from ledger.services.posting import (
    CATEGORY_ORDER,
    ZERO,
    AccountKey,
    OpeningBalance,
    Owner,
    accounts_open,
    actor_event_fields,
    ensure_category,
    ensure_program,
    explicit_expiry,
    lock_for_write,
    owner_filter,
    owner_label,
    resolve_owner,
    to_points,
)
from loyalty_site.core.exceptions import DomainError
from members.models import Customer, Org, PointsCategory, Program, UserGroup

# Rows per INSERT statement of the back-fill (SQLite splits further by its parameter limit).
BACKFILL_INSERT_BATCH_SIZE = 1000


def _all_keys(programs: Iterable[Program]) -> list[AccountKey]:
    return [(program.pk, category) for program in programs for category in PointsCategory.values]


def _org_programs(org_id: int) -> list[Program]:
    return list(
        Program.objects.filter(org_id=org_id, is_active=True).select_related("org").order_by("pk")
    )


def _active_programs(owner: Owner) -> list[Program]:
    return _org_programs(owner.org_id)


@db_transaction.atomic
def ledger_open_accounts_on_registration(
    *, customer: Customer, actor: Any, context: Mapping[str, Any]
) -> list:
    """CUSTOMER_REGISTRATION_PIPELINE step: open the new customer's accounts (every active
    program of the org x every points category) with zero opening balances, in one
    CustomerRegistration event. Returns no side effects."""
    fresh = lock_for_write([customer])[owner_label(customer)]
    if fresh.merged_into_id:
        return []
    accounts_open(
        owner=customer,
        keys=_all_keys(_active_programs(customer)),
        actor=actor,
        event_name=EventName.CUSTOMER_REGISTRATION,
        occurred_at=(context or {}).get("registered_at") or customer.registered_at,
        source=(context or {}).get("source", "") or customer.registration_source,
    )
    return []


@db_transaction.atomic
def points_accounts_open(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    programs: Iterable[Program] | None = None,
    actor: Any = None,
) -> list[PointsAccount]:
    """The owner's accounts for `programs` (default: every active program) x every category,
    opening the missing ones with zero opening balances (one CustomerUpdate event)."""
    owner = resolve_owner(customer=customer, user_group=user_group)
    programs = list(programs) if programs is not None else _active_programs(owner)
    for program in programs:
        ensure_program(owner, program)
    lock_for_write([owner])
    accounts, _ = accounts_open(owner=owner, keys=_all_keys(programs), actor=actor)
    return list(accounts.values())


# Back-fill ----------------------------------------------------------------------------------
BalanceValue = OpeningBalance | Decimal | int | str
Balances = Mapping[AccountKey, BalanceValue]


@dataclass
class _BackfillRows:
    """One owner's back-fill, built in memory: the event, the missing accounts with one opening
    entry each (entries[i] opens accounts[i]) and a lot for each positive balance, by the index
    of its account. _backfill_write fills in the ids that link them."""

    event: LedgerEvent
    accounts: list[PointsAccount] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)
    lots: list[tuple[int, PointsLot]] = field(default_factory=list)


def _opening_balances(
    *, owner: Owner, programs: Mapping[int, Program], balances: Balances | None
) -> dict[AccountKey, OpeningBalance]:
    """The back-filled balances, checked against the org's active `programs` (by id).

    Raises InvalidProgramIdError (885), InvalidPointsError (801), InvalidLedgerRequestError.
    """
    opening: dict[AccountKey, OpeningBalance] = {}
    for (program_id, category), value in (balances or {}).items():
        program = programs.get(program_id)
        if program is None:
            ensure_program(owner, Program.objects.filter(pk=program_id).first())
        ensure_category(category)
        if not isinstance(value, OpeningBalance):
            value = OpeningBalance(points=value)
        points = to_points(value.points, program=program, allow_zero=True, allow_negative=True)
        expires_at = explicit_expiry(value.expires_at, program=program)
        matures_at = value.matures_at
        if category == PointsCategory.PROMISED and points > 0 and matures_at is None:
            raise InvalidLedgerRequestError("Back-filled promised points need a maturity time")
        if category != PointsCategory.PROMISED and matures_at is not None:
            raise InvalidLedgerRequestError("Only promised points have a maturity time")
        opening[(program_id, category)] = OpeningBalance(
            points=points, expires_at=expires_at, matures_at=matures_at
        )
    return opening


def _backfill_rows(
    *,
    owner: Owner,
    keys: Iterable[AccountKey],
    existing: Collection[AccountKey],
    opening: Mapping[AccountKey, OpeningBalance],
    actor: Any,
    occurred_at: datetime.datetime,
) -> _BackfillRows | None:
    """The rows that open the owner's missing accounts (`keys` not in `existing`), exactly as
    accounts_open + EventWriter.opening_balance write them; None when nothing is missing."""
    missing = sorted(
        (key for key in set(keys) if key not in existing),
        key=lambda key: (key[0], CATEGORY_ORDER[key[1]]),
    )
    if not missing:
        return None
    # Ids, not instances, in the rows: a batch builds thousands of them and assigning a related
    # instance costs a descriptor call per field.
    owner_id = {f"{name}_id": owner.pk for name in owner_filter(owner)}
    rows = _BackfillRows(
        event=LedgerEvent(
            org_id=owner.org_id,
            **owner_id,
            event_name=EventName.POINTS_LEDGER_BULK_JOB,
            occurred_at=occurred_at,
            source="",
            # Opening balances are not movements: the event's net stays zero.
            net_points=ZERO,
            **actor_event_fields(actor),
        )
    )
    for program_id, category in missing:
        value = opening.get((program_id, category)) or OpeningBalance(points=ZERO)
        account = PointsAccount(
            org_id=owner.org_id,
            **owner_id,
            program_id=program_id,
            category=category,
            balance=value.points,
            last_sequence=1,
            # A negative opening balance (a legacy debt) flags the account, like the merge rule.
            allows_negative_balance=value.points < 0,
        )
        entry = LedgerEntry(
            entry_type=EntryType.OPENING_BALANCE,
            sequence=1,
            points=value.points,
            closing_balance=value.points,
        )
        if value.points > 0:
            lot = PointsLot(
                original_points=value.points,
                remaining_points=value.points,
                expires_at=value.expires_at,
                matures_at=value.matures_at,
            )
            rows.lots.append((len(rows.accounts), lot))
        rows.accounts.append(account)
        rows.entries.append(entry)
    return rows


def _backfill_write(batch: Sequence[_BackfillRows]) -> list[LedgerEvent]:
    """Insert the back-fill rows of several owners with one bulk insert per table (events,
    accounts, entries, lots: each needs the ids of the one before). The owners must be locked.

    Raises ConcurrentLedgerUpdateError when the database refuses a second account or opening
    balance (someone opened it without taking the owner lock).
    """
    if not batch:
        return []
    # bulk_create sets the new ids (INSERT ... RETURNING: PostgreSQL, SQLite 3.35+).
    size = BACKFILL_INSERT_BATCH_SIZE
    try:
        with db_transaction.atomic():
            events = LedgerEvent.objects.bulk_create([rows.event for rows in batch], size)
            PointsAccount.objects.bulk_create(
                [account for rows in batch for account in rows.accounts], size
            )
            for rows in batch:
                for account, entry in zip(rows.accounts, rows.entries, strict=True):
                    entry.event_id = rows.event.pk
                    entry.account_id = account.pk
            LedgerEntry.objects.bulk_create(
                [entry for rows in batch for entry in rows.entries], size
            )
            for rows in batch:
                for index, lot in rows.lots:
                    lot.account_id = rows.accounts[index].pk
                    lot.source_entry_id = rows.entries[index].pk
            PointsLot.objects.bulk_create([lot for rows in batch for _, lot in rows.lots], size)
    except IntegrityError as exc:
        raise ConcurrentLedgerUpdateError() from exc
    return events


@db_transaction.atomic
def ledger_backfill_owner(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    balances: Balances | None = None,
    actor: Any = None,
) -> LedgerEvent | None:
    """Start the ledger of an owner from before the ledger existed: one PointsLedgerBulkJob event
    with an opening balance for every missing account (active programs x categories), worth the
    balance given in `balances[(program_id, category)]` or zero (a negative balance is taken as it
    is and flags the account, like the merge rule). Accounts that exist are left
    alone, so running it twice changes nothing. Returns None when nothing was missing or the
    customer is merged away.

    Raises InvalidProgramIdError (885), InvalidPointsError (801), InvalidLedgerRequestError,
    ConcurrentLedgerUpdateError.
    """
    owner = resolve_owner(customer=customer, user_group=user_group)
    programs = {program.pk: program for program in _active_programs(owner)}
    opening = _opening_balances(owner=owner, programs=programs, balances=balances)
    fresh = lock_for_write([owner])[owner_label(owner)]
    if isinstance(fresh, Customer) and fresh.merged_into_id:
        return None
    existing = set(
        PointsAccount.objects.filter(
            **owner_filter(owner), program_id__in=list(programs)
        ).values_list("program_id", "category")
    )
    rows = _backfill_rows(
        owner=owner,
        keys=_all_keys(programs.values()),
        existing=existing,
        opening=opening,
        actor=actor,
        occurred_at=timezone.now(),
    )
    if rows is None:
        return None
    return _backfill_write([rows])[0]


@dataclass(frozen=True)
class LedgerBackfillResult:
    """A batch back-fill: the events written (one per customer opened) and, by customer id, the
    error that left a customer untouched."""

    events: list[LedgerEvent]
    errors: dict[int, DomainError]


@db_transaction.atomic
def ledger_backfill_customers(
    *,
    org: Org,
    customers: Iterable[Customer],
    balances: Mapping[int, Balances] | None = None,
    actor: Any = None,
) -> LedgerBackfillResult:
    """ledger_backfill_owner for a batch of the org's customers at once (the back-fill job): the
    same rows, written with a few bulk inserts for the whole batch. `balances` maps a customer
    id to that customer's balances. Customers merged away or with every account open are
    skipped; a customer whose balances are refused (885, 801, ...) or of another org is left
    untouched and reported in `errors`, the others are written.

    Raises ConcurrentLedgerUpdateError (the whole batch is rolled back).
    """
    programs = {program.pk: program for program in _org_programs(org.pk)}
    keys = _all_keys(programs.values())
    errors: dict[int, DomainError] = {}
    opening: dict[int, dict[AccountKey, OpeningBalance]] = {}
    for customer in customers:
        try:
            if customer.org_id != org.pk:
                raise InvalidLedgerRequestError(f"Customer {customer.pk} is not of org {org.pk}")
            opening[customer.pk] = _opening_balances(
                owner=customer, programs=programs, balances=(balances or {}).get(customer.pk)
            )
        except DomainError as exc:
            errors[customer.pk] = exc
    # The owner locks (pk order, the global lock order of every ledger write) make the missing
    # accounts read below stay missing: a registration or first earn of one of these customers
    # waits for this batch to commit, then finds the accounts open and adds no opening balance.
    # The unique constraints (one account per key, one opening balance per account) are the
    # backstop. SQLite has no row locks, but it lets one writer at a time in anyway.
    locked, _ = lock_owners(customer_ids=opening)
    customer_ids = [pk for pk in sorted(opening) if pk in locked and not locked[pk].merged_into_id]
    existing: dict[int, set[AccountKey]] = defaultdict(set)
    for customer_id, program_id, category in PointsAccount.objects.filter(
        customer_id__in=customer_ids, program_id__in=list(programs)
    ).values_list("customer_id", "program_id", "category"):
        existing[customer_id].add((program_id, category))
    now = timezone.now()
    batch = []
    for customer_id in customer_ids:
        rows = _backfill_rows(
            owner=locked[customer_id],
            keys=keys,
            existing=existing[customer_id],
            opening=opening[customer_id],
            actor=actor,
            occurred_at=now,
        )
        if rows is not None:
            batch.append(rows)
    return LedgerBackfillResult(events=_backfill_write(batch), errors=errors)


def ledger_backfill_customers_pending(*, org_id: int) -> QuerySet[Customer]:
    """The org's customers (not merged away) that lack an account in some active program x
    category: the ones the back-fill job opens."""
    programs = Program.objects.filter(org_id=org_id, is_active=True).count()
    account_count = (
        PointsAccount.objects.filter(
            customer=OuterRef("pk"), program__is_active=True, program__org_id=org_id
        )
        .values("customer")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return (
        Customer.objects.filter(org_id=org_id, merged_into__isnull=True)
        .annotate(
            account_count=Coalesce(Subquery(account_count, output_field=IntegerField()), Value(0))
        )
        .filter(account_count__lt=programs * len(PointsCategory.values))
    )
