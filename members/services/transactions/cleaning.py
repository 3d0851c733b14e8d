"""Validation of what a till sends about a bill: amounts, lines, dates, descriptive fields.

Adds and returns clean a bill in the same order (so a bill with several problems always fails
with the same code): type, number, source, customer, amounts, billing time, lines, descriptive
fields, user group, Idempotency-Key. The result is a CleanBill.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from members.exceptions import (
    CustomerNotFoundError,
    InvalidReturnTypeError,
    TransactionCustomerMissingError,
    TransactionDateOutOfRangeError,
    TransactionFieldTooLongError,
    TransactionInvalidAmountError,
    TransactionInvalidNumberError,
    TransactionInvalidTypeError,
    TransactionLineItemError,
    TransactionNegativeValueError,
    TransactionStoreError,
)
from members.models import Customer, Org, ReturnType, Till, TransactionType
from members.selectors.transactions import UserGroupReference, user_group_for_transaction
from members.services.transactions.values import (
    BillDetails,
    BillFigures,
    CleanBill,
    CleanLine,
    LineItemInput,
)

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


# Values ---------------------------------------------------------------------------------------
def clean_amount(
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


def clean_text(value: Any, *, label: str, max_length: int) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > max_length:
        raise TransactionFieldTooLongError(f"{label} is longer than {max_length} characters")
    return text


def _clean_mapping(value: Any, *, label: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TransactionLineItemError(f"{label} must be an object")
    return dict(value)


def clean_number(number: Any, *, label: str = "Transaction number") -> str:
    text = "" if number is None else str(number).strip()
    if not text or len(text) > NUMBER_MAX_LENGTH:
        raise TransactionInvalidNumberError(f"{label} must be 1-{NUMBER_MAX_LENGTH} characters")
    return text


def clean_type(value: Any, *, allowed: Sequence[str]) -> str:
    text = str(value or "").strip().upper()
    if text not in allowed:
        raise TransactionInvalidTypeError(
            f"Invalid transaction type {value!r}: use one of {', '.join(allowed)}"
        )
    return text


def clean_return_type(value: Any) -> str:
    text = str(value or "").strip().upper()
    if text not in ReturnType.values:
        raise InvalidReturnTypeError(
            f"Invalid returnType {value!r}: use one of {', '.join(ReturnType.values)}"
        )
    return text


def org_aware(moment: datetime, org: Org) -> datetime:
    """Tills send local times without an offset; they are the org's time zone."""
    if timezone.is_naive(moment):
        return timezone.make_aware(moment, org.tzinfo)
    return moment


def _clean_billed_at(billed_at: datetime | None, org: Org) -> datetime | None:
    if billed_at is None:
        return None
    billed_at = org_aware(billed_at, org)
    if billed_at > timezone.now() + FUTURE_BILL_TOLERANCE:
        raise TransactionDateOutOfRangeError(
            f"Billing date {billed_at.isoformat()} is more than one day in the future"
        )
    return billed_at


def clean_idempotency_key(key: str | None) -> str | None:
    key = (key or "").strip()
    if not key:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise TransactionFieldTooLongError(
            f"Idempotency-Key is longer than {IDEMPOTENCY_KEY_MAX_LENGTH} characters"
        )
    return key


def _clean_strings(values: Sequence[Any] | None) -> list[str]:
    return [str(item) for item in (values or []) if str(item).strip()]


def clean_details(details: BillDetails) -> dict[str, Any]:
    """The descriptive bill fields in stored form (Transaction field name to value)."""
    return {
        "currency_code": clean_text(
            details.currency_code, label="currencyCode", max_length=3
        ).upper(),
        "notes": "" if details.notes is None else str(details.notes),
        "delivery_status": clean_text(
            details.delivery_status, label="deliveryStatus", max_length=SHORT_FIELD_MAX_LENGTH
        ).upper(),
        "outlier_status": clean_text(
            details.outlier_status, label="outlierStatus", max_length=SHORT_FIELD_MAX_LENGTH
        ).upper()
        or "NORMAL",
        "payment_modes": list(details.payment_modes or []),
        "extended_fields": dict(details.extended_fields or {}),
        "custom_fields": dict(details.custom_fields or {}),
        "coupon_codes": _clean_strings(details.coupon_codes),
        "points_redemption_ids": [str(item) for item in (details.points_redemption_ids or [])],
        "promotion_evaluation_id": clean_text(
            details.promotion_evaluation_id, label="promotionEvaluationId", max_length=64
        ),
        "applied_promotion_identifiers": _clean_strings(details.applied_promotion_identifiers),
        "loyalty_promotion_identifiers": _clean_strings(details.loyalty_promotion_identifiers),
    }


