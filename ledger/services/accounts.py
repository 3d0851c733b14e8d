"""Opening points accounts: at registration, on demand and by the back-fill of old customers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction

from ledger.exceptions import InvalidLedgerRequestError
from ledger.models import EventName, LedgerEvent, PointsAccount
from ledger.services.posting import (
    AccountKey,
    OpeningBalance,
    Owner,
    accounts_open,
    ensure_category,
    ensure_program,
    explicit_expiry,
    lock_for_write,
    owner_label,
    resolve_owner,
    to_points,
)
from members.models import Customer, PointsCategory, Program, UserGroup


def _all_keys(programs: Iterable[Program]) -> list[AccountKey]:
    return [(program.pk, category) for program in programs for category in PointsCategory.values]


def _active_programs(owner: Owner) -> list[Program]:
    return list(
        Program.objects.filter(org_id=owner.org_id, is_active=True)
        .select_related("org")
        .order_by("pk")
    )


@db_transaction.atomic
def ledger_open_accounts_on_registration(
    *, customer: Customer, actor: Any, context: Mapping[str, Any]
) -> list:
    """CUSTOMER_REGISTRATION_PIPELINE step: open the new customer's accounts (every active
    program of the org x every points category) with zero opening balances, in one
    CustomerRegistration event. Returns no side effects."""
    fresh = lock_for_write([customer])[owner_label(customer)]
    if fresh.merged_into_id:
        return []
    accounts_open(
        owner=customer,
        keys=_all_keys(_active_programs(customer)),
        actor=actor,
        event_name=EventName.CUSTOMER_REGISTRATION,
        occurred_at=(context or {}).get("registered_at") or customer.registered_at,
        source=(context or {}).get("source", "") or customer.registration_source,
    )
    return []


@db_transaction.atomic
def points_accounts_open(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    programs: Iterable[Program] | None = None,
    actor: Any = None,
) -> list[PointsAccount]:
    """The owner's accounts for `programs` (default: every active program) x every category,
    opening the missing ones with zero opening balances (one CustomerUpdate event)."""
    owner = resolve_owner(customer=customer, user_group=user_group)
    programs = list(programs) if programs is not None else _active_programs(owner)
    for program in programs:
        ensure_program(owner, program)
    lock_for_write([owner])
    accounts, _ = accounts_open(owner=owner, keys=_all_keys(programs), actor=actor)
    return list(accounts.values())


BalanceValue = OpeningBalance | Decimal | int | str


@db_transaction.atomic
def ledger_backfill_owner(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    balances: Mapping[AccountKey, BalanceValue] | None = None,
    actor: Any = None,
) -> LedgerEvent | None:
    """Start the ledger of an owner from before the ledger existed: one PointsLedgerBulkJob event
    with an opening balance for every missing account (active programs x categories), worth the
    balance given in `balances[(program_id, category)]` or zero (a negative balance is taken as it
    is and flags the account, like the merge rule). Accounts that exist are left
    alone, so running it twice changes nothing. Returns None when nothing was missing or the
    customer is merged away.

    Raises InvalidProgramIdError (885), InvalidPointsError (801), InvalidLedgerRequestError.
    """
    owner = resolve_owner(customer=customer, user_group=user_group)
    programs = {program.pk: program for program in _active_programs(owner)}
    opening: dict[AccountKey, OpeningBalance] = {}
    for (program_id, category), value in (balances or {}).items():
        program = programs.get(program_id)
        if program is None:
            ensure_program(owner, Program.objects.filter(pk=program_id).first())
        ensure_category(category)
        if not isinstance(value, OpeningBalance):
            value = OpeningBalance(points=value)
        points = to_points(value.points, program=program, allow_zero=True, allow_negative=True)
        expires_at = explicit_expiry(value.expires_at, program=program)
        matures_at = value.matures_at
        if category == PointsCategory.PROMISED and points > 0 and matures_at is None:
            raise InvalidLedgerRequestError("Back-filled promised points need a maturity time")
        if category != PointsCategory.PROMISED and matures_at is not None:
            raise InvalidLedgerRequestError("Only promised points have a maturity time")
        opening[(program_id, category)] = OpeningBalance(
            points=points, expires_at=expires_at, matures_at=matures_at
        )
    fresh = lock_for_write([owner])[owner_label(owner)]
    if isinstance(fresh, Customer) and fresh.merged_into_id:
        return None
    _, event = accounts_open(
        owner=owner,
        keys=_all_keys(programs.values()),
        actor=actor,
        event_name=EventName.POINTS_LEDGER_BULK_JOB,
        opening_balances=opening,
    )
    return event
