"""The pipeline seams of the bill flows: where other domains plug in, inside the bill's
database transaction (see members.services.pipeline for the step signature)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from members.models import Till, Transaction
from members.services.pipeline import SideEffect, run_pipeline


def after_add_pipeline(
    *, txn: Transaction, actor: Till, context: Mapping[str, Any]
) -> list[SideEffect]:
    """The seam after a bill is stored, inside its database transaction.

    settings.TRANSACTION_ADD_PIPELINE plugs in here: the earning engine (points for the bill
    and its lines, raw AWARD items) and coupon redemption (the bill's coupon and points
    redemptions). Their side effects are the response's `sideEffects`; a DomainError they raise
    rolls the whole bill back.
    """
    return list(
        run_pipeline("TRANSACTION_ADD_PIPELINE", transaction=txn, actor=actor, context=context)
    )


def after_return_pipeline(
    *, txn: Transaction, actor: Till, context: Mapping[str, Any]
) -> list[SideEffect]:
    """The seam after a return is stored, inside its database transaction.

    settings.TRANSACTION_RETURN_PIPELINE plugs in here: the earning engine takes back the
    points of the returned part and coupon redemption reverses what the bill redeemed
    (`context["original"]` is the returned bill). An error they raise rolls the return back.
    """
    return list(
        run_pipeline("TRANSACTION_RETURN_PIPELINE", transaction=txn, actor=actor, context=context)
    )
