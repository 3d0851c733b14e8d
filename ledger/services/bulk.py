"""Set-wise ledger writes for batches of owners (jobs, bulk awards, imports), internal to the app.

A batch locks its owners (pk order), then the accounts it writes (pk order): the global lock
order of every ledger write (ledger.services.locking). It builds each owner's event, entries,
lots and lot movements in memory with the EventWriter's rules (an EventRows per event), then
writes the whole batch with one bulk insert per table, one UPDATE for the lots it empties and
one for the accounts. On PostgreSQL the inserts are COPYs (ids drawn from the sequences first,
so no row is read back) and the accounts take the batch's balances only where their sequence
is still the one the batch started from; elsewhere bulk_create, and the accounts take their
balance and sequence from their newest entry. An owner whose rows break a rule (a debit below
zero) is left out whole and reported by the caller.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import json
import operator
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections
from django.db import transaction as db_transaction
from django.db.models import BooleanField, JSONField, Model, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
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
from ledger.services.locking import array_literal
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

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> AccountState:
        """The state from the values of ACCOUNT_STATE_FIELDS, in order."""
        # The values set directly: the frozen __init__ costs twice this, for every account of
        # a batch (advanced() alike).
        state = object.__new__(cls)
        state.__dict__.update(zip(ACCOUNT_STATE_FIELDS, row, strict=True))
        return state

    def advanced(self, balance: Decimal) -> AccountState:
        """This state after one more entry, closing at `balance`."""
        state = object.__new__(AccountState)
        state.__dict__.update(self.__dict__, balance=balance, last_sequence=self.last_sequence + 1)
        return state


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


_pause_lock = threading.Lock()
_pauses = 0  # batches running with the collector paused, in all threads
_resume_collector = False  # whether the first of them found it enabled


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch builds its rows: the tens of
    thousands of objects a batch makes all live until it is written, and the collections their
    allocations trigger (full ones scan the whole process) would find no garbage in them, at
    a tenth of the batch's time. The switch is process-wide, so batches in several threads
    share one pause: the first turns the collector off, the last one out puts back what the
    first found."""
    global _pauses, _resume_collector
    with _pause_lock:
        if _pauses == 0:
            _resume_collector = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _resume_collector:
                gc.enable()


def column_in(
    model: type[Model], field_name: str, values: Sequence[Any], *, array_type: str = "bigint"
) -> Q:
    """`field_name__in=values` for a long list: on PostgreSQL one array parameter
    (`= ANY(%s)`), so the statement and its preparation do not grow with the list."""
    if connection.vendor != "postgresql":
        return Q(**{f"{field_name}__in": values})
    quote = connection.ops.quote_name
    column = model._meta.get_field(field_name).column
    # Names from the model's meta, the values one parameter.
    return Q(
        RawSQL(  # noqa: S611
            f"{quote(model._meta.db_table)}.{quote(column)} = ANY(%s::{array_type}[])",
            (array_literal(values),),
            output_field=BooleanField(),
        )
    )


def owner_accounts_lock(
    *, customer_ids: Iterable[int], user_group_ids: Iterable[int], condition: Q | None = None
) -> dict[int, AccountState]:
    """Lock the accounts of these owners that meet `condition`, in pk order, and return their
    state by id. The owners must be locked first."""
    customer_ids, user_group_ids = sorted(set(customer_ids)), sorted(set(user_group_ids))
    owners = Q(pk__in=[])
    if customer_ids:
        owners |= column_in(PointsAccount, "customer_id", customer_ids)
    if user_group_ids:
        owners |= column_in(PointsAccount, "user_group_id", user_group_ids)
    if not customer_ids and not user_group_ids:
        return {}
    accounts = PointsAccount.objects.select_for_update().filter(owners)
    if condition is not None:
        accounts = accounts.filter(condition)
    return {
        row[0]: AccountState.from_row(row)
        for row in accounts.order_by("pk").values_list(*ACCOUNT_STATE_FIELDS)
    }


@dataclass(frozen=True)
class LotSlice:
    """The part of a lot a debit takes (all that is left of it, in the batch jobs)."""

    lot_id: int
    points: Decimal


EntryRow = tuple[int, str, int, Decimal, Decimal]
ENTRY_COLUMNS = ("account", "entry_type", "sequence", "points", "closing_balance")


