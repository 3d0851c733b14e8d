"""Points transfer between two ledgers (customer or user group): one event per side, linked."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction

from ledger.exceptions import (
    InsufficientPointsError,
    SameSenderReceiverError,
    TransferMergedCustomerError,
)
from ledger.models import EventName, LedgerEvent
from ledger.services.posting import (
    CreditPart,
    EventWriter,
    Owner,
    accounts_open,
    clean_idempotency_key,
    ensure_not_merged,
    ensure_program,
    event_create,
    find_replay,
    keyed_event_create,
    lock_for_write,
    owner_label,
    request_fingerprint,
    to_points,
)
from ledger.services.redeem import ensure_enrolled
from members.exceptions import CustomerNotFoundError
from members.models import Customer, PointsCategory, Program


@dataclass(frozen=True)
class PointsTransferResult:
    sender_event: LedgerEvent
    receiver_event: LedgerEvent

    @property
    def is_replay(self) -> bool:
        return getattr(self.sender_event, "is_replay", False)

    @property
    def transfer_id(self) -> int:
        return self.sender_event.pk


def _result(sender_event: LedgerEvent) -> PointsTransferResult:
    receiver_event = LedgerEvent.objects.get(pk=sender_event.related_event_id)
    return PointsTransferResult(sender_event=sender_event, receiver_event=receiver_event)


@db_transaction.atomic
def points_transfer(
    *,
    sender: Owner,
    receiver: Owner,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    notes: str = "",
    triggered_by: Customer | None = None,
) -> PointsTransferResult:
    """Move `points` of `program` from the sender's REGULAR account to the receiver's: a
    PointsTransfer event on each ledger (sender: DEBIT, receiver: CREDIT), linked to each other.
    The receiver's lots keep the expiry dates of the sender's lots they came from.

    Raises SameSenderReceiverError (418), TransferMergedCustomerError (419), InvalidProgramIdError
    (885), InsufficientPointsError (803), NotEnrolledError (1218), CustomerNotFoundError (8015,
    receiver in another org), InvalidPointsError (801).
    """
    key = clean_idempotency_key(idempotency_key)
    if owner_label(sender) == owner_label(receiver):
        raise SameSenderReceiverError()
    if sender.org_id != receiver.org_id:
        raise CustomerNotFoundError("The receiver is not a member of the sender's org")
    ensure_program(sender, program)
    points = to_points(points, program=program)
    for owner in (sender, receiver):
        ensure_not_merged(owner, error=TransferMergedCustomerError)
    ensure_enrolled(sender, program)
    fingerprint = request_fingerprint(
        "points_transfer",
        sender=owner_label(sender),
        receiver=owner_label(receiver),
        program=program.pk,
        points=points,
        notes=notes,
    )
    replay = find_replay(org_id=sender.org_id, key=key, fingerprint=fingerprint)
    if replay is not None:
        return _result(replay)

    fresh = lock_for_write([sender, receiver])
    for owner in fresh.values():
        ensure_not_merged(owner, error=TransferMergedCustomerError)
    replay = find_replay(org_id=sender.org_id, key=key, fingerprint=fingerprint)
    if replay is not None:
        return _result(replay)
    account_key = (program.pk, PointsCategory.REGULAR)
    sender_accounts, _ = accounts_open(owner=sender, keys=[account_key], actor=actor)
    receiver_accounts, _ = accounts_open(owner=receiver, keys=[account_key], actor=actor)

    common = {
        "event_name": EventName.POINTS_TRANSFER,
        "actor": actor,
        "notes": notes,
        "triggered_by": triggered_by,
        "source_program": program,
    }
    sender_event = keyed_event_create(
        idempotency_key=key,
        fingerprint=fingerprint,
        owner=sender,
        details={"transferredTo": owner_label(receiver)},
        **common,
    )
    if getattr(sender_event, "is_replay", False):
        return _result(sender_event)
    receiver_event = event_create(
        owner=receiver,
        related_event=sender_event,
        details={"transferredFrom": owner_label(sender)},
        **common,
    )
    LedgerEvent.objects.filter(pk=sender_event.pk).update(related_event=receiver_event)
    sender_event.related_event = receiver_event

    sender_writer = EventWriter(sender_event)
    _, plan = sender_writer.debit(
        sender_accounts[account_key], points, live_only=True, error=InsufficientPointsError
    )
    receiver_writer = EventWriter(receiver_event, now=sender_writer.now)
    receiver_writer.credit(
        receiver_accounts[account_key],
        [CreditPart(points=taken, expires_at=lot.expires_at) for lot, taken in plan],
    )
    return PointsTransferResult(
        sender_event=sender_writer.finish(), receiver_event=receiver_writer.finish()
    )
