"""Batch accrual: many credits (bulk awards, imports) posted set-wise with points_allocate's
rules, one event, entry and lot per credit as points_allocate writes them."""

from __future__ import annotations

import copy
import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction as db_transaction
from django.db.models import Model, Q
from django.db.models.base import ModelState
from django.utils import timezone

from ledger.exceptions import InvalidLedgerRequestError, LedgerIdempotencyConflictError
from ledger.models import LedgerEvent
from ledger.services.bulk import (
    AccountState,
    EventRows,
    collection_paused,
    column_in,
    event_rows_write,
    owner_accounts_lock,
)
from ledger.services.earn import CreditRequest, PreparedCredit, ProgramExpiries, credit_prepare
from ledger.services.locking import lock_owner_rows
from ledger.services.posting import (
    AccountKey,
    Owner,
    accounts_open,
    actor_event_fields,
    ensure_not_merged,
)
from loyalty_site.core.exceptions import DomainError
from members.models import Customer, UserGroup


@dataclass(frozen=True)
class PointsAllocateManyResult:
    """By position in the requests: the event written (or replayed: is_replay=True), or the
    error that left that credit unwritten."""

    events: dict[int, LedgerEvent]
    errors: dict[int, DomainError]


def _conflict(key: str) -> LedgerIdempotencyConflictError:
    return LedgerIdempotencyConflictError(
        f"Idempotency key {key!r} was already used for a different request"
    )


@db_transaction.atomic
def points_allocate_many(
    *, credits: Sequence[CreditRequest], actor: Any
) -> PointsAllocateManyResult:
    """points_allocate for many credits at once: the same checks, events, entries and lots, in
    the order given, written with a few set-wise statements for the whole batch (the owners,
    then the accounts, locked once each in pk order). A credit that fails its checks, whose
    customer is merged away, or whose key was used for other content (before, or earlier in
    the batch) is left out and reported in `errors`; a key used before with the same content
    gives the first event, as a replay.

    Raises ConcurrentLedgerUpdateError when the database refuses a row (nothing is written).
    """
    with collection_paused():
        return _allocate_many(credits, actor=actor)


def _allocate_many(credits: Sequence[CreditRequest], *, actor: Any) -> PointsAllocateManyResult:
    expiries = ProgramExpiries(timezone.now())
    errors: dict[int, DomainError] = {}
    prepared: dict[int, PreparedCredit] = {}
    for index, request in enumerate(credits):
        try:
            prepared[index] = credit_prepare(request, expiries=expiries)
        except DomainError as exc:
            errors[index] = exc
    events: dict[int, LedgerEvent] = {}
    if not prepared:
        return PointsAllocateManyResult(events=events, errors=errors)

    fresh = lock_owner_rows(
        customer_ids=[c.owner.pk for c in prepared.values() if isinstance(c.owner, Customer)],
        user_group_ids=[c.owner.pk for c in prepared.values() if isinstance(c.owner, UserGroup)],
    )
    # Replays are looked up after the owner locks: a call with the same key that committed
    # while this batch waited is a replay, not a second credit.
    earlier: dict[tuple[int, str], LedgerEvent] = {}
    keys_by_org: dict[int, list[str]] = defaultdict(list)
    for credit in prepared.values():
        keys_by_org[credit.owner.org_id].append(credit.key)
    for org_id, keys in keys_by_org.items():
        replays = LedgerEvent.objects.filter(
            column_in(LedgerEvent, "idempotency_key", keys, array_type="text"), org_id=org_id
        )
        for event in replays:
            event.is_replay = True
            earlier[(org_id, event.idempotency_key)] = event

    to_write: dict[int, PreparedCredit] = {}
    # A key repeated in the batch: the later credit replays the first one written.
    first_in_batch: dict[tuple[int, str], int] = {}
    repeats: dict[int, int] = {}
    for index, credit in prepared.items():
        key = (credit.owner.org_id, credit.key)
        if key in earlier:
            if earlier[key].request_fingerprint != credit.fingerprint:
                errors[index] = _conflict(credit.key)
            else:
                events[index] = earlier[key]
            continue
        if key in first_in_batch:
            first = prepared[first_in_batch[key]]
            if first.fingerprint != credit.fingerprint:
                errors[index] = _conflict(credit.key)
            else:
                repeats[index] = first_in_batch[key]
            continue
        owner = fresh.get(credit.label)
        try:
            if owner is None:
                raise InvalidLedgerRequestError(f"{credit.label} does not exist")
            ensure_not_merged(owner)
        except DomainError as exc:
            errors[index] = exc
            continue
        first_in_batch[key] = index
        to_write[index] = credit

    accounts = _accounts_lock(to_write.values(), actor=actor)
    template = _event_template(actor_event_fields(actor))
    now = expiries.now
    batch: list[tuple[int, EventRows]] = []
    states = accounts.states
    for index, credit in to_write.items():
        rows = EventRows(event=_event(credit, template, now=now), base=states, now=now)
        rows.credit(accounts.ids[credit.label, credit.account_key], [credit.part])
        # The next credit to this account starts from this one's balance and sequence.
        states.update(rows.accounts)
        batch.append((index, rows))
    event_rows_write([rows for _, rows in batch])
    for index, rows in batch:
        events[index] = rows.event
    for index, first in repeats.items():
        if first in events:
            replay = copy.copy(events[first])
            replay.is_replay = True
            events[index] = replay
    return PointsAllocateManyResult(events=events, errors=errors)


