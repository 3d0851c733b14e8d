"""Reads that turn the ledger APIs' query parameters into rows: the ledger's owner (a customer or
a user group, inside the caller's orgs) and the till / store filter (tills of the owner's org)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ledger.exceptions import (
    LedgerInvalidTillError,
    LedgerInvalidTillIdsError,
    LedgerStoreWithoutTillsError,
)
from members.exceptions import (
    CustomerNotFoundError,
    InvalidEmailError,
    InvalidExternalIdError,
    InvalidIdentifierError,
    InvalidMobileError,
)
from members.models import Customer, Store, Till, UserGroup, UserGroupMembership
from members.selectors.customers import (
    SOURCE_ALL,
    customer_get_by_identifier,
    customer_profiles_for_source,
)
from members.selectors.groups import user_group_get

MAX_DATABASE_ID = 2**63 - 1
CUSTOMER = "CUSTOMER"
GROUP_TYPES = ("USERGROUP2", "FLEET")
# Identifier types the contract lists that this platform does not keep: nobody matches them.
UNSTORED_CUSTOMER_IDENTIFIERS = frozenset({"cardnumber", "cardexternalid", "wechat", "fbid"})
GROUP_IDENTIFIERS = {
    "groupid": "group_id",
    "id": "group_id",
    "externalid": "external_id",
    "primaryuserid": "primary_user_id",
}


@dataclass(frozen=True)
class OwnerQuery:
    entity_type: str  # CUSTOMER, USERGROUP2 or FLEET
    identifier_name: str
    identifier_value: str
    source: str
    account_id: str = ""


@dataclass(frozen=True)
class TillQuery:
    """At most one of these is set (the API checks that first: 11028)."""

    till_ids: tuple[int, ...] = ()
    till_ids_from_list: bool = False
    store_id: int | None = None
    store_code: str = ""


@dataclass(frozen=True)
class TillFilter:
    till_ids: list[int] = field(default_factory=list)
    store_ids: list[int] = field(default_factory=list)


def _positive_id(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or int(text) == 0:
        raise InvalidIdentifierError(f"Invalid identifierValue {value!r}: expected an id")
    return int(text)


def ledger_owner_get(*, org_ids: Iterable[int], query: OwnerQuery) -> Customer | UserGroup:
    """The customer or user group the query names, in `org_ids` (another org's is not found).

    A merged-away customer's ledger stays readable. Raises InvalidIdentifierError (8013),
    CustomerNotFoundError (8015), CustomerNotInSourceError (8065), GroupNotFoundError (1632).
    """
    org_ids = list(org_ids)
    name = query.identifier_name.strip()
    key = name.lower()
    if query.entity_type in GROUP_TYPES:
        if key not in GROUP_IDENTIFIERS:
            raise InvalidIdentifierError(
                f"Invalid identifierName {name!r}: use groupId, externalId or primaryUserId"
            )
        argument = GROUP_IDENTIFIERS[key]
        value: str | int = query.identifier_value.strip()
        if argument != "external_id":
            value = _positive_id(str(value))
            if value > MAX_DATABASE_ID:
                raise InvalidIdentifierError(f"Invalid identifierValue {value}")
        return user_group_get(org_ids=org_ids, **{argument: value})

    if key in UNSTORED_CUSTOMER_IDENTIFIERS:
        raise CustomerNotFoundError(f"No customer with {name} {query.identifier_value!r}")
    if key in {"id", "userid", "user_id"} and query.identifier_value.strip().isdigit():
        if int(query.identifier_value.strip()) > MAX_DATABASE_ID:
            raise CustomerNotFoundError()
    try:
        customer = customer_get_by_identifier(
            org_ids=org_ids,
            identifier_name=name,
            identifier_value=query.identifier_value.strip(),
            allow_merged=True,
        )
    except (InvalidMobileError, InvalidEmailError, InvalidExternalIdError) as exc:
        raise InvalidIdentifierError(f"Invalid identifierValue: {exc.message}") from exc
    if query.source and query.source != SOURCE_ALL:
        customer_profiles_for_source(
            customer=customer, source=query.source, account_id=query.account_id or None
        )
    return customer


def ledger_till_filter_get(*, org_id: int, query: TillQuery) -> TillFilter:
    """The till ids or store id to filter the owner's ledger on, checked against its org.

    Raises LedgerInvalidTillError (11004: unknown tillId), LedgerInvalidTillIdsError (11027:
    unknown id in tillIds), LedgerStoreWithoutTillsError (11026: unknown store or no tills).
    """
    if query.till_ids:
        wanted = set(query.till_ids)
        found = set(Till.objects.filter(org_id=org_id, pk__in=wanted).values_list("pk", flat=True))
        missing = sorted(wanted - found)
        if missing:
            error = LedgerInvalidTillError
            if query.till_ids_from_list:
                error = LedgerInvalidTillIdsError
            raise error(f"Unknown till id(s) {', '.join(map(str, missing))}")
        return TillFilter(till_ids=sorted(found))
    if query.store_id is None and not query.store_code:
        return TillFilter()
    stores = Store.objects.filter(org_id=org_id)
    if query.store_id is not None:
        stores = stores.filter(pk=query.store_id)
        label = f"id {query.store_id}"
    else:
        stores = stores.filter(code=query.store_code)
        label = f"code {query.store_code!r}"
    store_id = stores.filter(tills__isnull=False).values_list("pk", flat=True).distinct().first()
    if store_id is None:
        raise LedgerStoreWithoutTillsError(f"No tills found for the store with {label}")
    return TillFilter(store_ids=[store_id])


def group_member_roles(*, group: UserGroup, customer_ids: Iterable[int]) -> dict[int, str]:
    """PRIMARY / SECONDARY of each customer in the group (its latest membership)."""
    ids = set(customer_ids)
    if not ids:
        return {}
    roles: dict[int, str] = {}
    memberships = (
        UserGroupMembership.objects.filter(group=group, customer_id__in=ids)
        .order_by("customer_id", "-is_active", "-id")
        .values_list("customer_id", "is_primary")
    )
    for customer_id, is_primary in memberships:
        roles.setdefault(customer_id, "PRIMARY" if is_primary else "SECONDARY")
    return roles
