"""Bills sent by tills: adds (REGULAR, NOT_INTERESTED, mixed bills) and returns (§11.3-§11.5).

A REGULAR or NOT_INTERESTED bill number is unique per store (a database constraint). Sending the
same bill again is safe: a request with the same normalised body (compared through
`Transaction.request_fingerprint`) answers the first result, the same number with other details
is 604. Returns find the original bill of the same customer and never give back more than was
bought: the original row is locked while earlier returns are summed, so concurrent returns of
one bill are checked one after the other.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from members.exceptions import (
    CustomerAlreadyExistsError,
    CustomerNotFoundError,
    FullReturnAfterPartialError,
    IdentifierTakenError,
    InvalidReturnTypeError,
    ReturnAmountExceededError,
    ReturnBillNumberMissingError,
    ReturnLineNotFoundError,
    ReturnLinesMissingError,
    ReturnQuantityExceededError,
    ReturnQuantityNotAvailableError,
    TransactionAlreadyReturnedError,
    TransactionCustomerMissingError,
    TransactionDateOutOfRangeError,
    TransactionFieldTooLongError,
    TransactionIdempotencyKeyReusedError,
    TransactionInvalidAmountError,
    TransactionInvalidNumberError,
    TransactionInvalidTypeError,
    TransactionLineItemError,
    TransactionNegativeValueError,
    TransactionNumberExistsError,
    TransactionPurchaseTimeMissingError,
    TransactionStoreError,
)
from members.models import (
    Customer,
    Org,
    RegistrationSource,
    ReturnType,
    Till,
    Transaction,
    TransactionLineItem,
    TransactionType,
    UserGroup,
)
from members.selectors.customers import customer_get_by_identifier
from members.selectors.transactions import (
    ReturnHistory,
    UserGroupReference,
    transaction_original_for_return,
    transaction_return_history,
    user_group_for_transaction,
)
from members.services.customers import customer_register, registration_source_clean
from members.services.pipeline import SideEffect, run_pipeline

NUMBER_MAX_LENGTH = 50
ITEM_CODE_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 255
CATEGORY_MAX_LENGTH = 100
SHORT_FIELD_MAX_LENGTH = 16
IDEMPOTENCY_KEY_MAX_LENGTH = 128
# Amount columns are decimal(16, 3); quantities decimal(14, 3).
AMOUNT_QUANTUM = Decimal("0.001")
MAX_AMOUNT = Decimal("9999999999999.999")
MAX_QTY = Decimal("99999999999.999")
# Tills' clocks and time zones drift: a bill may be dated up to one day ahead (643 beyond).
FUTURE_BILL_TOLERANCE = timedelta(days=1)
REPLAY_WARNING_CODE = 604

MIXED_RETURN_CLEARED_FIELDS = {
    "payment_modes": [],
    "coupon_codes": [],
    "points_redemption_ids": [],
    "promotion_evaluation_id": "",
    "applied_promotion_identifiers": [],
    "loyalty_promotion_identifiers": [],
}

ADD_TYPES = (TransactionType.REGULAR, TransactionType.NOT_INTERESTED)
RETURN_TYPES = (TransactionType.RETURN, TransactionType.NOT_INTERESTED_RETURN)
WHOLE_BILL_RETURNS = (ReturnType.FULL, ReturnType.CANCELLED)

# Contract §11.5: 631 negative amount, 627 negative qty, 661-666 negative line/bill values. The
# contract does not say which of 661-666 is which; this is our assignment.
NEGATIVE_BILL_AMOUNT_CODE = 631
NEGATIVE_QTY_CODE = 627
NEGATIVE_DISCOUNT_CODE = 661
NEGATIVE_GROSS_AMOUNT_CODE = 662
NEGATIVE_LINE_RATE_CODE = 663
NEGATIVE_LINE_VALUE_CODE = 664
NEGATIVE_LINE_DISCOUNT_CODE = 665
NEGATIVE_LINE_AMOUNT_CODE = 666


@dataclass(frozen=True)
class LineItemInput:
    """One line of a bill as the till sends it; `type` RETURN marks a returned line of a mixed
    bill, given back against `parent_bill_number`."""

    item_code: str
    qty: Decimal | int | str | None
    rate: Decimal | int | str | None = None
    value: Decimal | int | str | None = None
    discount: Decimal | int | str | None = None
    amount: Decimal | int | str | None = None
    description: str = ""
    serial: int | None = None
    category: str = ""
    brand: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    extended_fields: Mapping[str, Any] = field(default_factory=dict)
    type: str = TransactionLineItem.Type.REGULAR
    parent_bill_number: str = ""
    return_type: str = ""


@dataclass(frozen=True)
class _Line:
    """A validated line: every amount a Decimal, value and amount filled in."""

    item_code: str
    qty: Decimal
    rate: Decimal
    value: Decimal
    discount: Decimal
    amount: Decimal
    description: str
    serial: int
    category: str
    brand: str
    attributes: dict[str, Any]
    extended_fields: dict[str, Any]
    is_return: bool
    parent_bill_number: str
    return_type: str

    def canonical(self) -> dict[str, Any]:
        return {
            "itemCode": self.item_code,
            "qty": str(self.qty),
            "rate": str(self.rate),
            "value": str(self.value),
            "discount": str(self.discount),
            "amount": str(self.amount),
            "description": self.description,
            "serial": self.serial,
            "category": self.category,
            "brand": self.brand,
            "attributes": self.attributes,
            "extendedFields": self.extended_fields,
            "isReturn": self.is_return,
            "parentBillNumber": self.parent_bill_number,
            "returnType": self.return_type,
        }


@dataclass
class TransactionResult:
    """`created` is False for a replay (the first request's transaction, nothing written)."""

    transaction: Transaction
    created: bool
    warnings: list[dict[str, Any]] = field(default_factory=list)
    side_effects: list[SideEffect] = field(default_factory=list)
    # Returns booked by the RETURN lines of a mixed bill.
    returns: list[TransactionResult] = field(default_factory=list)
    customer_created: bool = False

    @property
    def is_replay(self) -> bool:
        return not self.created


@dataclass(frozen=True)
class CustomerIdentity:
    """The customer of a bill as the API names it: Customer field (`id`, `mobile`, `email`,
    `external_id`) to value, plus the names used when v1.1 registers an unknown customer."""

    identifiers: Mapping[str, str]
    first_name: str = ""
    last_name: str = ""
    account_id: str = ""

    @property
    def is_empty(self) -> bool:
        return not any(str(value or "").strip() for value in self.identifiers.values())


@dataclass(frozen=True)
class BillInput:
    """Everything a till sends about one bill, in domain terms (both API families map to it)."""

    type: str
    number: str
    bill_amount: Decimal | int | str | None
    lines: Sequence[LineItemInput] = ()
    billed_at: datetime | None = None
    gross_amount: Decimal | int | str | None = None
    discount: Decimal | int | str | None = None
    return_type: str = ""
    original_number: str | None = None
    original_id: int | None = None
    purchased_at: datetime | None = None
    currency_code: str = ""
    notes: str = ""
    delivery_status: str = ""
    outlier_status: str = ""
    payment_modes: Sequence[Any] = ()
    extended_fields: Mapping[str, Any] = field(default_factory=dict)
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    coupon_codes: Sequence[Any] = ()
    points_redemption_ids: Sequence[Any] = ()
    promotion_evaluation_id: str = ""
    applied_promotion_identifiers: Sequence[str] = ()
    loyalty_promotion_identifiers: Sequence[str] = ()
    user_group: UserGroupReference | None = None


# Cleaning -----------------------------------------------------------------------------------
def _warning(code: int, message: str) -> dict[str, Any]:
    return {"status": False, "code": code, "message": message}


def _amount(
    value: Any,
    *,
    label: str,
    negative_code: int,
    required: bool = False,
    maximum: Decimal = MAX_AMOUNT,
) -> Decimal | None:
    """`value` as a Decimal with at most three decimals; raises 601 or `negative_code`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise TransactionInvalidAmountError(f"{label} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise TransactionInvalidAmountError(f"{label} must be a number, got {value!r}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise TransactionInvalidAmountError(f"{label} must be a number, got {value!r}")
    if not number.is_finite():
        raise TransactionInvalidAmountError(f"{label} must be a finite number")
    if number < 0:
        raise TransactionNegativeValueError(f"{label} must not be negative", code=negative_code)
    if number > maximum:
        raise TransactionInvalidAmountError(f"{label} must be at most {maximum}")
    quantized = number.quantize(AMOUNT_QUANTUM)
    if quantized != number:
        raise TransactionInvalidAmountError(f"{label} has more than three decimal places")
    return quantized


def _text(value: Any, *, label: str, max_length: int) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > max_length:
        raise TransactionFieldTooLongError(f"{label} is longer than {max_length} characters")
    return text


def _mapping(value: Any, *, label: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TransactionLineItemError(f"{label} must be an object")
    return dict(value)


def _clean_number(number: Any, *, label: str = "Transaction number") -> str:
    text = "" if number is None else str(number).strip()
    if not text or len(text) > NUMBER_MAX_LENGTH:
        raise TransactionInvalidNumberError(f"{label} must be 1-{NUMBER_MAX_LENGTH} characters")
    return text


def _clean_type(value: Any, *, allowed: Sequence[str]) -> str:
    text = str(value or "").strip().upper()
    if text not in allowed:
        raise TransactionInvalidTypeError(
            f"Invalid transaction type {value!r}: use one of {', '.join(allowed)}"
        )
    return text


def _clean_return_type(value: Any) -> str:
    text = str(value or "").strip().upper()
    if text not in ReturnType.values:
        raise InvalidReturnTypeError(
            f"Invalid returnType {value!r}: use one of {', '.join(ReturnType.values)}"
        )
    return text


def _aware(moment: datetime, org: Org) -> datetime:
    """Tills send local times without an offset; they are the org's time zone."""
    if timezone.is_naive(moment):
        return timezone.make_aware(moment, org.tzinfo)
    return moment


def _clean_billed_at(billed_at: datetime | None, org: Org) -> datetime | None:
    if billed_at is None:
        return None
    billed_at = _aware(billed_at, org)
    if billed_at > timezone.now() + FUTURE_BILL_TOLERANCE:
        raise TransactionDateOutOfRangeError(
            f"Billing date {billed_at.isoformat()} is more than one day in the future"
        )
    return billed_at


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _clean_line(line: LineItemInput, index: int) -> _Line:
    label = f"Line item {index}"
    item_code = _text(line.item_code, label=f"{label} itemCode", max_length=ITEM_CODE_MAX_LENGTH)
    if not item_code:
        raise TransactionLineItemError(f"{label}: itemCode is required")
    label = f"{label} ({item_code})"
    qty = _amount(
        line.qty,
        label=f"{label} qty",
        negative_code=NEGATIVE_QTY_CODE,
        required=True,
        maximum=MAX_QTY,
    )
    assert qty is not None
    if qty == 0:
        raise TransactionInvalidAmountError(f"{label} qty must be more than 0")
    rate = _amount(line.rate, label=f"{label} rate", negative_code=NEGATIVE_LINE_RATE_CODE)
    rate = rate if rate is not None else Decimal("0.000")
    value = _amount(line.value, label=f"{label} value", negative_code=NEGATIVE_LINE_VALUE_CODE)
    if value is None:
        value = _amount(
            (rate * qty).quantize(AMOUNT_QUANTUM),
            label=f"{label} value (rate x qty)",
            negative_code=NEGATIVE_LINE_VALUE_CODE,
        )
    discount = _amount(
        line.discount, label=f"{label} discount", negative_code=NEGATIVE_LINE_DISCOUNT_CODE
    )
    discount = discount if discount is not None else Decimal("0.000")
    amount = _amount(line.amount, label=f"{label} amount", negative_code=NEGATIVE_LINE_AMOUNT_CODE)
    if amount is None:
        amount = _amount(
            value - discount,
            label=f"{label} amount (value - discount)",
            negative_code=NEGATIVE_LINE_AMOUNT_CODE,
        )
    assert value is not None and amount is not None
    attributes = _mapping(line.attributes, label=f"{label} attributes")
    # Category and brand come as their own fields or as item attributes (POS systems differ).
    category = line.category or attributes.get("category") or ""
    brand = line.brand or attributes.get("brand") or ""
    line_type = str(line.type or "").strip().upper()
    is_return = line_type in RETURN_TYPES
    if line_type and line_type not in {*ADD_TYPES, *RETURN_TYPES}:
        raise TransactionInvalidTypeError(f"{label}: invalid line item type {line.type!r}")
    return _Line(
        item_code=item_code,
        qty=qty,
        rate=rate,
        value=value,
        discount=discount,
        amount=amount,
        description=_text(
            line.description, label=f"{label} description", max_length=DESCRIPTION_MAX_LENGTH
        ),
        serial=line.serial if line.serial is not None else index,
        category=_text(category, label=f"{label} category", max_length=CATEGORY_MAX_LENGTH),
        brand=_text(brand, label=f"{label} brand", max_length=CATEGORY_MAX_LENGTH),
        attributes=attributes,
        extended_fields=_mapping(line.extended_fields, label=f"{label} extendedFields"),
        is_return=is_return,
        parent_bill_number=str(line.parent_bill_number or "").strip(),
        return_type=str(line.return_type or "").strip().upper(),
    )


def _clean_lines(lines: Sequence[LineItemInput]) -> list[_Line]:
    return [_clean_line(line, index) for index, line in enumerate(lines, start=1)]


def _clean_idempotency_key(key: str | None) -> str | None:
    key = (key or "").strip()
    if not key:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise TransactionFieldTooLongError(
            f"Idempotency-Key is longer than {IDEMPOTENCY_KEY_MAX_LENGTH} characters"
        )
    return key


def _check_actor(*, org: Org, actor: Till) -> None:
    if actor.org_id != org.pk or actor.store.org_id != org.pk:
        raise TransactionStoreError(
            "Bills are booked on a till and store of the target org; this till belongs to "
            "another org"
        )


def _check_customer(*, org: Org, customer: Customer | None, required: bool) -> Customer | None:
    if customer is None:
        if required:
            raise TransactionCustomerMissingError("This transaction type needs a customer")
        return None
    if customer.org_id != org.pk:
        # Another org's customer does not exist for this org.
        raise CustomerNotFoundError()
    return customer


def request_fingerprint_of(payload: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a normalised request (sorted keys, no whitespace)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _decimal_text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


# Replays ------------------------------------------------------------------------------------
def _replay(existing: Transaction, *, fingerprint: str, what: str) -> TransactionResult:
    """The first result for a replay of the same request; 604 / 409 for different details."""
    if existing.request_fingerprint != fingerprint:
        if what == "number":
            raise TransactionNumberExistsError(
                f"Transaction number {existing.number} already exists in this store with "
                f"different details (transaction {existing.pk})"
            )
        raise TransactionIdempotencyKeyReusedError(
            f"Idempotency-Key was already used for transaction {existing.pk} with a different "
            "request"
        )
    return TransactionResult(
        transaction=existing,
        created=False,
        warnings=[
            _warning(
                REPLAY_WARNING_CODE,
                f"Replay: transaction {existing.number} was already recorded with the same "
                f"details as transaction {existing.pk}; nothing was changed",
            )
        ],
    )


def _existing_by_key(*, actor: Till, idempotency_key: str | None) -> Transaction | None:
    if idempotency_key is None:
        return None
    return Transaction.objects.filter(till=actor, idempotency_key=idempotency_key).first()


def _existing_bill(*, actor: Till, number: str) -> Transaction | None:
    return Transaction.objects.filter(store=actor.store, number=number, type__in=ADD_TYPES).first()


def _save_or_replay(
    txn: Transaction, *, actor: Till, fingerprint: str, check_number: bool
) -> TransactionResult | None:
    """Insert `txn` in a savepoint. When a concurrent request inserted the same bill (or used
    the same Idempotency-Key) first, return its replay result (or raise 604 / 409)."""
    try:
        with transaction.atomic():
            txn.save()
    except IntegrityError:
        # The unique index waited for the other request to commit, so its row is visible now.
        if check_number and (existing := _existing_bill(actor=actor, number=txn.number)):
            return _replay(existing, fingerprint=fingerprint, what="number")
        if existing := _existing_by_key(actor=actor, idempotency_key=txn.idempotency_key):
            return _replay(existing, fingerprint=fingerprint, what="key")
        raise
    return None


def _line_rows(
    txn: Transaction,
    lines: Sequence[_Line],
    originals: Sequence[TransactionLineItem | None] | None = None,
) -> list[TransactionLineItem]:
    rows = []
    for position, line in enumerate(lines):
        original_line = originals[position] if originals is not None else None
        rows.append(
            TransactionLineItem(
                transaction=txn,
                serial=line.serial,
                type=(
                    TransactionLineItem.Type.RETURN
                    if txn.type in RETURN_TYPES
                    else TransactionLineItem.Type.REGULAR
                ),
                sku=line.item_code,
                description=line.description,
                qty=line.qty,
                rate=line.rate,
                value=line.value,
                discount=line.discount,
                amount=line.amount,
                category=line.category,
                brand=line.brand,
                attributes=line.attributes,
                extended_fields=line.extended_fields,
                original_line=original_line,
            )
        )
    return TransactionLineItem.objects.bulk_create(rows)


def _lifetime_purchases_add(customer: Customer | None, amount: Decimal) -> None:
    if customer is None or not amount:
        return
    # F() so concurrent bills of one customer never overwrite each other's totals.
    Customer.objects.filter(pk=customer.pk).update(
        lifetime_purchases=F("lifetime_purchases") + amount
    )
    customer.refresh_from_db(fields=["lifetime_purchases"])


def _common_fields(
    *,
    currency_code: str,
    notes: str,
    delivery_status: str,
    outlier_status: str,
    payment_modes: Sequence[Any] | None,
    extended_fields: Mapping[str, Any] | None,
    custom_fields: Mapping[str, Any] | None,
    coupon_codes: Sequence[Any] | None,
    points_redemption_ids: Sequence[Any] | None,
    promotion_evaluation_id: str,
    applied_promotion_identifiers: Sequence[str] | None,
    loyalty_promotion_identifiers: Sequence[str] | None,
) -> dict[str, Any]:
    """The descriptive bill fields in stored form (also part of the request fingerprint)."""
    return {
        "currency_code": _text(currency_code, label="currencyCode", max_length=3).upper(),
        "notes": "" if notes is None else str(notes),
        "delivery_status": _text(
            delivery_status, label="deliveryStatus", max_length=SHORT_FIELD_MAX_LENGTH
        ).upper(),
        "outlier_status": _text(
            outlier_status, label="outlierStatus", max_length=SHORT_FIELD_MAX_LENGTH
        ).upper()
        or "NORMAL",
        "payment_modes": list(payment_modes or []),
        "extended_fields": dict(extended_fields or {}),
        "custom_fields": dict(custom_fields or {}),
        "coupon_codes": [str(code) for code in (coupon_codes or []) if str(code).strip()],
        "points_redemption_ids": [str(item) for item in (points_redemption_ids or [])],
        "promotion_evaluation_id": _text(
            promotion_evaluation_id, label="promotionEvaluationId", max_length=64
        ),
        "applied_promotion_identifiers": [
            str(item) for item in (applied_promotion_identifiers or []) if str(item).strip()
        ],
        "loyalty_promotion_identifiers": [
            str(item) for item in (loyalty_promotion_identifiers or []) if str(item).strip()
        ],
    }


# Seams ----------------------------------------------------------------------------------------
def _after_add_pipeline(
    *, txn: Transaction, actor: Till, context: Mapping[str, Any]
) -> list[SideEffect]:
    """The seam after a bill is stored, inside its database transaction.

    settings.TRANSACTION_ADD_PIPELINE plugs in here: the earning engine (points for the bill
    and its lines, raw AWARD items) and coupon redemption (the bill's coupon and points
    redemptions). Their side effects are the response's `sideEffects`; a DomainError they raise
    rolls the whole bill back.
    """
    return list(
        run_pipeline("TRANSACTION_ADD_PIPELINE", transaction=txn, actor=actor, context=context)
    )


def _after_return_pipeline(
    *, txn: Transaction, actor: Till, context: Mapping[str, Any]
) -> list[SideEffect]:
    """The seam after a return is stored, inside its database transaction.

    settings.TRANSACTION_RETURN_PIPELINE plugs in here: the earning engine takes back the
    points of the returned part and coupon redemption reverses what the bill redeemed
    (`context["original"]` is the returned bill). An error they raise rolls the return back.
    """
    return list(
        run_pipeline("TRANSACTION_RETURN_PIPELINE", transaction=txn, actor=actor, context=context)
    )


# Add ----------------------------------------------------------------------------------------
@transaction.atomic
def transaction_add(
    *,
    org: Org,
    actor: Till,
    customer: Customer | None,
    number: str,
    type: str,
    bill_amount: Decimal | int | str | None,
    billed_at: datetime | None,
    lines: Sequence[LineItemInput],
    gross_amount: Decimal | int | str | None = None,
    discount: Decimal | int | str | None = 0,
    source: str = RegistrationSource.INSTORE,
    currency_code: str = "",
    notes: str = "",
    delivery_status: str = "",
    outlier_status: str = "",
    payment_modes: Sequence[Any] | None = None,
    extended_fields: Mapping[str, Any] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    coupon_codes: Sequence[Any] | None = None,
    points_redemption_ids: Sequence[Any] | None = None,
    promotion_evaluation_id: str = "",
    applied_promotion_identifiers: Sequence[str] | None = None,
    loyalty_promotion_identifiers: Sequence[str] | None = None,
    user_group: UserGroupReference | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> TransactionResult:
    """Record a REGULAR or NOT_INTERESTED bill on the actor's till and store.

    RETURN lines (mixed bills) are booked as line-item returns of their parent bills in the same
    database transaction. A replay of the same bill returns the first result. `billed_at` None
    means now. Raises 601/627/631/661-666 (amounts), 602 (number), 604 (number exists with other
    details), 605 (type), 606 (customer missing), 622/685 (line items), 643 (date), 671 (till of
    another org), 1632 (user group), 8015 (customer of another org) and any return error.
    """
    _check_actor(org=org, actor=actor)
    type = _clean_type(type, allowed=ADD_TYPES)
    number = _clean_number(number)
    source = registration_source_clean(source)
    # Not-interested bills are those of shoppers who did not join: no customer is attached.
    customer = (
        None
        if type == TransactionType.NOT_INTERESTED
        else _check_customer(org=org, customer=customer, required=True)
    )
    bill_amount = _amount(
        bill_amount, label="Bill amount", required=True, negative_code=NEGATIVE_BILL_AMOUNT_CODE
    )
    gross_amount = _amount(
        gross_amount, label="Gross amount", negative_code=NEGATIVE_GROSS_AMOUNT_CODE
    )
    discount = _amount(discount, label="Discount", negative_code=NEGATIVE_DISCOUNT_CODE)
    billed_at = _clean_billed_at(billed_at, org)
    cleaned = _clean_lines(lines)
    sold = [line for line in cleaned if not line.is_return]
    returned = [line for line in cleaned if line.is_return]
    if returned and (type != TransactionType.REGULAR or customer is None):
        raise TransactionInvalidTypeError("Returned line items are only allowed on REGULAR bills")
    for line in returned:
        if not line.parent_bill_number:
            raise ReturnBillNumberMissingError(
                f"Returned line item {line.item_code} needs parentBillNumber"
            )
    fields = _common_fields(
        currency_code=currency_code,
        notes=notes,
        delivery_status=delivery_status,
        outlier_status=outlier_status,
        payment_modes=payment_modes,
        extended_fields=extended_fields,
        custom_fields=custom_fields,
        coupon_codes=coupon_codes,
        points_redemption_ids=points_redemption_ids,
        promotion_evaluation_id=promotion_evaluation_id,
        applied_promotion_identifiers=applied_promotion_identifiers,
        loyalty_promotion_identifiers=loyalty_promotion_identifiers,
    )
    group = user_group_for_transaction(org=org, reference=user_group or UserGroupReference())
    idempotency_key = _clean_idempotency_key(idempotency_key)
    fingerprint = request_fingerprint or request_fingerprint_of(
        {
            "kind": "add",
            "customer": customer.pk if customer else None,
            "type": type,
            "number": number,
            "source": source,
            "billAmount": _decimal_text(bill_amount),
            "grossAmount": _decimal_text(gross_amount),
            "discount": _decimal_text(discount),
            "billedAt": _iso(billed_at),
            "lines": [line.canonical() for line in cleaned],
            "userGroup": group.pk if group else None,
            **fields,
        }
    )

    if existing := _existing_bill(actor=actor, number=number):
        return _replay(existing, fingerprint=fingerprint, what="number")
    if existing := _existing_by_key(actor=actor, idempotency_key=idempotency_key):
        return _replay(existing, fingerprint=fingerprint, what="key")

    txn = Transaction(
        org=org,
        customer=customer,
        user_group=group,
        store=actor.store,
        till=actor,
        number=number,
        type=type,
        bill_amount=bill_amount,
        gross_amount=gross_amount,
        discount=discount or Decimal(0),
        billed_at=billed_at or timezone.now(),
        source=source,
        request_fingerprint=fingerprint,
        idempotency_key=idempotency_key,
        **fields,
    )
    replay = _save_or_replay(txn, actor=actor, fingerprint=fingerprint, check_number=True)
    if replay is not None:
        return replay
    _line_rows(txn, sold)
    if type == TransactionType.REGULAR:
        _lifetime_purchases_add(customer, bill_amount or Decimal(0))

    side_effects = _after_add_pipeline(
        txn=txn,
        actor=actor,
        context={"source": source, "customer": customer, "user_group": group, **(context or {})},
    )
    result = TransactionResult(transaction=txn, created=True, side_effects=list(side_effects))

    groups: dict[tuple[str, str], list[_Line]] = defaultdict(list)
    for line in returned:
        groups[(line.parent_bill_number, line.return_type or ReturnType.LINE_ITEM)].append(line)
    for (parent_number, return_type), parent_lines in groups.items():
        outcome = _return_book(
            org=org,
            actor=actor,
            customer=customer,
            type=TransactionType.RETURN,
            number=parent_number,
            original_number=parent_number,
            return_type=_clean_return_type(return_type),
            bill_amount=sum((line.amount for line in parent_lines), Decimal("0.000")),
            gross_amount=None,
            discount=None,
            billed_at=txn.billed_at,
            purchased_at=None,
            lines=parent_lines,
            original_id=None,
            source=source,
            # Payments, coupons and promotions belong to the sale, not to its returned lines.
            fields={**fields, **MIXED_RETURN_CLEARED_FIELDS},
            group=group,
            idempotency_key=None,
            fingerprint="",
            context={**(context or {}), "mixed_bill": txn},
        )
        result.returns.append(outcome)
        result.side_effects.extend(outcome.side_effects)
    return result


# Returns ------------------------------------------------------------------------------------
def _whole_bill_lines(original_lines: Sequence[TransactionLineItem]) -> list[_Line]:
    return [
        _Line(
            item_code=row.sku,
            qty=row.qty,
            rate=row.rate,
            value=row.value,
            discount=row.discount,
            amount=row.amount,
            description=row.description,
            serial=row.serial,
            category=row.category,
            brand=row.brand,
            attributes=dict(row.attributes),
            extended_fields=dict(row.extended_fields),
            is_return=True,
            parent_bill_number="",
            return_type="",
        )
        for row in original_lines
    ]


def _share(line: _Line, qty: Decimal, *, remainder_of: Sequence[_Line] | None = None) -> _Line:
    """The part of a returned line given back against one original line (qty `qty`)."""
    if remainder_of is not None:
        return replace(
            line,
            qty=qty,
            value=line.value - sum((part.value for part in remainder_of), Decimal(0)),
            discount=line.discount - sum((part.discount for part in remainder_of), Decimal(0)),
            amount=line.amount - sum((part.amount for part in remainder_of), Decimal(0)),
        )
    ratio = qty / line.qty
    return replace(
        line,
        qty=qty,
        value=(line.value * ratio).quantize(AMOUNT_QUANTUM),
        discount=(line.discount * ratio).quantize(AMOUNT_QUANTUM),
        amount=(line.amount * ratio).quantize(AMOUNT_QUANTUM),
    )


def _match_return_lines(
    *,
    original: Transaction,
    original_lines: Sequence[TransactionLineItem],
    history: ReturnHistory,
    lines: Sequence[_Line],
) -> tuple[list[_Line], list[TransactionLineItem]]:
    """Link each returned line to original lines with the same item code, never returning
    more than was bought (626) or than earlier returns left (629); raises 688 for an item that
    is not on the bill. A line spread over several original lines is split between them."""
    by_code: dict[str, list[TransactionLineItem]] = defaultdict(list)
    for row in original_lines:
        by_code[row.sku].append(row)
    available = {
        row.pk: row.qty - history.returned_qty_by_line.get(row.pk, Decimal(0))
        for row in original_lines
    }
    requested: dict[str, Decimal] = defaultdict(Decimal)
    parts: list[_Line] = []
    links: list[TransactionLineItem] = []
    for line in lines:
        candidates = by_code.get(line.item_code)
        if not candidates:
            raise ReturnLineNotFoundError(
                f"Item {line.item_code} is not on bill {original.number} (transaction "
                f"{original.pk})"
            )
        purchased = sum((row.qty for row in candidates), Decimal(0))
        requested[line.item_code] += line.qty
        if requested[line.item_code] > purchased:
            raise ReturnQuantityExceededError(
                f"Returning {requested[line.item_code]} of item {line.item_code} but bill "
                f"{original.number} has {purchased}"
            )
        still = sum((available[row.pk] for row in candidates), Decimal(0))
        if line.qty > still:
            raise ReturnQuantityNotAvailableError(
                f"Only {max(still, Decimal(0))} of item {line.item_code} on bill "
                f"{original.number} can still be returned"
            )
        remaining = line.qty
        takes: list[tuple[TransactionLineItem, Decimal]] = []
        for row in candidates:
            take = min(available[row.pk], remaining)
            if take > 0:
                takes.append((row, take))
                available[row.pk] -= take
                remaining -= take
            if remaining == 0:
                break
        split: list[_Line] = []
        for position, (row, take) in enumerate(takes):
            last = position == len(takes) - 1
            split.append(
                _share(line, take, remainder_of=split if last else None) if len(takes) > 1 else line
            )
            links.append(row)
        parts.extend(split)
    return parts, links


def _return_book(
    *,
    org: Org,
    actor: Till,
    customer: Customer | None,
    type: str,
    number: str,
    original_number: str,
    return_type: str,
    bill_amount: Decimal | None,
    gross_amount: Decimal | None,
    discount: Decimal | None,
    billed_at: datetime | None,
    purchased_at: datetime | None,
    lines: Sequence[_Line],
    original_id: int | None,
    source: str,
    fields: dict[str, Any],
    group: UserGroup | None,
    idempotency_key: str | None,
    fingerprint: str,
    context: Mapping[str, Any] | None,
) -> TransactionResult:
    """Book a validated return (callers run inside transaction.atomic)."""
    original_type = (
        TransactionType.REGULAR
        if type == TransactionType.RETURN
        else TransactionType.NOT_INTERESTED
    )
    found = transaction_original_for_return(
        org=org,
        number=original_number,
        customer=customer,
        original_type=original_type,
        original_id=original_id,
        preferred_store=actor.store,
    )
    # Lock the original bill: every return of it waits here, so the sums below stay true until
    # this return is committed.
    original = Transaction.objects.select_for_update().get(pk=found.pk)
    if existing := _existing_by_key(actor=actor, idempotency_key=idempotency_key):
        return _replay(existing, fingerprint=fingerprint, what="key")

    history = transaction_return_history(original=original)
    if history.is_fully_returned:
        raise TransactionAlreadyReturnedError(
            f"Bill {original.number} (transaction {original.pk}) has already been returned in full"
        )
    original_lines = list(original.line_items.order_by("serial", "id"))
    links: list[TransactionLineItem | None]
    if return_type in WHOLE_BILL_RETURNS:
        if history.has_returns:
            raise FullReturnAfterPartialError(
                f"Bill {original.number} already has partial returns; return the rest by line "
                "item or amount"
            )
        lines = _whole_bill_lines(original_lines)
        links = list(original_lines)
        bill_amount, gross_amount, discount = (
            original.bill_amount,
            original.gross_amount,
            original.discount,
        )
    elif return_type == ReturnType.LINE_ITEM:
        if not lines:
            raise ReturnLinesMissingError()
        lines, matched = _match_return_lines(
            original=original, original_lines=original_lines, history=history, lines=lines
        )
        links = list(matched)
    else:
        # AMOUNT returns give money back without naming items; their lines stay unlinked.
        links = [None] * len(lines)
    assert bill_amount is not None
    if history.returned_amount + bill_amount > original.bill_amount:
        left = original.bill_amount - history.returned_amount
        raise ReturnAmountExceededError(
            f"Returning {bill_amount} but only {left} of bill {original.number} "
            f"({original.bill_amount}) is left to return"
        )

    txn = Transaction(
        org=org,
        customer=original.customer,
        user_group=group or original.user_group,
        store=actor.store,
        till=actor,
        number=number,
        type=type,
        return_type=return_type,
        original=original,
        bill_amount=bill_amount,
        gross_amount=gross_amount,
        discount=discount or Decimal(0),
        billed_at=billed_at or timezone.now(),
        purchased_at=purchased_at or original.billed_at,
        source=source,
        request_fingerprint=fingerprint,
        idempotency_key=idempotency_key,
        **fields,
    )
    replay = _save_or_replay(txn, actor=actor, fingerprint=fingerprint, check_number=False)
    if replay is not None:
        return replay
    _line_rows(txn, lines, links)
    if original.type == TransactionType.REGULAR:
        _lifetime_purchases_add(original.customer, -bill_amount)

    side_effects = _after_return_pipeline(
        txn=txn,
        actor=actor,
        context={
            "source": source,
            "customer": original.customer,
            "user_group": txn.user_group,
            "original": original,
            "return_type": return_type,
            **(context or {}),
        },
    )
    return TransactionResult(transaction=txn, created=True, side_effects=list(side_effects))


@transaction.atomic
def transaction_return(
    *,
    org: Org,
    actor: Till,
    customer: Customer | None,
    number: str,
    return_type: str,
    bill_amount: Decimal | int | str | None,
    billed_at: datetime | None,
    lines: Sequence[LineItemInput] = (),
    type: str = TransactionType.RETURN,
    original_number: str | None = None,
    original_id: int | None = None,
    purchased_at: datetime | None = None,
    gross_amount: Decimal | int | str | None = None,
    discount: Decimal | int | str | None = 0,
    source: str = RegistrationSource.INSTORE,
    currency_code: str = "",
    notes: str = "",
    delivery_status: str = "",
    outlier_status: str = "",
    payment_modes: Sequence[Any] | None = None,
    extended_fields: Mapping[str, Any] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    coupon_codes: Sequence[Any] | None = None,
    points_redemption_ids: Sequence[Any] | None = None,
    promotion_evaluation_id: str = "",
    applied_promotion_identifiers: Sequence[str] | None = None,
    loyalty_promotion_identifiers: Sequence[str] | None = None,
    user_group: UserGroupReference | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> TransactionResult:
    """Give back all (FULL / CANCELLED) or part (LINE_ITEM / AMOUNT) of a bill of the customer.

    `number` is the return's own number; the original bill is `original_number` (default:
    `number`, as v2 sends it), picked with `original_id` when several stores used the number.
    A FULL return takes the original's lines and amount. A repeated Idempotency-Key replays the
    first result. Raises 605, 606, 624 (purchase time of a not-interested return), 625 (no
    original), 626/629 (quantity), 628 (return type), 630 (amount), 633 (already returned in
    full), 639 (full after partial), 688 (item not on the bill) and the amount errors.
    """
    _check_actor(org=org, actor=actor)
    type = _clean_type(type, allowed=RETURN_TYPES)
    return_type = _clean_return_type(return_type)
    number = _clean_number(number)
    original_number = _clean_number(original_number or number, label="Original bill number")
    source = registration_source_clean(source)
    customer = (
        None
        if type == TransactionType.NOT_INTERESTED_RETURN
        else _check_customer(org=org, customer=customer, required=True)
    )
    if type == TransactionType.NOT_INTERESTED_RETURN and purchased_at is None:
        raise TransactionPurchaseTimeMissingError(
            "A not-interested return needs purchaseTime, the time of the original bill"
        )
    bill_amount = _amount(
        bill_amount,
        label="Bill amount",
        negative_code=NEGATIVE_BILL_AMOUNT_CODE,
        required=return_type not in WHOLE_BILL_RETURNS,
    )
    gross_amount = _amount(
        gross_amount, label="Gross amount", negative_code=NEGATIVE_GROSS_AMOUNT_CODE
    )
    discount = _amount(discount, label="Discount", negative_code=NEGATIVE_DISCOUNT_CODE)
    billed_at = _clean_billed_at(billed_at, org)
    purchased_at = _aware(purchased_at, org) if purchased_at is not None else None
    cleaned = _clean_lines(lines)
    fields = _common_fields(
        currency_code=currency_code,
        notes=notes,
        delivery_status=delivery_status,
        outlier_status=outlier_status,
        payment_modes=payment_modes,
        extended_fields=extended_fields,
        custom_fields=custom_fields,
        coupon_codes=coupon_codes,
        points_redemption_ids=points_redemption_ids,
        promotion_evaluation_id=promotion_evaluation_id,
        applied_promotion_identifiers=applied_promotion_identifiers,
        loyalty_promotion_identifiers=loyalty_promotion_identifiers,
    )
    group = user_group_for_transaction(org=org, reference=user_group or UserGroupReference())
    idempotency_key = _clean_idempotency_key(idempotency_key)
    fingerprint = request_fingerprint or request_fingerprint_of(
        {
            "kind": "return",
            "customer": customer.pk if customer else None,
            "type": type,
            "returnType": return_type,
            "number": number,
            "originalNumber": original_number,
            "originalId": original_id,
            "source": source,
            "billAmount": _decimal_text(bill_amount),
            "grossAmount": _decimal_text(gross_amount),
            "discount": _decimal_text(discount),
            "billedAt": _iso(billed_at),
            "purchasedAt": _iso(purchased_at),
            "lines": [line.canonical() for line in cleaned],
            "userGroup": group.pk if group else None,
            **fields,
        }
    )
    return _return_book(
        org=org,
        actor=actor,
        customer=customer,
        type=type,
        number=number,
        original_number=original_number,
        return_type=return_type,
        bill_amount=bill_amount,
        gross_amount=gross_amount,
        discount=discount,
        billed_at=billed_at,
        purchased_at=purchased_at,
        lines=cleaned,
        original_id=original_id,
        source=source,
        fields=fields,
        group=group,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        context=context,
    )


# API entry point ----------------------------------------------------------------------------
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
    common = {
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
        "currency_code": bill.currency_code,
        "notes": bill.notes,
        "delivery_status": bill.delivery_status,
        "outlier_status": bill.outlier_status,
        "payment_modes": bill.payment_modes,
        "extended_fields": bill.extended_fields,
        "custom_fields": bill.custom_fields,
        "coupon_codes": bill.coupon_codes,
        "points_redemption_ids": bill.points_redemption_ids,
        "promotion_evaluation_id": bill.promotion_evaluation_id,
        "applied_promotion_identifiers": bill.applied_promotion_identifiers,
        "loyalty_promotion_identifiers": bill.loyalty_promotion_identifiers,
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
