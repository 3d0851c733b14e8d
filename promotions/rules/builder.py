"""The admin's condition builder: the common rule conditions as plain fields, written as a rule
tree (and so as `exp` and `expJSON`), and read back from a tree the builder wrote.

    minimum bill amount      bill.amount >= 500
    SKUs / categories / brands in the bill
                             hasSku("A", "B")            (BILL promotions)
                             lineItem.sku in ["A", "B"]  (LINEITEM: only those lines earn)
    stores / zones           store.code in [...] / zone.code in [...]
    tiers                    customer.tier in [...]
    sources                  event.source in [...]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from promotions.rules.nodes import TRUE, Node, conjunction, flatten_and

LINE_FIELDS = {"skus": "sku", "categories": "category", "brands": "brand"}
BILL_FUNCTIONS = {"skus": "hasSku", "categories": "hasCategory", "brands": "hasBrand"}
MEMBERSHIP_FIELDS = {
    "store_codes": "store.code",
    "zone_codes": "zone.code",
    "tiers": "customer.tier",
    "sources": "event.source",
}


@dataclass
class Conditions:
    min_bill_amount: Decimal | None = None
    skus: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    store_codes: list[str] = field(default_factory=list)
    zone_codes: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def _texts(values: list[str]) -> tuple[Node, ...]:
    return tuple(("lit", str(value)) for value in values)


def conditions_to_tree(conditions: Conditions, *, line_level: bool) -> Node:
    """All the set conditions joined with && (`true` when none is set)."""
    parts: list[Node] = []
    if conditions.min_bill_amount is not None:
        parts.append(
            ("cmp", ">=", ("var", "bill.amount"), ("lit", Decimal(conditions.min_bill_amount)))
        )
    for attribute, line_field in LINE_FIELDS.items():
        values = getattr(conditions, attribute)
        if not values:
            continue
        if line_level:
            parts.append(("in", ("var", f"lineItem.{line_field}"), ("list", _texts(values))))
        else:
            parts.append(("call", BILL_FUNCTIONS[attribute], _texts(values)))
    for attribute, name in MEMBERSHIP_FIELDS.items():
        values = getattr(conditions, attribute)
        if values:
            parts.append(("in", ("var", name), ("list", _texts(values))))
    return conjunction(parts)


def _literal_texts(nodes: tuple[Node, ...]) -> list[str] | None:
    if not nodes or any(node[0] != "lit" or not isinstance(node[1], str) for node in nodes):
        return None
    return [node[1] for node in nodes]


def conditions_from_tree(tree: Node) -> Conditions | None:
    """The builder's fields for a tree it could have written; None for any other rule."""
    conditions = Conditions()
    if tree == TRUE:
        return conditions
    seen: set[str] = set()
    by_function = {function: attribute for attribute, function in BILL_FUNCTIONS.items()}
    by_line_field = {f"lineItem.{name}": attribute for attribute, name in LINE_FIELDS.items()}
    by_name = {name: attribute for attribute, name in MEMBERSHIP_FIELDS.items()}
    for part in flatten_and(tree):
        attribute = None
        values = None
        if (
            part[0] == "cmp"
            and part[1] == ">="
            and part[2] == ("var", "bill.amount")
            and part[3][0] == "lit"
            and isinstance(part[3][1], Decimal)
        ):
            attribute = "min_bill_amount"
        elif part[0] == "call" and part[1] in by_function:
            attribute = by_function[part[1]]
            values = _literal_texts(part[2])
        elif part[0] == "in" and part[1][0] == "var" and part[2][0] == "list":
            name = part[1][1]
            attribute = by_line_field.get(name) or by_name.get(name)
            values = _literal_texts(part[2][1])
        if attribute is None or attribute in seen:
            return None
        seen.add(attribute)
        if attribute == "min_bill_amount":
            conditions.min_bill_amount = part[3][1]
        elif values is None:
            return None
        else:
            setattr(conditions, attribute, values)
    return conditions
