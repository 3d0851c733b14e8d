"""The event as the rules see it (the names of promotions.rules.evaluate), built lazily: a part
that no live rule reads (the store, the labels, the line items) is never loaded."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from members.models import (
    Customer,
    CustomerLabel,
    Org,
    Program,
    ProgramEnrollment,
    Store,
    Till,
    Transaction,
    TransactionLineItem,
)
from promotions.rules import RuleContext


class LazyRecord(Mapping):
    """A mapping whose values may be zero-argument loaders, called on first read."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getitem__(self, key: str) -> Any:
        value = self._values[key]
        if callable(value):
            value = value()
            self._values[key] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True)
class TargetInfo:
    """A completed target (TARGETCOMPLETED events)."""

    rule_id: str = ""
    group_id: str = ""
    name: str = ""
    value: Decimal | None = None


@dataclass
class EarningEvent:
    """One event the engine evaluates live promotions against.

    `source_key` names the event for idempotency (one earn per promotion, customer and event);
    `amount` is the value PER_CURRENCY_UNIT / PERCENT awards apply to at bill level.
    """

    event_key: str
    event_name: str
    ledger_event_name: str
    source_key: str
    occurred_at: datetime.datetime
    source: str
    transaction: Transaction | None = None
    till: Till | None = None
    amount: Decimal = Decimal(0)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    target: TargetInfo | None = None
    reports_awards: bool = False


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def line_rows(transaction: Transaction) -> list[dict[str, Any]]:
    """The bill's sold lines as rules read them (one query)."""
    rows = TransactionLineItem.objects.filter(
        transaction=transaction, type=TransactionLineItem.Type.REGULAR
    ).values(
        "id",
        "sku",
        "category",
        "brand",
        "qty",
        "amount",
        "rate",
        "value",
        "discount",
        "description",
        "serial",
    )
    return [{**row} for row in rows]


def _store_roots(store_id: int | None) -> Callable[[], dict[str, Any]]:
    loaded: dict[str, Any] = {}

    def load() -> dict[str, Any]:
        if not loaded:
            store = (
                Store.objects.select_related("zone", "concept").filter(pk=store_id).first()
                if store_id
                else None
            )
            loaded["store"] = (
                {
                    "id": store.pk,
                    "code": store.code,
                    "name": store.name,
                    "externalId": store.external_id,
                }
                if store
                else None
            )
            zone = store.zone if store else None
            concept = store.concept if store else None
            loaded["zone"] = {"code": zone.code, "name": zone.name} if zone else None
            loaded["concept"] = {"code": concept.code, "name": concept.name} if concept else None
        return loaded

    return load


def customer_labels_loader(customer: Customer) -> Callable[[], list[str]]:
    """The customer's label names, read once however many programs ask."""
    cache: list[list[str]] = []

    def load() -> list[str]:
        if not cache:
            cache.append(
                list(
                    CustomerLabel.objects.filter(customers=customer).values_list("name", flat=True)
                )
            )
        return cache[0]

    return load


def base_context(*, customer: Customer, event: EarningEvent, org: Org) -> RuleContext:
    """The roots every promotion of the event shares (customer and program come per program)."""
    tz = org.tzinfo
    local_time = event.occurred_at.astimezone(tz)
    transaction = event.transaction
    till = event.till
    store_id = transaction.store_id if transaction is not None else getattr(till, "store_id", None)
    stores = _store_roots(store_id)
    roots: dict[str, Any] = {
        "event": {
            "name": event.event_name,
            "source": event.source,
            "date": local_time.date(),
            "attributes": dict(event.attributes or {}),
        },
        "store": lambda: stores()["store"],
        "zone": lambda: stores()["zone"],
        "concept": lambda: stores()["concept"],
        "till": (
            {"id": till.pk, "code": till.code, "name": till.name} if till is not None else None
        ),
        "target": (
            {
                "ruleId": event.target.rule_id,
                "groupId": event.target.group_id,
                "name": event.target.name,
                "value": event.target.value,
            }
            if event.target is not None
            else None
        ),
        "lineItem": None,
    }
    lines: Callable[[], list[dict[str, Any]]] | list = []
    if transaction is not None:
        lines_cache: list[list[dict[str, Any]]] = []

        def lines() -> list[dict[str, Any]]:
            if not lines_cache:
                lines_cache.append(line_rows(transaction))
            return lines_cache[0]

        roots["bill"] = LazyRecord(
            {
                "amount": _decimal(transaction.bill_amount),
                "grossAmount": _decimal(transaction.gross_amount),
                "discount": _decimal(transaction.discount),
                "number": transaction.number,
                "type": transaction.type,
                "source": transaction.source,
                "date": transaction.billed_at.astimezone(tz).date(),
                "billedAt": transaction.billed_at,
                "extendedFields": dict(transaction.extended_fields or {}),
                "customFields": dict(transaction.custom_fields or {}),
                "lineItemCount": lambda: len(lines()),
                "quantity": lambda: sum((row["qty"] for row in lines()), Decimal(0)),
            }
        )
    else:
        roots["bill"] = None
    return RuleContext(roots, lines=lines, today=local_time.date())


def customer_root(
    *,
    customer: Customer,
    enrollment: ProgramEnrollment,
    labels: Callable[[], list[str]],
    today: datetime.date,
    org: Org,
) -> LazyRecord:
    registered = customer.registered_at.astimezone(org.tzinfo).date()
    tier = enrollment.tier
    return LazyRecord(
        {
            "id": customer.pk,
            "tier": tier.name if tier else None,
            "tierNumber": Decimal(tier.number) if tier else None,
            "labels": labels,
            "registrationDate": registered,
            "registeredAt": customer.registered_at,
            "source": customer.registration_source,
            "loyaltyType": customer.loyalty_type,
            "lifetimePurchases": _decimal(customer.lifetime_purchases),
            "daysSinceRegistration": Decimal((today - registered).days),
        }
    )


def program_context(base: RuleContext, *, program: Program, customer: LazyRecord) -> RuleContext:
    return base.with_roots(program={"id": program.pk, "name": program.name}, customer=customer)
