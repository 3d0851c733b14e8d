"""The posting engine behind every ledger service (internal to the ledger app).

A write is: validate -> replay check by idempotency key -> lock the owner(s), then the accounts in
pk order -> open missing accounts (zero opening balance, in their own event) -> create the event
-> append entries through an EventWriter (which keeps the cached balance, the closing balances and
the lots in step) -> set the event's net points. All of it inside the caller's atomic block.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from ledger.exceptions import (
    ConcurrentLedgerUpdateError,
    InsufficientCurrentPointsError,
    InvalidLedgerRequestError,
    InvalidPointsError,
    InvalidProgramIdError,
    LedgerIdempotencyConflictError,
)
from ledger.models import (
    POINTS_DECIMAL_PLACES,
    EntryType,
    EventName,
    LedgerEntry,
    LedgerEvent,
    LotConsumption,
    PointsAccount,
    PointsLot,
)
from ledger.services.locking import lock_accounts, lock_owners
from members.exceptions import CustomerMergedError
from members.models import (
    Customer,
    PointsCategory,
    PointsExpiryPolicy,
    Program,
    Till,
    Transaction,
    UserGroup,
)

Owner = Customer | UserGroup
AccountKey = tuple[int, str]  # (program id, points category)
ZERO = Decimal(0)
POINTS_QUANTUM = Decimal(1).scaleb(-POINTS_DECIMAL_PLACES)
IDEMPOTENCY_KEY_MAX_LENGTH = 128


@dataclass(frozen=True)
class PromotionRef:
    """The promotion behind a credit (eventDetails.promotionId/Identifier/Name/Description)."""

    id: str = ""
    identifier: str = ""
    name: str = ""
    description: str = ""

    @classmethod
    def coerce(cls, value: PromotionRef | Mapping[str, Any] | None) -> PromotionRef | None:
        if value is None or isinstance(value, PromotionRef):
            return value
        return cls(
            id=str(value.get("id", "") or ""),
            identifier=str(value.get("identifier", "") or ""),
            name=str(value.get("name", "") or ""),
            description=str(value.get("description", "") or ""),
        )

    def event_fields(self) -> dict[str, str]:
        return {
            "promotion_id": self.id[:64],
            "promotion_identifier": self.identifier[:100],
            "promotion_name": self.name[:255],
            "promotion_description": self.description,
        }


@dataclass(frozen=True)
class OpeningBalance:
    """The balance an account starts with when the ledger is back-filled, and its expiry."""

    points: Decimal
    expires_at: datetime.datetime | None = None
    matures_at: datetime.datetime | None = None


@dataclass
class CreditPart:
    """A slice of a credit: it becomes a lot with this expiry, or goes back into `restore_lot`
    (a reversal) when that lot is still live."""

    points: Decimal
    expires_at: datetime.datetime | None = None
    matures_at: datetime.datetime | None = None
    transaction_id: int | None = None
    restore_lot_id: int | None = None


LotPlan = list[tuple[PointsLot, Decimal]]


# Owners -------------------------------------------------------------------------------------
def resolve_owner(*, customer: Customer | None, user_group: UserGroup | None) -> Owner:
    if (customer is None) == (user_group is None):
        raise InvalidLedgerRequestError("Give exactly one of customer or user group")
    return customer if customer is not None else user_group


def owner_filter(owner: Owner) -> dict[str, Owner]:
    return {"customer": owner} if isinstance(owner, Customer) else {"user_group": owner}


def owner_label(owner: Owner) -> str:
    return f"customer:{owner.pk}" if isinstance(owner, Customer) else f"group:{owner.pk}"


def lock_for_write(owners: Iterable[Owner]) -> dict[str, Owner]:
    """Lock the owners' rows in the global order; returns their fresh state by owner_label."""
    owners = list(owners)
    customers, groups = lock_owners(
        customer_ids=[o.pk for o in owners if isinstance(o, Customer)],
        user_group_ids=[o.pk for o in owners if isinstance(o, UserGroup)],
    )
    fresh: dict[str, Owner] = {}
    for owner in owners:
        rows = customers if isinstance(owner, Customer) else groups
        if owner.pk not in rows:
            raise InvalidLedgerRequestError(f"{owner_label(owner)} does not exist")
        fresh[owner_label(owner)] = rows[owner.pk]
    return fresh