@dataclass
class EventRows:
    """One event and its rows, built in memory as EventWriter would write them. Account states
    change only in this object until the batch takes it (`accounts` holds the new ones)."""

    event: LedgerEvent
    base: dict[int, AccountState]
    now: datetime.datetime
    # (account id, entry type, sequence, points, closing balance) of each entry
    entries: list[EntryRow] = field(default_factory=list)
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
        account = account.advanced(balance)
        self.accounts[account_id] = account
        self.entries.append((account_id, entry_type, account.last_sequence, points, balance))
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
    """Insert the batch's events and rows (one bulk insert per table: on PostgreSQL a COPY with
    ids taken from the sequences beforehand), empty the consumed lots and bring the accounts up
    to their newest entry. Accounts and owners must be locked.

    Raises ConcurrentLedgerUpdateError when the database refuses a row or an account moved
    (a write that did not take the locks); nothing of the batch is written then.
    """
    batch = [rows for rows in batch if rows.entries]
    if not batch:
        return []
    now = batch[0].now
    for rows in batch:
        rows.event.net_points = rows.net
    events = [rows.event for rows in batch]
    postgresql = connection.vendor == "postgresql"
    try:
        with db_transaction.atomic():
            if postgresql:
                instances_copy(LedgerEvent, events, now=now)
                entry_ids = sequence_ids(LedgerEntry, sum(len(rows.entries) for rows in batch))
                entries: list[tuple[Any, ...]] = []
                for rows in batch:
                    event_id = rows.event.pk
                    for entry in rows.entries:
                        entries.append((entry_ids[len(entries)], event_id, *entry, now))
                rows_insert(LedgerEntry, ("id", "event", *ENTRY_COLUMNS, "created_at"), entries)
            else:
                LedgerEvent.objects.bulk_create(events, BULK_BATCH_SIZE)
                created = LedgerEntry.objects.bulk_create(
                    [
                        LedgerEntry(
                            event_id=rows.event.pk, **dict(zip(ENTRY_ATTNAMES, entry, strict=True))
                        )
                        for rows in batch
                        for entry in rows.entries
                    ],
                    BULK_BATCH_SIZE,
                )
                entry_ids = [entry.pk for entry in created]
            lots: list[tuple[Any, ...]] = []
            consumptions: list[tuple[Any, ...]] = []
            emptied: list[int] = []
            consume = LotConsumption.Kind.CONSUME.value
            # Each account's sequence before the batch, and its newest state.
            previous: dict[int, int] = {}
            newest: dict[int, AccountState] = {}
            first = 0  # position of the rows' first entry in entry_ids
            for rows in batch:
                for account_id, _, sequence, _, _ in rows.entries:
                    previous.setdefault(account_id, sequence - 1)
                for index, account_id, points, expires_at, matures_at, bill_id in rows.lots:
                    entry_id = entry_ids[first + index]
                    lots.append(
                        (account_id, entry_id, points, points, expires_at, matures_at, bill_id, now)
                    )
                for index, lot_id, points in rows.consumptions:
                    consumptions.append((entry_ids[first + index], lot_id, consume, points))
                emptied += rows.emptied_lot_ids
                for account_id, state in rows.accounts.items():
                    known = newest.get(account_id)
                    if known is None or state.last_sequence > known.last_sequence:
                        newest[account_id] = state
                first += len(rows.entries)
            rows_insert(PointsLot, LOT_COLUMNS, lots)
            rows_insert(LotConsumption, CONSUMPTION_COLUMNS, consumptions)
            lots_empty(emptied)
            if postgresql:
                accounts_update([newest[pk] for pk in sorted(newest)], previous=previous, now=now)
            else:
                accounts_sync(sorted(newest), now=now)
    except IntegrityError as exc:
        raise ConcurrentLedgerUpdateError() from exc
    return events


ENTRY_ATTNAMES = ("account_id", "entry_type", "sequence", "points", "closing_balance")
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

# Sequence names by table (PostgreSQL).
_sequences: dict[str, str] = {}


