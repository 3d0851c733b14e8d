"""Finding the customer a promotion API names (identifierName / identifierValue / source), with
the customer promotion list's codes (seed 004): 8013 identifier name missing or incorrect, 8015
identifier value missing or incorrect (or no such customer), 8003 source missing or incorrect."""

from __future__ import annotations

from collections.abc import Iterable

from members.exceptions import (
    CustomerNotFoundError,
    CustomerNotInSourceError,
    InvalidEmailError,
    InvalidExternalIdError,
    InvalidIdentifierError,
    InvalidMobileError,
    InvalidSourceError,
)
from members.models import Customer, RegistrationSource
from members.selectors.customers import (
    SOURCE_ALL,
    customer_get_by_identifier,
    customer_profiles_for_source,
)

MAX_DATABASE_ID = 2**63 - 1
# Identifier types the contract lists that this platform does not keep: nobody matches them.
UNSTORED_IDENTIFIERS = frozenset({"cuid", "cardnumber", "cardexternalid", "wechat", "fbid"})


def source_clean(value: str | None, *, required: bool = True, default: str = "") -> str:
    """A registration source or ALL. Raises InvalidSourceError (8003)."""
    text = (value or "").strip().upper()
    if not text:
        if required:
            raise InvalidSourceError("source is required", field="source")
        return default
    if text != SOURCE_ALL and text not in RegistrationSource.values:
        raise InvalidSourceError(f"Invalid source {value!r}", field="source")
    return text


def customer_lookup(
    *,
    org_ids: Iterable[int],
    identifier_name: str | None,
    identifier_value: str | None,
    source: str | None = None,
    source_required: bool = False,
) -> Customer:
    """The customer in `org_ids` the identifier names, registered on `source` unless ALL or
    empty. Checks in the seed's order: 8013 name, 8015 value, 8003 source, then 8015 lookup."""
    name = (identifier_name or "").strip()
    if not name:
        raise InvalidIdentifierError("identifierName is required", field="identifierName")
    value = (identifier_value or "").strip()
    if not value:
        raise CustomerNotFoundError("identifierValue is required", field="identifierValue")
    source = source_clean(source, required=source_required)
    if name.lower() in UNSTORED_IDENTIFIERS:
        raise CustomerNotFoundError(f"No customer with {name} {value!r}")
    if name.lower() in {"id", "userid", "user_id"}:
        if not value.isdigit() or int(value) > MAX_DATABASE_ID:
            raise CustomerNotFoundError(f"Invalid customer id {value!r}")
    try:
        customer = customer_get_by_identifier(
            org_ids=list(org_ids), identifier_name=name, identifier_value=value
        )
    except (InvalidMobileError, InvalidEmailError, InvalidExternalIdError) as exc:
        raise CustomerNotFoundError(f"Invalid identifierValue: {exc.message}") from exc
    if source and source != SOURCE_ALL:
        try:
            customer_profiles_for_source(customer=customer, source=source)
        except CustomerNotInSourceError as exc:
            raise CustomerNotFoundError(
                "Customer not found for the given identifiers on source " + source
            ) from exc
    return customer