# Lines ----------------------------------------------------------------------------------------
def _clean_line(line: LineItemInput, index: int) -> CleanLine:
    label = f"Line item {index}"
    item_code = clean_text(
        line.item_code, label=f"{label} itemCode", max_length=ITEM_CODE_MAX_LENGTH
    )
    if not item_code:
        raise TransactionLineItemError(f"{label}: itemCode is required")
    label = f"{label} ({item_code})"
    qty = clean_amount(
        line.qty,
        label=f"{label} qty",
        negative_code=NEGATIVE_QTY_CODE,
        required=True,
        maximum=MAX_QTY,
    )
    assert qty is not None
    if qty == 0:
        raise TransactionInvalidAmountError(f"{label} qty must be more than 0")
    rate = clean_amount(line.rate, label=f"{label} rate", negative_code=NEGATIVE_LINE_RATE_CODE)
    rate = rate if rate is not None else Decimal("0.000")
    value = clean_amount(line.value, label=f"{label} value", negative_code=NEGATIVE_LINE_VALUE_CODE)
    if value is None:
        value = clean_amount(
            (rate * qty).quantize(AMOUNT_QUANTUM),
            label=f"{label} value (rate x qty)",
            negative_code=NEGATIVE_LINE_VALUE_CODE,
        )
    discount = clean_amount(
        line.discount, label=f"{label} discount", negative_code=NEGATIVE_LINE_DISCOUNT_CODE
    )
    discount = discount if discount is not None else Decimal("0.000")
    amount = clean_amount(
        line.amount, label=f"{label} amount", negative_code=NEGATIVE_LINE_AMOUNT_CODE
    )
    if amount is None:
        amount = clean_amount(
            value - discount,
            label=f"{label} amount (value - discount)",
            negative_code=NEGATIVE_LINE_AMOUNT_CODE,
        )
    assert value is not None and amount is not None
    attributes = _clean_mapping(line.attributes, label=f"{label} attributes")
    # Category and brand come as their own fields or as item attributes (POS systems differ).
    category = line.category or attributes.get("category") or ""
    brand = line.brand or attributes.get("brand") or ""
    line_type = str(line.type or "").strip().upper()
    is_return = line_type in RETURN_TYPES
    if line_type and line_type not in {*ADD_TYPES, *RETURN_TYPES}:
        raise TransactionInvalidTypeError(f"{label}: invalid line item type {line.type!r}")
    return CleanLine(
        item_code=item_code,
        qty=qty,
        rate=rate,
        value=value,
        discount=discount,
        amount=amount,
        description=clean_text(
            line.description, label=f"{label} description", max_length=DESCRIPTION_MAX_LENGTH
        ),
        serial=line.serial if line.serial is not None else index,
        category=clean_text(category, label=f"{label} category", max_length=CATEGORY_MAX_LENGTH),
        brand=clean_text(brand, label=f"{label} brand", max_length=CATEGORY_MAX_LENGTH),
        attributes=attributes,
        extended_fields=_clean_mapping(line.extended_fields, label=f"{label} extendedFields"),
        is_return=is_return,
        parent_bill_number=str(line.parent_bill_number or "").strip(),
        return_type=str(line.return_type or "").strip().upper(),
    )


# Bills ----------------------------------------------------------------------------------------
def check_actor(*, org: Org, actor: Till) -> None:
    if actor.org_id != org.pk or actor.store.org_id != org.pk:
        raise TransactionStoreError(
            "Bills are booked on a till and store of the target org; this till belongs to "
            "another org"
        )


def check_customer(*, org: Org, customer: Customer | None, required: bool) -> Customer | None:
    if customer is None:
        if required:
            raise TransactionCustomerMissingError("This transaction type needs a customer")
        return None
    if customer.org_id != org.pk:
        # Another org's customer does not exist for this org.
        raise CustomerNotFoundError()
    return customer


def clean_figures(
    *,
    org: Org,
    bill_amount: Any,
    bill_amount_required: bool,
    gross_amount: Any,
    discount: Any,
    billed_at: datetime | None,
    lines: Sequence[LineItemInput],
) -> BillFigures:
    """Raises 601/627/631/661-666 (amounts), 622/685 (line items) and 643 (date)."""
    return BillFigures(
        bill_amount=clean_amount(
            bill_amount,
            label="Bill amount",
            negative_code=NEGATIVE_BILL_AMOUNT_CODE,
            required=bill_amount_required,
        ),
        gross_amount=clean_amount(
            gross_amount, label="Gross amount", negative_code=NEGATIVE_GROSS_AMOUNT_CODE
        ),
        discount=clean_amount(discount, label="Discount", negative_code=NEGATIVE_DISCOUNT_CODE),
        billed_at=_clean_billed_at(billed_at, org),
        lines=tuple(_clean_line(line, index) for index, line in enumerate(lines, start=1)),
    )


def clean_bill(
    *,
    org: Org,
    type: str,
    number: str,
    source: str,
    customer: Customer | None,
    figures: BillFigures,
    details: BillDetails | None,
    user_group: UserGroupReference | None,
    idempotency_key: str | None,
) -> CleanBill:
    """The last, shared step of cleaning a bill: descriptive fields, user group and
    Idempotency-Key. Raises 685 (too long) and 1632 (user group)."""
    fields = clean_details(details or BillDetails())
    group = user_group_for_transaction(org=org, reference=user_group or UserGroupReference())
    return CleanBill(
        type=type,
        number=number,
        source=source,
        customer=customer,
        figures=figures,
        fields=fields,
        group=group,
        idempotency_key=clean_idempotency_key(idempotency_key),
    )
