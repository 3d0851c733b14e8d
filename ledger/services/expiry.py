"""Points expiry: the job debits, per owner, the lots whose expiry passed before the "as of" day.

Lots expire at the end of a day in the org's time zone; a run for day D (typically the morning
of D) takes every lot that expired before D starts. The entries carry the time the job ran.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction
from django.db.models import Q

from ledger.models import EventName, LedgerEvent, PointsAccount, PointsLot
from ledger.services.posting import (
    ZERO,
    AccountKey,
    EventWriter,
    owner_filter,
    owner_label_batches,
    post_event,
    resolve_owner,
    start_of_day,
)
from members.models import Customer, Org, UserGroup

ALL_POINTS = Decimal("1e15")


def expiry_cutoff(*, org: Org, as_of: datetime.date) -> datetime.datetime:
    """Lots expiring before this instant (the start of `as_of` in the org's time zone) expire."""
    return start_of_day(as_of, org.tzinfo)


@db_transaction.atomic
def points_expire(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    as_of: datetime.date,
    actor: Any = None,
) -> LedgerEvent | None:
    """Debit the owner's lots that expired before `as_of` as one PointsExpiry event (a DEBIT per
    account). Returns None when nothing expired; safe to run twice (a lot expires once)."""
    owner = resolve_owner(customer=customer, user_group=user_group)
    cutoff = expiry_cutoff(org=owner.org, as_of=as_of)
    expired = Q(expires_at__lt=cutoff)
    keys: list[AccountKey] = sorted(
        set(
            PointsLot.objects.filter(
                expired,
                remaining_points__gt=0,
                **{f"account__{name}": value for name, value in owner_filter(owner).items()},
            ).values_list("account__program_id", "account__category")
        )
    )
    if not keys:
        return None

    def write(writer: EventWriter, accounts: dict[AccountKey, PointsAccount]) -> None:
        for key in keys:
            account = accounts[key]
            plan = writer.plan(account, ALL_POINTS, lot_filter=expired)
            amount = sum((taken for _, taken in plan), ZERO)
            if amount > 0:
                writer.debit(account, amount, plan=plan)

    return post_event(
        owner=owner,
        keys=keys,
        idempotency_key=None,
        fingerprint="",
        write=write,
        actor=actor,
        merged_error=None,
        skip_if_empty=True,
        event_fields={
            "event_name": EventName.POINTS_EXPIRY,
            # eventDate: the last instant of the day before `as_of`, when the points lapsed.
            "occurred_at": cutoff - datetime.timedelta(microseconds=1),
            "details": {"asOf": as_of.isoformat()},
        },
    )


def points_expiry_owner_batches(
    *, org: Org, as_of: datetime.date, after: str = "", size: int = 200
) -> Iterator[tuple[list[str], str]]:
    """Keyset batches of owner labels ("customer:12", "group:3") with lots to expire."""
    lots = PointsLot.objects.filter(
        account__org=org,
        remaining_points__gt=0,
        expires_at__lt=expiry_cutoff(org=org, as_of=as_of),
    )
    return owner_label_batches(lots, after=after, size=size)
