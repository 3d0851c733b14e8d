"""Cart evaluation: a 20-line cart against 250 live cart promotions, in-process (target: p99
under 20 ms).

The org runs the contract's cap of 250 active promotions, a mix of every condition and action
(cart minimum spends, category / brand / SKU / attribute product conditions, combos, tenders;
percentage, amount, per-unit, bundle price, free product), a third of them stackable, a few with
usage limits, and CODE promotions whose codes the carts bring. Each sample is a fresh random
20-line cart (seeded, so runs compare) of which some dozen promotions match.

Two measures, one client, one after the other (each reported as its own p50 / p99 figures):
- `cart_evaluate`: the whole service, what the evaluate API runs after parsing: the catalog token
  read, code lookups, locking and reading the limited promotions' counters, the pure engine, and
  storing the quote with its holds (the p99 target applies here);
- the pure engine alone on the same carts (promotions.services.cart.engine), also shown as the
  reference of the first: the rest of the cost is the database (round trips counted in the
  details, on one sample evaluated before the timed ones).
"""

from __future__ import annotations

import datetime
import random
import time
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.context import ScenarioContext
from bench.data import BenchOrg, customers_create
from bench.registry import Scenario, scenario
from members.models import Customer
from promotions.models import CartEvaluation, CartPromotion
from promotions.services.cart import (
    CartInput,
    CartItemInput,
    CartTenderInput,
    cart_evaluate,
    cart_promotion_create,
    cart_promotion_spec_from_body,
    promo_code_add,
)
from promotions.services.cart.catalog import cart_catalog_get
from promotions.services.cart.engine import Candidate, cart_promotions_apply
from promotions.services.cart.evaluation import engine_cart_of

PROMOTIONS = 250
CART_LINES = 20
TARGET_P99_MS = 20.0
RANDOM_SEED = 20260611
CATEGORIES = [f"cat-{number}" for number in range(40)]
BRANDS = [f"brand-{number}" for number in range(25)]
SKUS = [f"sku-{number}" for number in range(400)]
CODES = [f"BENCH{number}" for number in range(10)]
CODE_PROMOTION_NAME = "Bench code promotion"