def _ids(fields: dict[str, Any]) -> dict[str, Any]:
    """Model field values with each related object as its id (`till` -> `till_id`)."""
    return {
        (f"{name}_id" if isinstance(value, Model) else name): (
            value.pk if isinstance(value, Model) else value
        )
        for name, value in fields.items()
    }


def _event_template(actor_fields: dict[str, Any]) -> LedgerEvent:
    """An unsaved event with the actor's fields and every default, holding ids only (no cached
    related objects): each credit's event is a copy of it, which costs a tenth of a model
    instance built from keyword arguments."""
    return LedgerEvent(**_ids(actor_fields))


# Event fields that _event sets from other values than their own.
_DERIVED_EVENT_FIELDS = frozenset({"transaction", "promotion", "occurred_at", "source"})


def _event(credit: PreparedCredit, template: LedgerEvent, *, now: datetime.datetime) -> LedgerEvent:
    """The credit's unsaved event, as event_create fills it."""
    fields = credit.event_fields
    transaction = fields["transaction"]
    promotion = fields["promotion"]
    # A copy of the template as unpickling makes one (its values, a fresh state), with this
    # credit's values set as plain attributes: the template caches no related object that an
    # id set here could contradict.
    event = LedgerEvent.__new__(LedgerEvent)
    values = event.__dict__
    values.update(template.__dict__)
    event._state = ModelState()
    source = fields["source"]
    if transaction is not None:
        # The event happened where the bill was booked.
        values["till_id"] = transaction.till_id
        values["store_id"] = transaction.store_id
        source = source or transaction.source
    if promotion is not None:
        values.update(promotion.event_fields())
    for name, value in fields.items():
        if name in _DERIVED_EVENT_FIELDS:
            continue
        # A related object as its id (`triggered_by` -> `triggered_by_id`).
        if isinstance(value, Model):
            values[f"{name}_id"] = value.pk
        else:
            values[name] = value
    owner = credit.owner
    is_customer = isinstance(owner, Customer)
    values["occurred_at"] = fields["occurred_at"] or now
    values["source"] = source or ""
    values["org_id"] = owner.org_id
    values["customer_id"] = owner.pk if is_customer else None
    values["user_group_id"] = None if is_customer else owner.pk
    values["transaction_id"] = None if transaction is None else transaction.pk
    values["idempotency_key"] = credit.key
    values["request_fingerprint"] = credit.fingerprint
    return event


@dataclass(frozen=True)
class _LockedAccounts:
    ids: dict[tuple[str, AccountKey], int]  # (owner label, (program id, category)) -> account id
    states: dict[int, AccountState]


def _accounts_lock(credits: Iterable[PreparedCredit], *, actor: Any) -> _LockedAccounts:
    """Open the credits' missing accounts (an event per owner, as post_event does), then lock
    the accounts the batch writes, in pk order. The owners must be locked."""
    wanted: dict[str, set[AccountKey]] = defaultdict(set)
    owners: dict[str, Owner] = {}
    for credit in credits:
        wanted[credit.label].add(credit.account_key)
        owners[credit.label] = credit.owner
    if not owners:
        return _LockedAccounts(ids={}, states={})
    condition = Q(
        program_id__in={key[0] for keys in wanted.values() for key in keys},
        category__in={key[1] for keys in wanted.values() for key in keys},
    )
    ids = {
        "customer_ids": [o.pk for o in owners.values() if isinstance(o, Customer)],
        "user_group_ids": [o.pk for o in owners.values() if isinstance(o, UserGroup)],
    }
    states = owner_accounts_lock(**ids, condition=condition)
    account_ids = _account_ids(states)
    missing = {
        label: [key for key in keys if (label, key) not in account_ids]
        for label, keys in wanted.items()
    }
    for label, keys in missing.items():
        if keys:
            accounts_open(owner=owners[label], keys=keys, actor=actor)
    if any(missing.values()):
        states = owner_accounts_lock(**ids, condition=condition)
        account_ids = _account_ids(states)
    return _LockedAccounts(ids=account_ids, states=states)


def _account_ids(states: dict[int, AccountState]) -> dict[tuple[str, AccountKey], int]:
    return {(s.owner_label, (s.program_id, s.category)): s.pk for s in states.values()}
