"""Points transfers as the v2 APIs submit them: the sender's validation code, then the transfer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction

from ledger.exceptions import SameSenderReceiverError, TransferMergedCustomerError
from ledger.models import LedgerEvent
from ledger.services.posting import (
    Owner,
    clean_idempotency_key,
    ensure_not_merged,
    lock_for_write,
    owner_label,
    to_points,
)
from ledger.services.transfer import PointsTransferResult, points_transfer
from ledger.services.validation_codes import (
    ValidationCodePurpose,
    points_validation_code_consume,
    points_validation_code_pending,
    points_validation_code_verify,
)
from members.models import Customer, Program

TRANSFER = ValidationCodePurpose.TRANSFER


@db_transaction.atomic
def points_transfer_submit(
    *,
    sender: Owner,
    receiver: Owner,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    validation_code: str = "",
    notes: str = "",
    triggered_by: Customer | None = None,
) -> PointsTransferResult:
    """Transfer `points` from sender to receiver (points_transfer). A customer sender's validation
    code is checked when one was issued for this amount (isTransferrable with issueOtp): then
    `validation_code` must match it, and it is used up by the transfer; a code sent when none was
    issued is refused too. Without a pending code the transfer needs none (the org did not ask
    for one). A replay of `idempotency_key` returns the first transfer.

    Raises InvalidValidationCodeError (808), SameSenderReceiverError (418),
    TransferMergedCustomerError (419) and the errors of points_transfer.
    """
    key = clean_idempotency_key(idempotency_key)
    amount = to_points(points, program=program)
    if owner_label(sender) == owner_label(receiver):
        raise SameSenderReceiverError()
    fresh = lock_for_write([sender, receiver])
    for owner in fresh.values():
        ensure_not_merged(owner, error=TransferMergedCustomerError)
    is_replay = LedgerEvent.objects.filter(org_id=sender.org_id, idempotency_key=key).exists()
    uses_code = False
    if not is_replay and isinstance(sender, Customer):
        given = (validation_code or "").strip()
        if given or points_validation_code_pending(
            customer=sender, points=amount, purpose=TRANSFER
        ):
            points_validation_code_verify(
                customer=sender, points=amount, purpose=TRANSFER, code=given
            )
            uses_code = True
    result = points_transfer(
        sender=sender,
        receiver=receiver,
        program=program,
        points=amount,
        actor=actor,
        idempotency_key=key,
        notes=notes,
        triggered_by=triggered_by,
    )
    if uses_code:
        points_validation_code_consume(customer=sender, points=amount, purpose=TRANSFER)
    return result