@scenario
class CartEvaluationBench(Scenario):
    name = "cart_evaluation"
    title = "Cart evaluation: 20-line cart against 250 live promotions, in-process"
    order = 80
    sizes = {
        "small": {"samples": 300, "warmup": 30, "customers": 100},
        "medium": {"samples": 1_000, "warmup": 100, "customers": 1_000},
        "default": {"samples": 3_000, "warmup": 200, "customers": 1_000},
    }

    def run(self, ctx: ScenarioContext) -> None:
        sizes = ctx.sizes
        bench = ctx.org("cart evaluation")
        with ctx.timed("promotions"):
            _promotions(bench)
        with ctx.timed("customers"):
            customers_create(bench, count=sizes["customers"])
        customers = list(Customer.objects.filter(org=bench.org).order_by("pk"))
        chooser = random.Random(RANDOM_SEED)
        total = sizes["warmup"] + sizes["samples"]
        carts = [_cart(chooser) for _ in range(total)]
        shoppers = [chooser.choice(customers) for _ in range(total)]
        catalog = cart_catalog_get(bench.org.pk)
        ctx.check(
            "250 live promotions in the catalog",
            len(catalog.live(timezone.now())) == PROMOTIONS,
            f"{len(catalog.live(timezone.now()))} live",
        )

        service_ms: list[float] = []
        applied: list[int] = []
        discount_ok = True
        statements: list[str] = []
        for number, (cart, shopper) in enumerate(zip(carts, shoppers, strict=True)):
            started = time.perf_counter()
            if number == 0:
                # The first warm-up sample (never timed) counts the round trips.
                with CaptureQueriesContext(connection) as captured:
                    evaluation = cart_evaluate(
                        org=bench.org, actor=bench.till, customer=shopper, cart=cart
                    )
                statements = [query["sql"].split(None, 1)[0] for query in captured]
            else:
                evaluation = cart_evaluate(
                    org=bench.org, actor=bench.till, customer=shopper, cart=cart
                )
            elapsed = (time.perf_counter() - started) * 1000
            if number >= sizes["warmup"]:
                service_ms.append(elapsed)
                applied.append(len(evaluation.result["appliedPromotions"]))
            discount_ok &= Decimal(0) <= evaluation.discount <= cart.amount

        engine_ms: list[float] = []
        settings = catalog.settings
        code_promotion = {
            code: promotion.id
            for promotion in catalog.promotions
            for code in CODES
            if promotion.name == f"{CODE_PROMOTION_NAME} {code}"
        }
        for number, cart in enumerate(carts):
            engine_cart = engine_cart_of(cart, [str(index) for index in range(len(cart.items))])
            started = time.perf_counter()
            candidates = [
                Candidate(promotion=promotion)
                for promotion in catalog.live(timezone.now())
                if promotion.type != "CODE" or promotion.id == code_promotion[cart.promo_codes[0]]
            ]
            cart_promotions_apply(cart=engine_cart, candidates=candidates, settings=settings)
            if number >= sizes["warmup"]:
                engine_ms.append((time.perf_counter() - started) * 1000)

        ctx.latency(
            "cart_evaluate, 1 client",
            service_ms,
            reference_ms=engine_ms,
            reference_name="pure engine on the same carts",
            target_p99_ms=TARGET_P99_MS,
        )
        ctx.latency("pure engine alone (no database), 1 client", engine_ms)
        assert sizes["warmup"] > 0, "the round trips are counted on a warm-up sample"
        ctx.detail("round trips per evaluation (first sample)", len(statements))
        ctx.detail("statements of the first evaluation", " ".join(statements))
        ctx.detail("promotions applied per cart (mean)", round(sum(applied) / len(applied), 2))
        ctx.result.parameters.update(promotions=PROMOTIONS, cart_lines=CART_LINES)
        stored = CartEvaluation.objects.filter(org=bench.org).count()
        ctx.check("every evaluation stored once", stored == total, f"{stored} of {total}")
        ctx.check("discounts within each cart's amount", discount_ok)
        ctx.check("promotions apply to the carts", sum(applied) > 0, f"{sum(applied)} applications")


def _cart(chooser: random.Random) -> CartInput:
    items = []
    for _ in range(CART_LINES):
        price = Decimal(chooser.randrange(100, 20_000)) / 100
        items.append(
            CartItemInput(
                sku=chooser.choice(SKUS),
                amount=price,
                qty=Decimal(chooser.choice((1, 1, 1, 2, 3))),
                categories=(chooser.choice(CATEGORIES), chooser.choice(CATEGORIES)),
                brands=(chooser.choice(BRANDS),),
                attributes={"color": chooser.choice(("red", "blue", "green"))},
            )
        )
    amount = sum((item.amount * item.qty for item in items), Decimal(0))
    return CartInput(
        amount=amount,
        items=tuple(items),
        tenders=(CartTenderInput("CreditCard", (amount / 2).quantize(Decimal("0.01"))),),
        promo_codes=(chooser.choice(CODES),),
    )


