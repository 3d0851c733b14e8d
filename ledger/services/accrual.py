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
    owner_label,
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
        owner = fresh.get(owner_label(credit.owner))
        try:
            if owner is None:
                raise InvalidLedgerRequestError(f"{owner_label(credit.owner)} does not exist")
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
    for index, credit in to_write.items():
        rows = EventRows(event=_event(credit, template, now=now), base=accounts.states, now=now)
        rows.credit(accounts.ids[(owner_label(credit.owner), *credit.account_key)], [credit.part])
        # The next credit to this account starts from this one's balance and sequence.
        accounts.states.update(rows.accounts)
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


def _event(credit: PreparedCredit, template: LedgerEvent, *, now: datetime.datetime) -> LedgerEvent:
    """The credit's unsaved event, as event_create fills it."""
    fields = dict(credit.event_fields)
    transaction = fields.pop("transaction")
    promotion = fields.pop("promotion")
    values: dict[str, Any] = {}
    if transaction is not None:
        # The event happened where the bill was booked.
        values.update(till_id=transaction.till_id, store_id=transaction.store_id)
        fields["source"] = fields["source"] or transaction.source
    if promotion is not None:
        values.update(promotion.event_fields())
    values.update(_ids(fields))
    values["occurred_at"] = values["occurred_at"] or now
    values["source"] = values["source"] or ""
    owner = credit.owner
    values.update(
        org_id=owner.org_id,
        customer_id=owner.pk if isinstance(owner, Customer) else None,
        user_group_id=owner.pk if isinstance(owner, UserGroup) else None,
        transaction_id=getattr(transaction, "pk", None),
        idempotency_key=credit.key,
        request_fingerprint=credit.fingerprint,
    )
    # A copy of the template as unpickling makes one (its values, a fresh state), with this
    # credit's values set as plain attributes: the template caches no related object that an
    # id set here could contradict.
    event = LedgerEvent.__new__(LedgerEvent)
    event.__dict__.update(template.__dict__)
    event._state = ModelState()
    event.__dict__.update(values)
    return event


@dataclass(frozen=True)
class _LockedAccounts:
    ids: dict[tuple[str, int, str], int]  # (owner label, program id, category) -> account id
    states: dict[int, AccountState]


def _accounts_lock(credits: Iterable[PreparedCredit], *, actor: Any) -> _LockedAccounts:
    """Open the credits' missing accounts (an event per owner, as post_event does), then lock
    the accounts the batch writes, in pk order. The owners must be locked."""
    wanted: dict[str, set[AccountKey]] = defaultdict(set)
    owners: dict[str, Owner] = {}
    for credit in credits:
        label = owner_label(credit.owner)
        wanted[label].add(credit.account_key)
        owners[label] = credit.owner
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
    present = {(s.owner_label, s.program_id, s.category) for s in states.values()}
    missing = {
        label: [key for key in keys if (label, *key) not in present]
        for label, keys in wanted.items()
    }
    for label, keys in missing.items():
        if keys:
            accounts_open(owner=owners[label], keys=keys, actor=actor)
    if any(missing.values()):
        states = owner_accounts_lock(**ids, condition=condition)
    return _LockedAccounts(
        ids={(s.owner_label, s.program_id, s.category): s.pk for s in states.values()},
        states=states,
    )
