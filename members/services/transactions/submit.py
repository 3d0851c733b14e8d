"""The API entry point: a bill in domain terms (both API families map their bodies to it), its
customer found or (v1.1) registered, then added or returned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from members.exceptions import (
    CustomerAlreadyExistsError,
    CustomerNotFoundError,
    IdentifierTakenError,
    TransactionCustomerMissingError,
    TransactionInvalidTypeError,
)
from members.models import Customer, Org, RegistrationSource, Till, TransactionType
from members.selectors.customers import customer_get_by_identifier
from members.services.customers import customer_register, registration_source_clean
from members.services.pipeline import SideEffect
from members.services.transactions.add import transaction_add
from members.services.transactions.cleaning import ADD_TYPES, RETURN_TYPES
from members.services.transactions.returns import transaction_return
from members.services.transactions.values import BillInput, CustomerIdentity, TransactionResult

CUSTOMER_LOOKUP_ORDER = ("id", "mobile", "email", "external_id")


def _customer_find(*, org: Org, given: Mapping[str, str]) -> Customer | None:
    for name, value in given.items():
        try:
            return customer_get_by_identifier(
                org_ids=[org.pk], identifier_name=name, identifier_value=value
            )
        except CustomerNotFoundError:
            continue
    return None


def _customer_resolve(
    *,
    org: Org,
    actor: Till,
    identity: CustomerIdentity | None,
    source: str,
    register_unknown: bool,
) -> tuple[Customer, list[dict[str, Any]], list[SideEffect], bool]:
    """The org's customer with one of the identifiers (in CUSTOMER_LOOKUP_ORDER), registered
    through customers.customer_register when unknown and `register_unknown` (v1.1)."""
    if identity is None or identity.is_empty:
        raise TransactionCustomerMissingError("Customer identifier is missing")
    given = {
        name: str(identity.identifiers[name]).strip()
        for name in CUSTOMER_LOOKUP_ORDER
        if str(identity.identifiers.get(name) or "").strip()
    }
    if (customer := _customer_find(org=org, given=given)) is not None:
        return customer, [], [], False
    registrable = {name: value for name, value in given.items() if name != "id"}
    if not register_unknown or not registrable:
        described = ", ".join(f"{name} {value}" for name, value in given.items())
        raise CustomerNotFoundError(f"No customer with {described} in this org")
    try:
        registration = customer_register(
            org=org,
            actor=actor,
            source=source,
            first_name=identity.first_name,
            last_name=identity.last_name,
            account_id=identity.account_id,
            **registrable,
        )
    except (CustomerAlreadyExistsError, IdentifierTakenError):
        # Another bill of the same new customer registered them a moment ago (its insert won
        # the unique index); the registration rolled back to its savepoint, so use theirs.
        if (customer := _customer_find(org=org, given=given)) is None:
            raise
        return customer, [], [], False
    return (
        registration.customer,
        list(registration.warnings),
        list(registration.side_effects),
        registration.created,
    )


@transaction.atomic
def transaction_submit(
    *,
    org: Org,
    actor: Till,
    bill: BillInput,
    identity: CustomerIdentity | None,
    source: str = RegistrationSource.INSTORE,
    register_unknown_customer: bool = False,
    idempotency_key: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> TransactionResult:
    """What both API families call: find (v1.1: or register) the bill's customer, then add the
    bill or book the return, all in one database transaction.

    Raises 606 for a customer bill without identifiers and 8015 for an unknown customer, plus
    everything transaction_add / transaction_return raise.
    """
    type = str(bill.type or "").strip().upper()
    if type not in {*ADD_TYPES, *RETURN_TYPES}:
        raise TransactionInvalidTypeError(
            f"Invalid transaction type {bill.type!r}: use one of "
            f"{', '.join([*ADD_TYPES, *RETURN_TYPES])}"
        )
    source = registration_source_clean(source)
    customer = None
    warnings: list[dict[str, Any]] = []
    registration_effects: list[SideEffect] = []
    customer_created = False
    if type in (TransactionType.REGULAR, TransactionType.RETURN):
        customer, warnings, registration_effects, customer_created = _customer_resolve(
            org=org,
            actor=actor,
            identity=identity,
            source=source,
            register_unknown=register_unknown_customer,
        )
    common: dict[str, Any] = {
        "org": org,
        "actor": actor,
        "customer": customer,
        "number": bill.number,
        "type": type,
        "bill_amount": bill.bill_amount,
        "billed_at": bill.billed_at,
        "lines": bill.lines,
        "gross_amount": bill.gross_amount,
        "discount": bill.discount,
        "source": source,
        "details": bill.details,
        "user_group": bill.user_group,
        "idempotency_key": idempotency_key,
        "context": context,
    }
    if type in RETURN_TYPES:
        result = transaction_return(
            **common,
            return_type=bill.return_type,
            original_number=bill.original_number,
            original_id=bill.original_id,
            purchased_at=bill.purchased_at,
        )
    else:
        result = transaction_add(**common)
    result.warnings[:0] = warnings
    result.side_effects[:0] = registration_effects
    result.customer_created = customer_created
    return result
