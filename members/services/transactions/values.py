"""The value objects of the bill flows: what a till sends (LineItemInput, BillDetails, BillInput,
CustomerIdentity), its cleaned form (CleanLine, BillFigures, CleanBill) and the outcome
(TransactionResult)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from members.models import Customer, Transaction, TransactionLineItem, UserGroup
from members.selectors.transactions import UserGroupReference
from members.services.pipeline import SideEffect


# What a till sends ----------------------------------------------------------------------------
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
class BillDetails:
    """The descriptive fields of a bill (payments, coupons, promotions, statuses), the same for
    adds and returns; stored on the Transaction and part of the request fingerprint."""

    currency_code: str = ""
    notes: str = ""
    delivery_status: str = ""
    outlier_status: str = ""
    payment_modes: Sequence[Any] | None = ()
    extended_fields: Mapping[str, Any] | None = field(default_factory=dict)
    custom_fields: Mapping[str, Any] | None = field(default_factory=dict)
    coupon_codes: Sequence[Any] | None = ()
    points_redemption_ids: Sequence[Any] | None = ()
    promotion_evaluation_id: str = ""
    applied_promotion_identifiers: Sequence[str] | None = ()
    loyalty_promotion_identifiers: Sequence[str] | None = ()


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
    details: BillDetails = field(default_factory=BillDetails)
    user_group: UserGroupReference | None = None


# Cleaned -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CleanLine:
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


@dataclass(frozen=True)
class BillFigures:
    """A bill's amounts, billing time (None: now) and lines, validated."""

    bill_amount: Decimal | None
    gross_amount: Decimal | None
    discount: Decimal | None
    billed_at: datetime | None
    lines: tuple[CleanLine, ...]


@dataclass(frozen=True)
class CleanBill:
    """A validated bill, ready to book: what adds and returns store and fingerprint alike.
    `fields` are the BillDetails in stored form."""

    type: str
    number: str
    source: str
    customer: Customer | None
    figures: BillFigures
    fields: dict[str, Any]
    group: UserGroup | None
    idempotency_key: str | None


# Outcome ---------------------------------------------------------------------------------------
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
