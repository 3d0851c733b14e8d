"""Customer reads, always scoped to the orgs the caller may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from members.exceptions import CustomerMergedError, CustomerNotFoundError
from members.models import Customer
from members.services.identifiers import identifier_field, normalize_identifier


def customer_queryset(*, org_ids: Iterable[int]) -> QuerySet[Customer]:
    return Customer.objects.filter(org_id__in=list(org_ids)).select_related("org")


def customer_get_by_identifier(
    *,
    org_ids: Iterable[int],
    identifier_name: str,
    identifier_value: str | int,
    allow_merged: bool = False,
) -> Customer:
    """The customer with that identifier in the given orgs.

    Raises InvalidIdentifierError (8013), CustomerNotFoundError (8015) or, for a merged-away
    customer, CustomerMergedError (8069).
    """
    field = identifier_field(identifier_name)
    if identifier_value in (None, ""):
        raise CustomerNotFoundError("identifierValue is empty")
    value = normalize_identifier(field, str(identifier_value))
    customer = customer_queryset(org_ids=org_ids).filter(**{field: value}).order_by("id").first()
    if customer is None:
        raise CustomerNotFoundError()
    if customer.merged_into_id and not allow_merged:
        raise CustomerMergedError(
            f"Customer has been merged into customer {customer.merged_into_id}"
        )
    return customer


def customer_get(*, org_ids: Iterable[int], customer_id: int) -> Customer:
    return customer_get_by_identifier(
        org_ids=org_ids, identifier_name="id", identifier_value=customer_id
    )
