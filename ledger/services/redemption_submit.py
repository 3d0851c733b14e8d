"""Redemptions as the points APIs submit them (validation code, metadata) and later metadata
updates. The ledger writes themselves are points_redeem / points_group_redeem."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction
from django.utils import timezone

from ledger.exceptions import RedemptionNothingToUpdateError
from ledger.models import LedgerEvent, PointsRedemption
from ledger.services.posting import clean_idempotency_key, lock_for_write, to_points
from ledger.services.redeem import points_group_redeem, points_redeem
from ledger.services.validation_codes import (
    ValidationCodePurpose,
    points_validation_code_consume,
    points_validation_code_verify,
)
from members.models import Customer, Program

REDEMPTION = ValidationCodePurpose.REDEMPTION


@db_transaction.atomic
def points_redemption_submit(
    *,
    customer: Customer,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    validation_code: str = "",
    skip_validation: bool = False,
    group_redemption: bool = False,
    transaction_number: str = "",
    external_reference: str = "",
    purpose: str = "",
    notes: str = "",
    redeemed_at: datetime.datetime | None = None,
    custom_fields: dict[str, Any] | None = None,
    bill_id: int | None = None,
    source: str = "",
) -> PointsRedemption:
    """Redeem `points` of `program` (or, with `group_redemption`, across every active program of
    the org, earliest expiry first) once `validation_code` checks out, unless `skip_validation`.
    The code is used up when the redemption commits. A replay of `idempotency_key` returns the
    first redemption without checking the code again; the result carries `is_replay`.

    Raises InvalidValidationCodeError (808) and the errors of points_redeem /
    points_group_redeem (801, 803, 885, 1218, 8069, 409 conflict).
    """
    key = clean_idempotency_key(idempotency_key)
    amount = to_points(points, program=program)
    # The customer's row lock serialises its ledger writes, so "was this key used?" is exact here.
    lock_for_write([customer])
    is_replay = LedgerEvent.objects.filter(org_id=customer.org_id, idempotency_key=key).exists()
    check_code = not skip_validation and not is_replay
    if check_code:
        points_validation_code_verify(
            customer=customer, points=amount, purpose=REDEMPTION, code=validation_code
        )
    common: dict[str, Any] = {
        "customer": customer,
        "points": amount,
        "actor": actor,
        "idempotency_key": key,
        "transaction_number": transaction_number,
        "external_reference": external_reference,
        "purpose": purpose,
        "notes": notes,
        "redeemed_at": redeemed_at,
        "source": source,
    }
    if group_redemption:
        redemption = points_group_redeem(**common, source_program=program)
    else:
        redemption = points_redeem(**common, program=program)
    if not is_replay:
        update_fields = []
        if check_code:
            redemption.validation_code = validation_code.strip().upper()[:16]
            update_fields.append("validation_code")
        if custom_fields:
            redemption.custom_fields = dict(custom_fields)
            update_fields.append("custom_fields")
        if bill_id is not None:
            redemption.bill_id = bill_id
            update_fields.append("bill_id")
        if update_fields:
            redemption.save(update_fields=[*update_fields, "updated_at"])
        if check_code:
            points_validation_code_consume(customer=customer, points=amount, purpose=REDEMPTION)
    redemption.is_replay = is_replay
    return redemption


@db_transaction.atomic
def points_redemption_details_update(
    *,
    redemption: PointsRedemption,
    actor: Any,
    bill_number: str | None = None,
    bill_id: int | None = None,
    purpose: str | None = None,
    custom_fields: dict[str, Any] | None = None,
) -> PointsRedemption:
    """Set the bill number / bill id / purpose of a redemption and merge `custom_fields` into
    its custom fields (the points never change). Running it twice changes nothing more.

    Raises RedemptionNothingToUpdateError (748) when nothing is given.
    """
    if bill_number is None and bill_id is None and purpose is None and not custom_fields:
        raise RedemptionNothingToUpdateError()
    locked = PointsRedemption.objects.select_for_update().get(pk=redemption.pk)
    if bill_number is not None:
        locked.transaction_number = bill_number[:50]
    if bill_id is not None:
        locked.bill_id = bill_id
    if purpose is not None:
        locked.purpose = purpose[:255]
    if custom_fields:
        locked.custom_fields = {**locked.custom_fields, **custom_fields}
    locked.updated_at = timezone.now()
    locked.save(
        update_fields=["transaction_number", "bill_id", "purpose", "custom_fields", "updated_at"]
    )
    return PointsRedemption.objects.select_related(
        "event__till", "event__source_program", "customer", "user_group"
    ).get(pk=locked.pk)
