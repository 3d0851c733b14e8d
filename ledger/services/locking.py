"""Row locks for ledger writes, always taken in one global order so writers never deadlock.

Order: owner customers (pk), then owner user groups (pk), then points accounts (pk). The owner
lock serialises every write to one ledger (it also makes "merged?" and "is this account open
yet?" safe to check); the account locks guard the cached balances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection

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


def array_literal(values: Iterable[Any]) -> str:
    """PostgreSQL's text form of an array of numbers or strings (`{1,2}`, `{"a","b"}`), to
    pass as one parameter cast to the array type: psycopg adapts a list element by element,
    at several times the cost of this join for the thousand ids of a batch."""
    items = [
        '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(value, str)
        else str(value)
        for value in values
    ]
    return "{" + ",".join(items) + "}"


@dataclass(frozen=True)
class LockedOwner:
    """What a batch write needs of a locked owner row."""

    label: str  # "customer:12", "group:3"
    pk: int
    org_id: int
    merged_into_id: int | None = None


def lock_owner_rows(
    *, customer_ids: Iterable[int] = (), user_group_ids: Iterable[int] = ()
) -> dict[str, LockedOwner]:
    """lock_owners for batches: the same row locks in the same order, one statement per owner
    table, reading only the columns a batch needs (no model instances). By owner label."""
    locked: dict[str, LockedOwner] = {}
    for model, kind, columns, ids in (
        (Customer, "customer", ("id", "org_id", "merged_into_id"), customer_ids),
        (UserGroup, "group", ("id", "org_id"), user_group_ids),
    ):
        ids = sorted(set(ids))
        if not ids:
            continue
        if connection.vendor == "postgresql":
            table = connection.ops.quote_name(model._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {', '.join(columns)} FROM {table} WHERE id = ANY(%s::bigint[]) "  # noqa: S608
                    "ORDER BY id FOR NO KEY UPDATE",
                    [array_literal(ids)],
                )
                rows = cursor.fetchall()
        else:
            rows = (
                model.objects.select_for_update(no_key=True)
                .filter(pk__in=ids)
                .order_by("pk")
                .values_list(*columns)
            )
        for row in rows:
            owner = LockedOwner(f"{kind}:{row[0]}", *row)
            locked[owner.label] = owner
    return locked