def _body(number: int, chooser: random.Random, now: datetime.datetime) -> dict[str, Any]:
    kind = number % 10
    category = {"entity": "CATEGORY", "values": chooser.sample(CATEGORIES, 2)}
    brand = {"entity": "BRAND", "values": [chooser.choice(BRANDS)]}
    percent = {"type": "CART_BASED", "cartBasedAction": {"type": "PERCENTAGE", "value": 5}}
    if kind == 0:
        condition = {
            "type": "CART",
            "cartCondition": {"kpi": "SUBTOTAL", "operator": "GREATER_THAN", "value": 500 + number},
        }
        action = percent
    elif kind == 1:
        condition = {
            "type": "PRODUCT",
            "productCondition": {"kpi": "AMOUNT", "value": 50, "criteriaList": [category]},
        }
        action = {
            "type": "PRODUCT_BASED",
            "productBasedAction": {"type": "PERCENTAGE", "value": 10},
        }
    elif kind == 2:
        condition = {
            "type": "PRODUCT",
            "productCondition": {"kpi": "QUANTITY", "value": 3, "criteriaList": [brand]},
        }
        action = {"type": "FIXED_PRICE", "productBasedAction": {"value": 99}}
    elif kind == 3:
        condition = {
            "type": "PRODUCT",
            "productCondition": {"kpi": "QUANTITY", "value": 3, "criteriaList": [category]},
        }
        action = {"type": "FREE_PRODUCT", "productBasedAction": {"value": 1}}
    elif kind == 4:
        condition = {
            "type": "PRODUCT",
            "productCondition": {
                "kpi": "NONE",
                "criteriaList": [{"entity": "SKU", "values": chooser.sample(SKUS, 20)}],
            },
        }
        action = {"type": "PER_UNIT", "productBasedAction": {"value": 1}}
    elif kind == 5:
        condition = {
            "type": "COMBO_PRODUCT",
            "comboProductCondition": {
                "productConditions": [
                    {"kpi": "NONE", "criteriaList": [category]},
                    {"kpi": "NONE", "criteriaList": [brand]},
                ]
            },
        }
        action = {"type": "CART_BASED", "cartBasedAction": {"type": "ABSOLUTE", "value": 15}}
    elif kind == 6:
        condition = {
            "type": "TENDER",
            "tenderCondition": {"type": "CARD", "identifier": "CreditCard"},
        }
        action = {"type": "TENDER", "tenderBasedAction": {"type": "PERCENTAGE", "value": 2}}
    elif kind == 7:
        condition = {
            "type": "PRODUCT",
            "productCondition": {
                "kpi": "NONE",
                "criteriaList": [
                    {"entity": "ATTRIBUTE", "attributeName": "color", "values": ["red"]},
                    category,
                ],
            },
        }
        action = {"type": "PRODUCT_BASED", "productBasedAction": {"type": "ABSOLUTE", "value": 5}}
    else:
        condition = {
            "type": "PRODUCT",
            "productCondition": {"kpi": "AMOUNT", "value": 100, "criteriaList": [brand]},
        }
        action = percent
    body: dict[str, Any] = {
        "name": f"Bench cart promotion {number}",
        "type": "POS",
        "messageLabel": f"Bench {number}",
        "active": True,
        "priority": number % 7,
        "isStackable": number % 3 == 0,
        "startDate": int((now - datetime.timedelta(days=1)).timestamp() * 1000),
        "endDate": int((now + datetime.timedelta(days=30 + number)).timestamp() * 1000),
        "condition": condition,
        "action": action,
    }
    if number % 25 == 0:
        body["promotionRestrictions"] = {"Promotion": [{"kpi": "REDEMPTION", "limit": 1_000_000}]}
    if number < len(CODES):
        body["type"] = "CODE"
        body["name"] = f"{CODE_PROMOTION_NAME} {CODES[number]}"
        body["promotionRestrictions"] = {"Code": [{"kpi": "REDEMPTION", "limit": 1_000_000}]}
    return body


def _promotions(bench: BenchOrg) -> None:
    chooser = random.Random(RANDOM_SEED + 1)
    now = timezone.now()
    for number in range(PROMOTIONS):
        spec = cart_promotion_spec_from_body(_body(number, chooser, now))
        promotion = cart_promotion_create(org=bench.org, spec=spec, actor=None)
        if promotion.type == "CODE":
            promo_code_add(promotion=promotion, code=CODES[number])
    assert CartPromotion.objects.filter(org=bench.org, is_active=True).count() == PROMOTIONS
