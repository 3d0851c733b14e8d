"""Set-wise ledger writes for batches of owners (jobs, bulk awards, imports), internal to the app.

A batch locks its owners (pk order), then the accounts it writes (pk order): the global lock
order of every ledger write (ledger.services.locking). It builds each owner's event, entries,
lots and lot movements in memory with the EventWriter's rules (an EventRows per event), then
writes the whole batch with one bulk insert per table, one UPDATE for the lots it empties and
one for the accounts, which take their balance and sequence from their newest entry. An owner
whose rows break a rule (a debit below zero) is left out whole and reported by the caller.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection
from django.db import transaction as db_transaction
from django.db.models import Model, OuterRef, Q, Subquery
from django.utils import timezone

from ledger.exceptions import ConcurrentLedgerUpdateError, InsufficientCurrentPointsError
from ledger.models import (
    EntryType,
    LedgerEntry,
    LedgerEvent,
    LotConsumption,
    PointsAccount,
    PointsLot,
)
from ledger.services.posting import ZERO, CreditPart
from loyalty_site.core.exceptions import DomainError

# Rows per INSERT / UPDATE statement (SQLite splits further by its parameter limit).
BULK_BATCH_SIZE = 1000


@dataclass(frozen=True)
class AccountState:
    """A locked account as a batch sees it: its balance and sequence after the rows built so
    far."""

    pk: int
    org_id: int
    program_id: int
    category: str
    customer_id: int | None
    user_group_id: int | None
    balance: Decimal
    last_sequence: int
    allows_negative_balance: bool

    @property
    def owner_label(self) -> str:
        if self.customer_id is not None:
            return f"customer:{self.customer_id}"
        return f"group:{self.user_group_id}"


ACCOUNT_STATE_FIELDS = (
    "pk",
    "org_id",
    "program_id",
    "category",
    "customer_id",
    "user_group_id",
    "balance",
    "last_sequence",
    "allows_negative_balance",
)


def owner_accounts_lock(
    *, customer_ids: Iterable[int], user_group_ids: Iterable[int], condition: Q | None = None
) -> dict[int, AccountState]:
    """Lock the accounts of these owners that meet `condition`, in pk order, and return their
    state by id. The owners must be locked first."""
    customer_ids, user_group_ids = sorted(set(customer_ids)), sorted(set(user_group_ids))
    owners = Q(pk__in=[])
    if customer_ids:
        owners |= Q(customer_id__in=customer_ids)
    if user_group_ids:
        owners |= Q(user_group_id__in=user_group_ids)
    if not customer_ids and not user_group_ids:
        return {}
    accounts = PointsAccount.objects.select_for_update().filter(owners)
    if condition is not None:
        accounts = accounts.filter(condition)
    return {
        row[0]: AccountState(*row)
        for row in accounts.order_by("pk").values_list(*ACCOUNT_STATE_FIELDS)
    }


@dataclass(frozen=True)
class LotSlice:
    """The part of a lot a debit takes (all that is left of it, in the batch jobs)."""

    lot_id: int
    points: Decimal


@dataclass
class EventRows:
    """One event and its rows, built in memory as EventWriter would write them. Account states
    change only in this object until the batch takes it (`accounts` holds the new ones)."""

    event: LedgerEvent
    base: dict[int, AccountState]
    now: datetime.datetime
    entries: list[LedgerEntry] = field(default_factory=list)
    # (index of the entry in `entries`, account id, points, expires_at, matures_at,
    # transaction id) of each lot it creates
    lots: list[tuple[int, int, Decimal, Any, Any, int | None]] = field(default_factory=list)
    # (index of the entry, lot id, points) CONSUME movements
    consumptions: list[tuple[int, int, Decimal]] = field(default_factory=list)
    emptied_lot_ids: list[int] = field(default_factory=list)
    accounts: dict[int, AccountState] = field(default_factory=dict)
    net: Decimal = ZERO

    def state(self, account_id: int) -> AccountState:
        return self.accounts.get(account_id) or self.base[account_id]

    def _append(self, account_id: int, entry_type: str, points: Decimal) -> int:
        """EventWriter._append without allow_negative: the entry's index."""
        account = self.state(account_id)
        delta = -points if entry_type == EntryType.DEBIT else points
        balance = account.balance + delta
        if balance < 0 and not account.allows_negative_balance:
            raise InsufficientCurrentPointsError()
        account = replace(account, balance=balance, last_sequence=account.last_sequence + 1)
        self.accounts[account_id] = account
        self.entries.append(
            LedgerEntry(
                account_id=account_id,
                entry_type=entry_type,
                sequence=account.last_sequence,
                points=points,
                closing_balance=balance,
            )
        )
        self.net += delta
        return len(self.entries) - 1

    def debit_whole_lots(self, account_id: int, lots: Sequence[LotSlice]) -> Decimal:
        """Debit everything left in `lots` (in the order given), emptying them; the amount."""
        amount = sum((lot.points for lot in lots), ZERO)
        if amount <= 0:
            return ZERO
        index = self._append(account_id, EntryType.DEBIT, amount)
        for lot in lots:
            self.consumptions.append((index, lot.lot_id, lot.points))
            self.emptied_lot_ids.append(lot.lot_id)
        return amount

    def credit(self, account_id: int, parts: Sequence[CreditPart]) -> int:
        """EventWriter.credit for new lots (no restores): points repaying a negative balance
        form no lot. The entry's index."""
        total = sum((part.points for part in parts), ZERO)
        repay = min(max(ZERO, -self.state(account_id).balance), total)
        index = self._append(account_id, EntryType.CREDIT, total)
        for part in parts:
            amount = part.points
            if repay > 0:
                taken = min(repay, amount)
                repay -= taken
                amount -= taken
            if amount <= 0:
                continue
            self.lots.append(
                (
                    index,
                    account_id,
                    amount,
                    part.expires_at,
                    part.matures_at,
                    part.transaction_id,
                )
            )
        return index