def ensure_not_merged(owner: Owner, *, error: type[Exception] = CustomerMergedError) -> None:
    # A customer, or a customer's LockedOwner row (groups are never merged).
    if getattr(owner, "merged_into_id", None):
        raise error(f"Customer {owner.pk} has been merged into customer {owner.merged_into_id}")


def ensure_program(owner: Owner, program: Program) -> None:
    if program is None or program.org_id != owner.org_id or not program.is_active:
        raise InvalidProgramIdError(
            f"Program {getattr(program, 'pk', None)} is not an active program of the org"
        )


CATEGORIES = frozenset(PointsCategory.values)
EVENT_NAMES = frozenset(EventName.values)


def ensure_category(category: str) -> str:
    if category not in CATEGORIES:
        raise InvalidLedgerRequestError(f"Unknown points category {category!r}")
    return category


def ensure_event_name(event_name: str) -> str:
    if event_name not in EVENT_NAMES:
        raise InvalidLedgerRequestError(f"Unknown ledger event name {event_name!r}")
    return event_name


# Values -------------------------------------------------------------------------------------
def to_points(
    value: Any,
    *,
    program: Program | None = None,
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> Decimal:
    """A positive points amount with no more decimals than the program allows. Raises 801."""
    if isinstance(value, bool) or value is None:
        raise InvalidPointsError("Points must be a number")
    if type(value) is int:
        # The value str() would give, without the round trip through text.
        points = Decimal(value)
    else:
        try:
            points = Decimal(str(value).strip())
        except (InvalidOperation, ValueError) as exc:
            raise InvalidPointsError(f"Invalid points {value!r}") from exc
        if not points.is_finite():
            raise InvalidPointsError(f"Invalid points {value!r}")
    if (points < 0 and not allow_negative) or (points == 0 and not allow_zero):
        raise InvalidPointsError(f"Points must be more than zero, got {value!r}")
    # The size check comes first: quantize() raises InvalidOperation past the context precision.
    if points and points.adjusted() >= 15:
        raise InvalidPointsError("Points amount is too large")
    places = POINTS_DECIMAL_PLACES
    if program is not None:
        places = min(program.points_decimal_places, POINTS_DECIMAL_PLACES)
    if points != points.quantize(_quantum(places)):
        raise InvalidPointsError(f"Points can have at most {places} decimal places")
    return points.quantize(POINTS_QUANTUM)


@functools.cache
def _quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def clean_idempotency_key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidLedgerRequestError("An idempotency key is required", field="idempotency_key")
    key = key.strip()
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise InvalidLedgerRequestError(
            f"The idempotency key is longer than {IDEMPOTENCY_KEY_MAX_LENGTH} characters",
            field="idempotency_key",
        )
    return key


def request_fingerprint(operation: str, **payload: Any) -> str:
    """sha256 of the request as `json.dumps(..., sort_keys=True, default=str)` writes it: the
    fingerprints stored with events, so the text must never change."""
    payload["operation"] = operation
    parts = []
    for name in sorted(payload):
        value = payload[name]
        if value is None:
            text = "null"
        elif type(value) is str:
            text = _json_string(value)
        else:
            text = _fingerprint_json(value)
            if text is None:
                body = json.dumps(payload, sort_keys=True, default=str)
                break
        parts.append(f"{_json_string(name)}: {text}")
    else:
        body = "{" + ", ".join(parts) + "}"
    return hashlib.sha256(body.encode()).hexdigest()


# json.dumps's own string encoder (C): a batch computes a fingerprint per credit, and json.dumps
# costs several times the hand-built text for the flat payloads services pass.
_json_string = json.encoder.encode_basestring_ascii
_STRINGIFIED = (Decimal, datetime.date, datetime.time, PromotionRef)


def _fingerprint_json(value: Any) -> str | None:
    """`value` as json.dumps(default=str) writes it, or None for a type left to json.dumps
    (floats, containers...)."""
    if isinstance(value, str):
        return _json_string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, _STRINGIFIED):
        return _json_string(str(value))
    return None