def sequence_ids(model: type[Model], count: int) -> list[int]:
    """`count` new ids from the model's id sequence (PostgreSQL), so that rows that refer to
    each other can be written by COPY without reading ids back."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if table not in _sequences:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, model._meta.pk.column])
            _sequences[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_sequences[table], count]
        )
        return sorted(row[0] for row in cursor.fetchall())


def instances_copy(
    model: type[Model], instances: Sequence[Model], *, now: datetime.datetime
) -> None:
    """Write unsaved model instances with one COPY (PostgreSQL), as bulk_create would: ids from
    the sequence, auto_now(_add) times set to `now`, JSON as the field's adapter writes it. The
    instances get their ids and count as saved. No save() or signals, as bulk_create."""
    if not instances:
        return
    fields = model._meta.concrete_fields
    stamped = [
        f.attname
        for f in fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    json_indexes = [index for index, f in enumerate(fields) if isinstance(f, JSONField)]
    values = operator.itemgetter(*(f.attname for f in fields))
    # The connection itself: each attribute read through the `connection` proxy costs more
    # than building a row.
    database = connections[DEFAULT_DB_ALIAS]
    pk_attname = model._meta.pk.attname
    rows: list[Sequence[Any]] = []
    for instance, pk in zip(instances, sequence_ids(model, len(instances)), strict=True):
        # The instances hold every field (none deferred): ids and times are plain attributes.
        attributes = instance.__dict__
        attributes[pk_attname] = pk
        for attname in stamped:
            attributes[attname] = now
        row = values(attributes)
        if json_indexes:
            row = list(row)
            for index in json_indexes:
                row[index] = _jsonb_binary(fields[index], row[index])
        rows.append(row)
        instance._state.adding = False
        instance._state.db = database.alias
    _copy(model, [f.column for f in fields], rows)


JSONB_OID = 3802
BYTEA_OID = 17
# An empty object in jsonb's binary form: the details of nearly every event.
_EMPTY_JSONB = b"\x01{}"


def _jsonb_binary(field: JSONField, value: Any) -> bytes | None:
    """A JSONField's value in jsonb's binary form: format version 1, then the JSON text that
    Django's adapter sends (json.dumps with the field's encoder)."""
    if value is None:
        return None
    if field.encoder is None and type(value) is dict and not value:
        return _EMPTY_JSONB
    return b"\x01" + json.dumps(field.get_prep_value(value), cls=field.encoder).encode()


# Column type oids by (table, columns) (PostgreSQL), for binary COPY.
_column_types: dict[tuple[str, tuple[str, ...]], list[int]] = {}


def _copy(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY the rows into the model's table, in binary with the columns' own types (the text
    format costs the client twice as much per row). jsonb values come in their binary form
    (_jsonb_binary), which goes out as it is. A refused row raises Django's error classes
    (IntegrityError...), as cursor.execute does: Django wraps no error of cursor.copy."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(column) for column in columns)
    database = connections[DEFAULT_DB_ALIAS]
    with database.cursor() as cursor, database.wrap_database_errors:
        key = (table, tuple(columns))
        if key not in _column_types:
            cursor.execute(
                "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attnum > 0 AND NOT attisdropped",
                [table],
            )
            types = dict(cursor.fetchall())
            # Bytes sent as bytea are sent unchanged: psycopg's jsonb dumper would encode each
            # value again, in Python, row by row.
            _column_types[key] = [
                BYTEA_OID if types[column] == JSONB_OID else types[column] for column in columns
            ]
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_column_types[key])
            for row in rows:
                copy.write_row(row)


def rows_insert(model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT `rows` (values of `fields`, in order) into the model's table, with no model
    instances: on PostgreSQL one COPY, elsewhere batched INSERTs."""
    if not rows:
        return
    columns = [model._meta.get_field(name) for name in fields]
    if connection.vendor == "postgresql":
        _copy(model, [column.column for column in columns], rows)
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(column.column) for column in columns)
    table = quote(model._meta.db_table)
    placeholders = ", ".join(["%s"] * len(columns))
    database = connections[DEFAULT_DB_ALIAS]
    prepared = [
        [
            column.get_db_prep_save(value, database)
            for column, value in zip(columns, row, strict=True)
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), BULK_BATCH_SIZE):
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608
                prepared[start : start + BULK_BATCH_SIZE],
            )


def lots_empty(lot_ids: Sequence[int]) -> None:
    """Set the lots' remaining points to zero (one UPDATE per chunk)."""
    size = len(lot_ids) if connection.vendor == "postgresql" else BULK_BATCH_SIZE
    for start in range(0, len(lot_ids), max(size, 1)):
        PointsLot.objects.filter(column_in(PointsLot, "id", lot_ids[start : start + size])).update(
            remaining_points=ZERO
        )


def accounts_update(
    states: Sequence[AccountState], *, previous: dict[int, int], now: datetime.datetime
) -> None:
    """Write the accounts' new balances and sequences in one UPDATE (PostgreSQL). Raises
    ConcurrentLedgerUpdateError unless each account still had the sequence the batch started
    from (`previous`, by account id). The accounts must be locked."""
    if not states:
        return
    ids = array_literal([state.pk for state in states])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_pointsaccount AS account SET balance = new.balance, "
            "last_sequence = new.last_sequence, updated_at = %s FROM UNNEST(%s::bigint[], "
            "%s::numeric[], %s::integer[], %s::integer[]) AS new(id, balance, last_sequence, "
            "previous) WHERE account.id = ANY(%s::bigint[]) AND account.id = new.id "
            "AND account.last_sequence = new.previous",
            [
                now,
                ids,
                array_literal([state.balance for state in states]),
                array_literal([state.last_sequence for state in states]),
                array_literal([previous[state.pk] for state in states]),
                # The ids again, as a plain condition: the accounts are found through the
                # primary key, not by a scan of the table to join with the list.
                ids,
            ],
        )
        if cursor.rowcount != len(states):
            raise ConcurrentLedgerUpdateError()


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
