"""Row locks for ledger writes, always taken in one global order so writers never deadlock.

Order: owner customers (pk), then owner user groups (pk), then points accounts (pk). The owner
lock serialises every write to one ledger (it also makes "merged?" and "is this account open
yet?" safe to check); the account locks guard the cached balances.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.models import PointsAccount
from members.models import Customer, UserGroup


def lock_owners(
    *, customer_ids: Iterable[int] = (), user_group_ids: Iterable[int] = ()
) -> tuple[dict[int, Customer], dict[int, UserGroup]]:
    """Lock the owners' rows (FOR NO KEY UPDATE, pk order) and return them fresh from the DB."""
    customers = {
        customer.pk: customer
        for customer in Customer.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(customer_ids)))
        .order_by("pk")
    }
    groups = {
        group.pk: group
        for group in UserGroup.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(user_group_ids)))
        .order_by("pk")
    }
    return customers, groups


def lock_accounts(account_ids: Iterable[int]) -> dict[int, PointsAccount]:
    """Lock points accounts in pk order and return them by id, with their current balances."""
    return {
        account.pk: account
        for account in PointsAccount.objects.select_for_update(of=("self",))
        .filter(pk__in=sorted(set(account_ids)))
        .select_related("program", "org")
        .order_by("pk")
    }
