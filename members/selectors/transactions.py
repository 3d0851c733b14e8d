"""Transaction reads, always scoped to the orgs the caller may see."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum

from members.exceptions import GroupNotFoundError, TransactionNotFoundError
from members.models import (
    Customer,
    Org,
    ReturnType,
    Store,
    Transaction,
    TransactionLineItem,
    TransactionType,
    UserGroup,
)
from members.selectors.groups import user_group_get


@dataclass(frozen=True)
class UserGroupReference:
    """How a bill names its user group (userGroup2Id / ExternalId / PrimaryUserId, any one)."""

    group_id: int | None = None
    external_id: str | None = None
    primary_user_id: int | None = None

    @property
    def is_empty(self) -> bool:
        return self.group_id is None and not self.external_id and self.primary_user_id is None


def transaction_queryset(*, org_ids: Iterable[int]) -> QuerySet[Transaction]:
    return Transaction.objects.filter(org_id__in=list(org_ids)).select_related(
        "org", "customer", "store", "till", "user_group", "original"
    )


def transaction_details_queryset(*, org_ids: Iterable[int]) -> QuerySet[Transaction]:
    """Transactions with their line items (serial order) prefetched."""
    return transaction_queryset(org_ids=org_ids).prefetch_related(
        Prefetch("line_items", queryset=TransactionLineItem.objects.order_by("serial", "id"))
    )


def transaction_get(
    *, org_ids: Iterable[int], transaction_id: int, type: str | None = None
) -> Transaction:
    """One transaction of the given orgs with its line items; raises TransactionNotFoundError
    (625, HTTP 404) for an unknown id, another org's id or a type that does not match."""
    rows = transaction_details_queryset(org_ids=org_ids).filter(pk=transaction_id)
    if type:
        rows = rows.filter(type=type.strip().upper())
    found = rows.first()
    if found is None:
        raise TransactionNotFoundError(f"Transaction {transaction_id} not found")
    return found


def transactions_by_number(
    *, org_ids: Iterable[int], number: str, type: str | None = None
) -> list[Transaction]:
    """Every transaction with that bill number in the given orgs (bills and their returns)."""
    rows = transaction_details_queryset(org_ids=org_ids).filter(number=number)
    if type:
        rows = rows.filter(type=type.strip().upper())
    return list(rows.order_by("billed_at", "id"))


def transaction_original_for_return(
    *,
    org: Org,
    number: str,
    customer: Customer | None,
    original_type: str,
    original_id: int | None = None,
    preferred_store: Store | None = None,
) -> Transaction:
    """The bill a return gives back: the `original_type` bill with `number` of the customer.

    When the number exists in several stores the caller names the bill with `original_id`;
    otherwise the bill of `preferred_store` wins. Raises TransactionNotFoundError (625).
    """
    candidates = Transaction.objects.filter(org=org, number=number, type=original_type)
    if original_type == TransactionType.REGULAR:
        candidates = candidates.filter(customer=customer)
    if original_id is not None:
        candidates = candidates.filter(pk=original_id)
    found = list(candidates.order_by("id")[:50])
    if not found:
        whose = f" of customer {customer.pk}" if customer is not None else ""
        named = f" with id {original_id}" if original_id is not None else ""
        raise TransactionNotFoundError(f"No {original_type} bill {number}{named}{whose} found")
    if len(found) == 1:
        return found[0]
    in_store = [row for row in found if preferred_store and row.store_id == preferred_store.pk]
    if len(in_store) == 1:
        return in_store[0]
    raise TransactionNotFoundError(
        f"Bill {number} exists in several stores: send the original transaction id to pick one"
    )


@dataclass(frozen=True)
class ReturnHistory:
    """What earlier returns already gave back of one bill."""

    return_types: frozenset[str]
    returned_amount: Decimal
    returned_qty_by_line: dict[int, Decimal]

    @property
    def is_fully_returned(self) -> bool:
        return bool(self.return_types & {ReturnType.FULL, ReturnType.CANCELLED})

    @property
    def has_returns(self) -> bool:
        return bool(self.return_types)


def transaction_return_history(*, original: Transaction) -> ReturnHistory:
    """Sum the returns of `original`; call it with the original row locked so it stays true."""
    returns = Transaction.objects.filter(original=original)
    return_types = frozenset(returns.values_list("return_type", flat=True))
    returned_amount = returns.aggregate(total=Sum("bill_amount"))["total"] or Decimal(0)
    per_line = (
        TransactionLineItem.objects.filter(
            transaction__original=original, original_line__isnull=False
        )
        .values("original_line_id")
        .annotate(total=Sum("qty"))
    )
    return ReturnHistory(
        return_types=return_types,
        returned_amount=returned_amount,
        returned_qty_by_line={row["original_line_id"]: row["total"] for row in per_line},
    )


def user_group_for_transaction(*, org: Org, reference: UserGroupReference) -> UserGroup | None:
    """The group a bill is tied to, looked up in `org` only; None when the bill names none.

    Every identifier given must name the same, not deleted group; raises GroupNotFoundError
    (1632) otherwise.
    """
    if reference.is_empty:
        return None
    found: dict[int, UserGroup] = {}
    for group_id, external_id, primary_user_id in (
        (reference.group_id, None, None),
        (None, reference.external_id or None, None),
        (None, None, reference.primary_user_id),
    ):
        if group_id is None and external_id is None and primary_user_id is None:
            continue
        group = user_group_get(
            org_ids=[org.pk],
            group_id=group_id,
            external_id=external_id,
            primary_user_id=primary_user_id,
        )
        found[group.pk] = group
    if len(found) > 1:
        raise GroupNotFoundError(
            "userGroup2Id, userGroup2ExternalId and userGroup2PrimaryUserId name different groups"
        )
    (group,) = found.values()
    if group.status == UserGroup.Status.DELETED:
        raise GroupNotFoundError(f"Group {group.pk} is deleted")
    return group


def customer_transaction_count(*, customer_id: int, exclude_id: int | None = None) -> int:
    """How many sale bills (REGULAR) a customer has, leaving out `exclude_id` (the bill being
    booked, when a rule asks about the customer's history before it)."""
    bills = Transaction.objects.filter(customer_id=customer_id, type=TransactionType.REGULAR)
    if exclude_id is not None:
        bills = bills.exclude(pk=exclude_id)
    return bills.count()
