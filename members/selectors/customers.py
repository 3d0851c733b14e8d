"""Customer reads, always scoped to the orgs the caller may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet

from loyalty_site.core.compiled import CompiledQuery, marker_int, marker_str
from members.exceptions import (
    CustomerMergedError,
    CustomerNotFoundError,
    CustomerNotInSourceError,
    InvalidMobileError,
)
from members.models import (
    Customer,
    CustomerSourceProfile,
    ProgramEnrollment,
    Tier,
    UserGroupMembership,
)
from members.services.identifiers import identifier_field, normalize_identifier, normalize_mobile

SOURCE_ALL = "ALL"


def customer_queryset(*, org_ids: Iterable[int]) -> QuerySet[Customer]:
    return Customer.objects.filter(org_id__in=list(org_ids)).select_related("org")


def _by_identifier_query(field: str) -> CompiledQuery[Customer]:
    value_marker = marker_int() if field == "id" else marker_str()
    return CompiledQuery(
        lambda org_id, value: (
            customer_queryset(org_ids=[org_id]).filter(**{field: value}).order_by("id")[:1]
        ),
        org_id=marker_int(),
        value=value_marker,
    )


# One compiled lookup per identifier column: the hot path of every till API (customer by id,
# mobile, email or external id in one org) skips the ORM's per-call SQL compilation.
_BY_IDENTIFIER = {
    field: _by_identifier_query(field) for field in ("id", "mobile", "email", "external_id")
}


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
    org_ids = list(org_ids)
    if len(org_ids) == 1 and field in _BY_IDENTIFIER:
        customer = _BY_IDENTIFIER[field].first(org_id=org_ids[0], value=value)
    else:
        customer = (
            customer_queryset(org_ids=org_ids).filter(**{field: value}).order_by("id").first()
        )
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


def customer_details_queryset(*, org_ids: Iterable[int]) -> QuerySet[Customer]:
    """Customers with everything the v2 get / v1.1 get representations read, in a fixed number
    of queries: source profiles, active enrolments with program and tier (and the program's
    tiers, for the next tier), labels, the active group membership, and the tills/store."""
    return (
        customer_queryset(org_ids=org_ids)
        .select_related("registered_till", "registered_store", "updated_by_till")
        .prefetch_related(
            Prefetch("source_profiles", queryset=CustomerSourceProfile.objects.order_by("id")),
            Prefetch(
                "enrollments",
                queryset=ProgramEnrollment.objects.filter(is_active=True)
                .select_related("program", "tier")
                .prefetch_related(
                    Prefetch("program__tiers", queryset=Tier.objects.order_by("number"))
                )
                .order_by("program_id"),
            ),
            "labels",
            Prefetch(
                "group_memberships",
                queryset=UserGroupMembership.objects.filter(is_active=True).select_related("group"),
                to_attr="active_group_memberships",
            ),
        )
    )


def customer_details_get(*, org_ids: Iterable[int], customer: Customer) -> Customer:
    """`customer` reloaded with the prefetches of customer_details_queryset."""
    return customer_details_queryset(org_ids=org_ids).get(pk=customer.pk)


def customer_details_list(
    *, org_ids: Iterable[int], customer_ids: Iterable[int]
) -> dict[int, Customer]:
    """Customers by id with the prefetches of customer_details_queryset (one batch)."""
    ids = list(customer_ids)
    return {
        customer.pk: customer
        for customer in customer_details_queryset(org_ids=org_ids).filter(pk__in=ids)
    }


# Read on every call that names a source (the ledger APIs): compiled once, in the relation's
# own order (the model's Meta ordering), as customer.source_profiles.all() would read them.
_PROFILES_OF_CUSTOMER: CompiledQuery[CustomerSourceProfile] = CompiledQuery(
    lambda customer_id: CustomerSourceProfile.objects.filter(customer_id=customer_id),
    customer_id=marker_int(),
)


def customer_profiles_for_source(
    *, customer: Customer, source: str | None = None, account_id: str | None = None
) -> list[CustomerSourceProfile]:
    """The customer's source profiles, narrowed to `source` (and `account_id`) unless ALL.

    A customer written without profiles (imports, factories) has an implied one on its
    registration source. Raises CustomerNotInSourceError (8065) when none matches.
    """
    prefetched = getattr(customer, "_prefetched_objects_cache", {}).get("source_profiles")
    if prefetched is not None:
        profiles = list(prefetched)
    else:
        profiles = _PROFILES_OF_CUSTOMER.fetch(customer_id=customer.pk)
    profiles = profiles or [
        CustomerSourceProfile(customer=customer, source=customer.registration_source, account_id="")
    ]
    if source and source != SOURCE_ALL:
        profiles = [
            profile
            for profile in profiles
            if profile.source == source and (not account_id or profile.account_id == account_id)
        ]
        if not profiles:
            raise CustomerNotInSourceError(
                f"Customer {customer.pk} is not registered on source {source}"
                + (f" account {account_id}" if account_id else "")
            )
    return profiles


MAX_DATABASE_ID = 2**63 - 1


def customer_identifier_q(term: str, *, prefix: str = "") -> Q:
    """Exact match on any customer identifier: mobile (normalised), email, external id or id.

    `prefix` reaches the customer through a relation (e.g. "customer__")."""
    query = Q(**{f"{prefix}external_id": term}) | Q(**{f"{prefix}email": term.lower()})
    try:
        query |= Q(**{f"{prefix}mobile": normalize_mobile(term)})
    except InvalidMobileError:
        pass  # not a mobile number: the other identifiers still match
    if term.isdigit() and int(term) <= MAX_DATABASE_ID:
        query |= Q(**{f"{prefix}id": int(term)})
    return query
