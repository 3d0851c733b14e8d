"""Points expiry: the job debits, per owner, the lots whose expiry passed before the "as of" day.

Lots expire at the end of a day in the org's time zone; a run for day D (typically the morning
of D) takes every lot that expired before D starts. The entries carry the time the job ran.
The job expires a batch of owners at a time, set-wise (points_expire_many); points_expire is
the same write for one owner.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import transaction as db_transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ledger.exceptions import InvalidLedgerRequestError
from ledger.models import EventName, LedgerEvent, PointsAccount, PointsLot
from ledger.services.bulk import (
    EventRows,
    LedgerBatchResult,
    LotSlice,
    event_for_owner,
    event_rows_write,
    owner_accounts_lock,
)
from ledger.services.locking import lock_owner_rows
from ledger.services.posting import (
    actor_event_fields,
    owner_label,
    owner_label_batches,
    resolve_owner,
    start_of_day,
)
from loyalty_site.core.exceptions import DomainError
from members.models import Customer, Org, UserGroup


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
    account). Returns None when nothing expired; safe to run twice (a lot expires once).
    Raises InsufficientCurrentPointsError (804) when an account holds less than its lots."""
    owner = resolve_owner(customer=customer, user_group=user_group)
    result = points_expire_many(
        org=owner.org,
        customer_ids=[owner.pk] if isinstance(owner, Customer) else [],
        user_group_ids=[owner.pk] if isinstance(owner, UserGroup) else [],
        as_of=as_of,
        actor=actor,
    )
    error = result.errors.get(owner_label(owner))
    if error is not None:
        raise error
    return result.events[0] if result.events else None


@db_transaction.atomic
def points_expire_many(
    *,
    org: Org,
    customer_ids: Iterable[int] = (),
    user_group_ids: Iterable[int] = (),
    as_of: datetime.date,
    actor: Any = None,
) -> LedgerBatchResult:
    """points_expire for a batch of the org's owners at once (the expiry job): one PointsExpiry
    event per owner with lapsed lots, with a DEBIT per account of all that is left of its
    lapsed lots (nearest expiry first), written with a few set-wise statements for the whole
    batch. An owner that is not the org's, or whose account holds less than its lots (804), is
    left untouched and reported in `errors`; the others are written.

    Raises ConcurrentLedgerUpdateError (nothing is written).
    """
    cutoff = expiry_cutoff(org=org, as_of=as_of)
    errors: dict[str, DomainError] = {}
    customer_ids, user_group_ids = list(customer_ids), list(user_group_ids)
    owners = lock_owner_rows(customer_ids=customer_ids, user_group_ids=user_group_ids)
    wanted = [f"customer:{pk}" for pk in sorted(set(customer_ids))] + [
        f"group:{pk}" for pk in sorted(set(user_group_ids))
    ]
    for label in wanted:
        owner = owners.get(label)
        if owner is None or owner.org_id != org.pk:
            errors[label] = InvalidLedgerRequestError(f"{label} is not an owner of org {org.pk}")
    valid = [label for label in wanted if label not in errors]
    if not valid:
        return LedgerBatchResult(events=[], errors=errors)

    lapsed = PointsLot.objects.filter(remaining_points__gt=0, expires_at__lt=cutoff)
    accounts = owner_accounts_lock(
        customer_ids=[owners[label].pk for label in valid if label.startswith("customer:")],
        user_group_ids=[owners[label].pk for label in valid if label.startswith("group:")],
        condition=Exists(lapsed.filter(account=OuterRef("pk"))),
    )
    # The plan of EventWriter.plan for "all points of the lapsed lots": nearest expiry, then id.
    lots: dict[int, list[LotSlice]] = defaultdict(list)
    for lot_id, account_id, remaining in (
        lapsed.filter(account_id__in=list(accounts))
        .order_by("account_id", "expires_at", "id")
        .values_list("pk", "account_id", "remaining_points")
    ):
        lots[account_id].append(LotSlice(lot_id=lot_id, points=remaining))
    by_owner: dict[str, list[int]] = defaultdict(list)
    # Entries in the order points_expire always wrote them: by program, then category name.
    for account in sorted(accounts.values(), key=lambda a: (a.program_id, a.category)):
        by_owner[account.owner_label].append(account.pk)

    now = timezone.now()
    actor_fields = actor_event_fields(actor)
    batch: list[EventRows] = []
    for label in valid:
        rows = EventRows(
            event=event_for_owner(
                owner_label=label,
                org_id=org.pk,
                event_name=EventName.POINTS_EXPIRY,
                actor_fields=actor_fields,
                # eventDate: the last instant of the day before `as_of`, when the points lapsed.
                occurred_at=cutoff - datetime.timedelta(microseconds=1),
                details={"asOf": as_of.isoformat()},
            ),
            base=accounts,
            now=now,
        )
        try:
            for account_id in by_owner.get(label, []):
                rows.debit_whole_lots(account_id, lots[account_id])
        except DomainError as exc:
            errors[label] = exc
            continue
        if rows.entries:
            batch.append(rows)
    return LedgerBatchResult(events=event_rows_write(batch), errors=errors)


def points_expiry_owner_batches(
    *, org: Org, as_of: datetime.date, after: str = "", size: int = 200
) -> Iterator[tuple[list[str], str]]:
    """Keyset batches of owner labels ("customer:12", "group:3") with lots to expire."""
    lots = PointsLot.objects.filter(
        remaining_points__gt=0, expires_at__lt=expiry_cutoff(org=org, as_of=as_of)
    )
    return owner_label_batches(
        accounts=PointsAccount.objects.filter(org=org), lots=lots, after=after, size=size
    )