def event_rows_write(batch: Sequence[EventRows]) -> list[LedgerEvent]:
    """Insert the batch's events and rows (one bulk insert per table), empty the consumed lots
    and bring the accounts up to their newest entry. Accounts and owners must be locked.

    Raises ConcurrentLedgerUpdateError when the database refuses a row (a write that did not
    take the locks); nothing of the batch is written then.
    """
    batch = [rows for rows in batch if rows.entries]
    if not batch:
        return []
    size = BULK_BATCH_SIZE
    now = batch[0].now
    try:
        with db_transaction.atomic():
            for rows in batch:
                rows.event.net_points = rows.net
            events = LedgerEvent.objects.bulk_create([rows.event for rows in batch], size)
            entries: list[LedgerEntry] = []
            for rows in batch:
                for entry in rows.entries:
                    entry.event_id = rows.event.pk
                    entries.append(entry)
            LedgerEntry.objects.bulk_create(entries, size)
            lots: list[tuple[Any, ...]] = []
            consumptions: list[tuple[Any, ...]] = []
            emptied: list[int] = []
            consume = LotConsumption.Kind.CONSUME.value
            for rows in batch:
                for index, account_id, points, expires_at, matures_at, bill_id in rows.lots:
                    entry_id = rows.entries[index].pk
                    lots.append(
                        (account_id, entry_id, points, points, expires_at, matures_at, bill_id, now)
                    )
                for index, lot_id, points in rows.consumptions:
                    consumptions.append((rows.entries[index].pk, lot_id, consume, points))
                emptied += rows.emptied_lot_ids
            rows_insert(PointsLot, LOT_COLUMNS, lots)
            rows_insert(LotConsumption, CONSUMPTION_COLUMNS, consumptions)
            for start in range(0, len(emptied), size):
                PointsLot.objects.filter(pk__in=emptied[start : start + size]).update(
                    remaining_points=ZERO
                )
            account_ids = sorted({account for rows in batch for account in rows.accounts})
            accounts_sync(account_ids, now=now)
    except IntegrityError as exc:
        raise ConcurrentLedgerUpdateError() from exc
    return events


LOT_COLUMNS = (
    "account",
    "source_entry",
    "original_points",
    "remaining_points",
    "expires_at",
    "matures_at",
    "transaction",
    "created_at",
)
CONSUMPTION_COLUMNS = ("entry", "lot", "kind", "points")


def rows_insert(model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT `rows` (values of `fields`, in order) into the model's table, with no model
    instances: on PostgreSQL one INSERT ... SELECT FROM UNNEST of an array per column (what
    bulk_create sends, less its per-field Python work), elsewhere batched INSERTs."""
    if not rows:
        return
    columns = [model._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    names = ", ".join(quote(column.column) for column in columns)
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{column.db_type(connection)}[]" for column in columns)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT * FROM UNNEST({arrays})",  # noqa: S608
                [list(values) for values in zip(*rows, strict=True)],
            )
            return
        placeholders = ", ".join(["%s"] * len(columns))
        prepared = [
            [
                column.get_db_prep_save(value, connection)
                for column, value in zip(columns, row, strict=True)
            ]
            for row in rows
        ]
        for start in range(0, len(prepared), BULK_BATCH_SIZE):
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608
                prepared[start : start + BULK_BATCH_SIZE],
            )


def accounts_sync(account_ids: Sequence[int], *, now: datetime.datetime | None = None) -> None:
    """Set each account's cached balance and last sequence from its newest entry (one UPDATE
    per chunk). The accounts must be locked."""
    now = now or timezone.now()
    newest = LedgerEntry.objects.filter(account=OuterRef("pk")).order_by("-sequence")
    for start in range(0, len(account_ids), BULK_BATCH_SIZE):
        PointsAccount.objects.filter(pk__in=account_ids[start : start + BULK_BATCH_SIZE]).update(
            balance=Subquery(newest.values("closing_balance")[:1]),
            last_sequence=Subquery(newest.values("sequence")[:1]),
            updated_at=now,
        )


@dataclass(frozen=True)
class LedgerBatchResult:
    """A batch write: the events written (at most one per owner) and, by owner label
    ("customer:12", "group:3"), the error that left an owner untouched."""

    events: list[LedgerEvent]
    errors: dict[str, DomainError]


def owner_ids_from_labels(labels: Iterable[str]) -> tuple[list[int], list[int]]:
    """(customer ids, user group ids) of owner labels ("customer:12", "group:3")."""
    customers: list[int] = []
    groups: list[int] = []
    for label in labels:
        kind, _, pk = str(label).partition(":")
        (customers if kind == "customer" else groups).append(int(pk))
    return customers, groups


def event_for_owner(
    *, owner_label: str, org_id: int, event_name: str, actor_fields: dict[str, Any], **fields: Any
) -> LedgerEvent:
    """An unsaved event of the owner named by `owner_label`, as event_create would fill it."""
    kind, _, pk = owner_label.partition(":")
    owner = {"customer_id": int(pk)} if kind == "customer" else {"user_group_id": int(pk)}
    return LedgerEvent(
        org_id=org_id,
        **owner,
        event_name=event_name,
        transaction=None,
        source=fields.pop("source", ""),
        idempotency_key=None,
        request_fingerprint="",
        **actor_fields,
        **fields,
    )