def find_replay(*, org_id: int, key: str | None, fingerprint: str) -> LedgerEvent | None:
    """The event an earlier call with this key wrote. Raises LedgerIdempotencyConflictError when
    that call had other content."""
    if key is None:
        return None
    event = LedgerEvent.objects.filter(org_id=org_id, idempotency_key=key).first()
    if event is None:
        return None
    if event.request_fingerprint != fingerprint:
        raise LedgerIdempotencyConflictError(
            f"Idempotency key {key!r} was already used for a different request"
        )
    event.is_replay = True
    return event


# Time ---------------------------------------------------------------------------------------
def start_of_day(day: datetime.date, tz: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)


def end_of_day(day: datetime.date, tz: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=tz)


def program_expiry(program: Program, credited_at: datetime.datetime) -> datetime.datetime | None:
    """When points credited at `credited_at` expire under the program's policy: the end of the
    day (org time zone) N days later, or the end of the Nth month end (1 = this month's end)."""
    tz = program.org.tzinfo
    local_day = timezone.localtime(credited_at, tz).date()
    if program.expiry_policy == PointsExpiryPolicy.DAYS:
        return end_of_day(local_day + datetime.timedelta(days=program.expiry_value), tz)
    if program.expiry_policy == PointsExpiryPolicy.MONTH_ENDS:
        month_index = local_day.year * 12 + local_day.month - 1 + max(program.expiry_value, 1) - 1
        year, month = divmod(month_index, 12)
        next_month_first = datetime.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
        return end_of_day(next_month_first - datetime.timedelta(days=1), tz)
    return None


