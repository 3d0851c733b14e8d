"""Helpers for the cart promotion tests: bodies of the contract's shape, promotions and codes
written through the services, carts, and evaluate / bill calls over the API."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from promotions.models import CartEvaluation, CartEvaluationUsage, CartPromotion, PromoCode
from promotions.services.cart import (
    cart_catalog_clear,
    cart_promotion_create,
    cart_promotion_spec_from_body,
    promo_code_add,
)
from tests.members.factories import CustomerFactory

ENGINE = "/api_gateway/v1/promotions"


@pytest.fixture(autouse=True)
def fresh_cart_catalog():
    """Each test starts without compiled cart catalogs (org ids may repeat across tests)."""
    cart_catalog_clear()
    yield
    cart_catalog_clear()


def epoch_ms(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1000)


def cart_condition(value=100, kpi="SUBTOTAL", operator="GREATER_THAN") -> dict[str, Any]:
    return {"type": "CART", "cartCondition": {"kpi": kpi, "operator": operator, "value": value}}


def product_condition(
    criteria: list[dict[str, Any]], kpi: str = "NONE", value=None, operator=None
) -> dict[str, Any]:
    condition: dict[str, Any] = {"kpi": kpi, "criteriaList": criteria}
    if value is not None:
        condition["value"] = value
    if operator:
        condition["operator"] = operator
    return {"type": "PRODUCT", "productCondition": condition}


def skus(*values: str, entity: str = "SKU") -> list[dict[str, Any]]:
    return [{"entity": entity, "operator": "IN", "values": list(values)}]


def percent_off(value=10) -> dict[str, Any]:
    return {"type": "CART_BASED", "cartBasedAction": {"type": "PERCENTAGE", "value": value}}


def amount_off(value=25) -> dict[str, Any]:
    return {"type": "CART_BASED", "cartBasedAction": {"type": "ABSOLUTE", "value": value}}


def promotion_body(**overrides: Any) -> dict[str, Any]:
    """The seed's ZN34C: 10% off a bill over $100 (a POS promotion unless overridden)."""
    now = timezone.now()
    body = {
        "name": overrides.pop("name", "ZN34C 10% over 100"),
        "type": "POS",
        "messageLabel": "10% off bills over $100",
        "active": True,
        "priority": 0,
        "isStackable": False,
        "startDate": epoch_ms(now - datetime.timedelta(days=1)),
        "endDate": epoch_ms(now + datetime.timedelta(days=30)),
        "mode": "DISCOUNT",
        "condition": cart_condition(100),
        "action": percent_off(10),
    }
    body.update(overrides)
    return body


_names = iter(range(1, 10**9))


def make_cart_promotion(org, **overrides: Any) -> CartPromotion:
    overrides.setdefault("name", f"Cart promotion {next(_names)}")
    spec = cart_promotion_spec_from_body(promotion_body(**overrides))
    return cart_promotion_create(org=org, spec=spec, actor=None)


def make_code_promotion(
    org, code: str = "ZN34C", **overrides: Any
) -> tuple[CartPromotion, PromoCode]:
    overrides.setdefault("type", "CODE")
    promotion = make_cart_promotion(org, **overrides)
    return promotion, promo_code_add(promotion=promotion, code=code)


def customer_of(org, **fields: Any):
    return CustomerFactory(org=org, **fields)


def item(sku: str, amount, qty=1, **extra: Any) -> dict[str, Any]:
    return {"sku": sku, "amount": str(amount), "qty": str(qty), **extra}


def evaluate_body(customer, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    amount = extra.pop(
        "amount", sum(Decimal(str(line["amount"])) * Decimal(str(line["qty"])) for line in items)
    )
    amount = Decimal(str(amount)).quantize(Decimal("0.000001"))
    return {"amount": str(amount), "customerId": customer.pk, "cartItems": items, **extra}


def expire(evaluation_id: str) -> None:
    """Let an evaluation's hold run out."""
    past = timezone.now() - datetime.timedelta(seconds=1)
    CartEvaluation.objects.filter(public_id=evaluation_id).update(expires_at=past)
    CartEvaluationUsage.objects.filter(applied__evaluation__public_id=evaluation_id).update(
        held_until=past
    )


def evaluate(client, customer, items: list[dict[str, Any]], **extra: Any):
    headers = {}
    if "idempotency_key" in extra:
        headers["HTTP_IDEMPOTENCY_KEY"] = extra.pop("idempotency_key")
    return client.post(
        f"{ENGINE}/evaluate", evaluate_body(customer, items, **extra), format="json", **headers
    )


def bill_with(client, customer, number: str, result: dict[str, Any], **extra: Any):
    """Add the bill of an evaluated cart (v2), carrying its evaluation and identifiers."""
    amount = Decimal(result["amount"]) - Decimal(result.get("discount", "0"))
    body = {
        "type": "REGULAR",
        "billNumber": number,
        "billAmount": str(amount),
        "lineItemsV2": [
            {
                "itemCode": line["sku"],
                "qty": str(Decimal(line["qty"])),
                "rate": str(Decimal(line["amount"])),
                "amount": str(Decimal(line["amount"]) * Decimal(line["qty"])),
            }
            for line in result["cartItems"]
        ],
        "promotionEvaluationId": result["evaluationId"],
        "appliedPromotionIdentifiers": extra.pop(
            "identifiers", [item["identifier"] for item in result["appliedPromotions"]]
        ),
        **extra,
    }
    url = f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}"
    return client.post(url, body, format="json")