def explicit_expiry(
    value: datetime.datetime | datetime.date | None, *, program: Program
) -> datetime.datetime | None:
    """An explicit expiry: a date means the end of that day in the org's time zone."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            raise InvalidLedgerRequestError("Expiry times must carry a time zone")
        return value
    return end_of_day(value, program.org.tzinfo)


# Events -------------------------------------------------------------------------------------
class IdempotencyKeyTakenError(Exception):
    """Internal: the event insert lost the race for its idempotency key."""


def actor_event_fields(actor: Any) -> dict[str, Any]:
    if isinstance(actor, Till):
        return {"till": actor, "store_id": actor.store_id}
    if isinstance(actor, AbstractBaseUser):
        return {"created_by_user": actor}
    return {}


def event_create(
    *,
    owner: Owner,
    event_name: str,
    actor: Any = None,
    occurred_at: datetime.datetime | None = None,
    transaction: Transaction | None = None,
    source: str = "",
    promotion: PromotionRef | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    **fields: Any,
) -> LedgerEvent:
    values: dict[str, Any] = {**actor_event_fields(actor)}
    if transaction is not None:
        # The event happened where the bill was booked.
        values.update(till_id=transaction.till_id, store_id=transaction.store_id)
        source = source or transaction.source
    if promotion is not None:
        values.update(promotion.event_fields())
    values.update(fields)
    event = LedgerEvent(
        org_id=owner.org_id,
        **owner_filter(owner),
        event_name=event_name,
        occurred_at=occurred_at or timezone.now(),
        transaction=transaction,
        source=source or "",
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        **values,
    )
    if idempotency_key is None:
        event.save()
        return event
    try:
        with db_transaction.atomic():
            event.save()
    except IntegrityError as exc:
        raise IdempotencyKeyTakenError(idempotency_key) from exc
    return event


def keyed_event_create(*, idempotency_key: str, fingerprint: str, **kwargs: Any) -> LedgerEvent:
    """Create the event that holds the idempotency key; when a concurrent call won the key,
    return its event (marked is_replay) or raise the conflict error."""
    try:
        return event_create(idempotency_key=idempotency_key, fingerprint=fingerprint, **kwargs)
    except IdempotencyKeyTakenError:
        owner = kwargs["owner"]
        replay = find_replay(org_id=owner.org_id, key=idempotency_key, fingerprint=fingerprint)
        if replay is None:
            raise ConcurrentLedgerUpdateError()
        return replay


class EventWriter:
    """Appends one event's entries, keeping balances, closing balances and lots in step.

    Accounts passed in must be locked (lock_accounts) by the caller.
    """

    def __init__(self, event: LedgerEvent, *, now: datetime.datetime | None = None) -> None:
        self.event = event
        self.now = now or timezone.now()
        self.net = ZERO
        self.entries: list[LedgerEntry] = []

    def _append(
        self,
        account: PointsAccount,
        entry_type: str,
        points: Decimal,
        *,
        allow_negative: bool = False,
    ) -> LedgerEntry:
        delta = -points if entry_type == EntryType.DEBIT else points
        account.balance += delta
        account.last_sequence += 1
        if account.balance < 0:
            if not (allow_negative or account.allows_negative_balance):
                raise InsufficientCurrentPointsError()
            account.allows_negative_balance = True
        entry = LedgerEntry.objects.create(
            event=self.event,
            account=account,
            entry_type=entry_type,
            sequence=account.last_sequence,
            points=points,
            closing_balance=account.balance,
        )
        account.save(
            update_fields=["balance", "last_sequence", "allows_negative_balance", "updated_at"]
        )
        if entry_type != EntryType.OPENING_BALANCE:
            self.net += delta
        self.entries.append(entry)
        return entry

    def opening_balance(
        self,
        account: PointsAccount,
        points: Decimal,
        *,
        expires_at: datetime.datetime | None = None,
        matures_at: datetime.datetime | None = None,
    ) -> LedgerEntry:
        if account.last_sequence != 0:
            raise InvalidLedgerRequestError(f"Account {account.pk} already has entries")
        # A negative opening balance (back-fill of a negative legacy balance) flags the account.
        entry = self._append(account, EntryType.OPENING_BALANCE, points, allow_negative=True)
        if points > 0:
            PointsLot.objects.create(
                account=account,
                source_entry=entry,
                original_points=points,
                remaining_points=points,
                expires_at=expires_at,
                matures_at=matures_at,
            )
        return entry

    def credit(self, account: PointsAccount, parts: Sequence[CreditPart]) -> LedgerEntry:
        total = sum((part.points for part in parts), ZERO)
        if total <= 0:
            raise InvalidPointsError("A credit needs more than zero points")
        # Points that cancel a negative balance (merge rule) repay it and form no lot.
        repay = min(max(ZERO, -account.balance), total)
        entry = self._append(account, EntryType.CREDIT, total)
        restores: list[LotConsumption] = []
        for part in parts:
            amount = part.points
            if repay > 0:
                taken = min(repay, amount)
                repay -= taken
                amount -= taken
            if amount <= 0:
                continue
            lot = self._restorable_lot(account, part.restore_lot_id, amount)
            if lot is not None:
                lot.remaining_points += amount
                lot.save(update_fields=["remaining_points"])
                restores.append(
                    LotConsumption(
                        entry=entry, lot=lot, kind=LotConsumption.Kind.RESTORE, points=amount
                    )
                )
                continue
            PointsLot.objects.create(
                account=account,
                source_entry=entry,
                original_points=amount,
                remaining_points=amount,
                expires_at=part.expires_at,
                matures_at=part.matures_at,
                transaction_id=part.transaction_id,
            )
        LotConsumption.objects.bulk_create(restores)
        return entry

    def _restorable_lot(
        self, account: PointsAccount, lot_id: int | None, amount: Decimal
    ) -> PointsLot | None:
        if lot_id is None:
            return None
        lot = PointsLot.objects.filter(pk=lot_id, account=account).first()
        if lot is None or (lot.expires_at is not None and lot.expires_at <= self.now):
            return None
        if lot.remaining_points + amount > lot.original_points:
            return None
        return lot

    def plan(
        self,
        account: PointsAccount,
        points: Decimal,
        *,
        live_only: bool = False,
        preferred_transaction_id: int | None = None,
        lot_filter: Q | None = None,
    ) -> LotPlan:
        """Which lots a debit of `points` takes: the bill's own lots first when given, then the
        nearest expiry (never-expiring last), oldest first. May cover less than `points`."""
        lots = PointsLot.objects.filter(account=account, remaining_points__gt=0)
        if live_only:
            lots = lots.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=self.now))
        if lot_filter is not None:
            lots = lots.filter(lot_filter)
        rank = Value(1, output_field=IntegerField())
        if preferred_transaction_id is not None:
            rank = Case(
                When(transaction_id=preferred_transaction_id, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        lots = lots.annotate(preference=rank).order_by(
            "preference", F("expires_at").asc(nulls_last=True), "id"
        )
        plan: LotPlan = []
        left = points
        for lot in lots:
            if left <= 0:
                break
            taken = min(left, lot.remaining_points)
            plan.append((lot, taken))
            left -= taken
        return plan

    def debit(
        self,
        account: PointsAccount,
        points: Decimal,
        *,
        plan: LotPlan | None = None,
        live_only: bool = False,
        preferred_transaction_id: int | None = None,
        allow_negative: bool = False,
        error: type[Exception] = InsufficientCurrentPointsError,
    ) -> tuple[LedgerEntry, LotPlan]:
        """Debit `points`, consuming lots per `plan` (default: self.plan). Raises `error` when the
        lots do not cover it, unless the merge rule allows a negative balance."""
        if points <= 0:
            raise InvalidPointsError("A debit needs more than zero points")
        if plan is None:
            plan = self.plan(
                account,
                points,
                live_only=live_only,
                preferred_transaction_id=preferred_transaction_id,
            )
        covered = sum((amount for _, amount in plan), ZERO)
        if covered < points and not allow_negative:
            raise error(
                f"{points} points asked, {covered} available in program {account.program_id} "
                f"({account.category})"
            )
        entry = self._append(account, EntryType.DEBIT, points, allow_negative=allow_negative)
        consumptions = []
        for lot, amount in plan:
            lot.remaining_points -= amount
            lot.save(update_fields=["remaining_points"])
            consumptions.append(
                LotConsumption(
                    entry=entry, lot=lot, kind=LotConsumption.Kind.CONSUME, points=amount
                )
            )
        LotConsumption.objects.bulk_create(consumptions)
        return entry, plan

    def finish(self) -> LedgerEvent:
        # The event row may have been written with its net already (a plain credit).
        if self.event.net_points != self.net:
            LedgerEvent.objects.filter(pk=self.event.pk).update(net_points=self.net)
            self.event.net_points = self.net
        return self.event


# Accounts -----------------------------------------------------------------------------------
CATEGORY_ORDER = {category: index for index, category in enumerate(PointsCategory.values)}


def accounts_open(
    *,
    owner: Owner,
    keys: Iterable[AccountKey],
    actor: Any = None,
    event_name: str = EventName.CUSTOMER_UPDATE,
    opening_balances: Mapping[AccountKey, OpeningBalance] | None = None,
    occurred_at: datetime.datetime | None = None,
    source: str = "",
) -> tuple[dict[AccountKey, PointsAccount], LedgerEvent | None]:
    """The owner's accounts for `keys`, locked; missing ones are opened first, each with one
    opening-balance entry (zero unless `opening_balances` says otherwise) in one event.

    The owner must be locked (lock_for_write) so that no one else opens the same accounts.
    """
    wanted = sorted(set(keys), key=lambda key: (key[0], CATEGORY_ORDER[key[1]]))
    if not wanted:
        return {}, None
    # Usually every account exists: lock them at once (pk order), one statement.
    condition = Q(pk__in=[])
    for program_id, category in wanted:
        condition |= Q(program_id=program_id, category=category)
    locked = {
        (account.program_id, account.category): account
        for account in PointsAccount.objects.select_for_update(of=("self",))
        .filter(condition, **owner_filter(owner))
        .select_related("program", "org")
        .order_by("pk")
    }
    if len(locked) == len(wanted):
        return {key: locked[key] for key in wanted}, None
    existing: dict[AccountKey, int] = {key: account.pk for key, account in locked.items()}
    missing = [key for key in wanted if key not in existing]
    event = None
    if missing:
        opening_balances = opening_balances or {}
        try:
            with db_transaction.atomic():
                event = event_create(
                    owner=owner,
                    event_name=event_name,
                    actor=actor,
                    occurred_at=occurred_at,
                    source=source,
                )
                writer = EventWriter(event)
                for program_id, category in missing:
                    account = PointsAccount.objects.create(
                        org_id=owner.org_id,
                        **owner_filter(owner),
                        program_id=program_id,
                        category=category,
                    )
                    opening = opening_balances.get((program_id, category))
                    opening = opening or OpeningBalance(points=ZERO)
                    writer.opening_balance(
                        account,
                        opening.points,
                        expires_at=opening.expires_at,
                        matures_at=opening.matures_at,
                    )
                    existing[(program_id, category)] = account.pk
                writer.finish()
        except IntegrityError as exc:
            raise ConcurrentLedgerUpdateError() from exc
    locked = lock_accounts(existing[key] for key in wanted)
    return {key: locked[existing[key]] for key in wanted}, event


# The common single-owner write ----------------------------------------------------------------
Writer = Callable[[EventWriter, dict[AccountKey, PointsAccount]], None]


def post_event(
    *,
    owner: Owner,
    keys: Iterable[AccountKey],
    idempotency_key: str | None,
    fingerprint: str,
    write: Writer,
    event_fields: dict[str, Any],
    actor: Any = None,
    merged_error: type[Exception] | None = CustomerMergedError,
    skip_if_empty: bool = False,
) -> LedgerEvent | None:
    """Lock the owner, open its missing accounts, create the event and let `write` append the
    entries. A replay of `idempotency_key` returns the first event (is_replay=True).

    With `skip_if_empty`, an event that got no entries is rolled back and None returned (jobs).
    """
    fresh = lock_for_write([owner])[owner_label(owner)]
    # After the lock: a concurrent call with the same key may have committed while we waited.
    # A replay answers even when the customer was merged away since.
    replay = find_replay(org_id=owner.org_id, key=idempotency_key, fingerprint=fingerprint)
    if replay is not None:
        return replay
    if merged_error is not None:
        ensure_not_merged(fresh, error=merged_error)
    accounts, _ = accounts_open(owner=owner, keys=keys, actor=actor)
    # A savepoint only when an empty event must be rolled back; an error rolls back the
    # caller's atomic block anyway.
    with db_transaction.atomic() if skip_if_empty else contextlib.nullcontext():
        if idempotency_key is not None:
            event = keyed_event_create(
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
                owner=owner,
                actor=actor,
                **event_fields,
            )
            if getattr(event, "is_replay", False):
                return event
        else:
            event = event_create(owner=owner, actor=actor, **event_fields)
        writer = EventWriter(event)
        write(writer, accounts)
        if skip_if_empty and not writer.entries:
            db_transaction.set_rollback(True)
            return None
        return writer.finish()


# Job support --------------------------------------------------------------------------------
def owner_label_batches(
    *, accounts: QuerySet[PointsAccount], lots: QuerySet[PointsLot], after: str, size: int
) -> Iterator[tuple[list[str], str]]:
    """Owners of the `accounts` that hold any of `lots`, in a fixed order (customers by id, then
    groups by id), in batches whose cursor is the last label; resumable from `after`.

    A batch walks the accounts in owner order from the cursor and probes each for a lot: the
    whole walk reads each account once, where a scan of the lots per batch would read all of
    them each time."""
    holding = accounts.filter(Exists(lots.filter(account=OuterRef("pk"))))
    phases = (("customer", "customer_id"), ("group", "user_group_id"))
    after_kind, _, after_id = after.partition(":")
    for index, (kind, field) in enumerate(phases):
        if after and index < [name for name, _ in phases].index(after_kind):
            continue
        last = int(after_id) if after and kind == after_kind else 0
        while True:
            ids = list(
                holding.filter(**{f"{field}__gt": last})
                .order_by(field)
                .values_list(field, flat=True)
                .distinct()[:size]
            )
            if not ids:
                break
            last = ids[-1]
            yield [f"{kind}:{pk}" for pk in ids], f"{kind}:{last}"
            if len(ids) < size:
                break


def owner_from_label(label: str) -> Owner:
    """The customer or user group named by an owner label ("customer:12", "group:3")."""
    kind, _, pk = label.partition(":")
    model = Customer if kind == "customer" else UserGroup
    return model.objects.select_related("org").get(pk=int(pk))
