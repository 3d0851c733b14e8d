"""The cart promotion engine as a pure function: the seed's kinds (combo, fixed amount off, free
product, bundled pricing, ZN34C), stacking on the right base, caps and the org's ranking."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from promotions.models import CartPromotion
from promotions.services.cart.catalog import cart_promotion_compile
from promotions.services.cart.engine import (
    COMBINED_CAP_REACHED,
    CONDITION_NOT_MET,
    CONDITION_NOT_MET_AFTER_DISCOUNTS,
    NOT_STACKABLE,
    Candidate,
    Cart,
    CartTender,
    RankingSettings,
    cart_line,
    cart_promotions_apply,
)
from promotions.services.cart.specs import cart_promotion_spec_from_body
from tests.promotions.cart_factories import (
    amount_off,
    cart_condition,
    percent_off,
    product_condition,
    promotion_body,
    skus,
)

_ids = iter(range(1, 10**6))


def compiled(**overrides: Any):
    """A compiled promotion from a contract body, without the database."""
    spec = cart_promotion_spec_from_body(promotion_body(**overrides))
    number = next(_ids)
    promotion = CartPromotion(
        pk=number,
        public_id=f"{number:024x}",
        org_id=1,
        **{
            name: getattr(spec, name)
            for name in (
                "name",
                "type",
                "message_label",
                "is_active",
                "starts_at",
                "ends_at",
                "condition",
                "action",
                "priority",
                "is_stackable",
                "mode",
                "is_loyalty_only",
                "customer_activation_required",
                "restrictions",
            )
        },
    )
    return cart_promotion_compile(promotion)


def cart(*lines: tuple, amount=None, tenders=()) -> Cart:
    built = tuple(
        cart_line(
            index=index,
            reference_id=f"ref-{index}",
            sku=sku,
            unit_amount=Decimal(str(price)),
            qty=Decimal(str(qty)),
            **(extra[0] if extra else {}),
        )
        for index, (sku, price, qty, *extra) in enumerate(lines)
    )
    total = sum((line.total for line in built), Decimal(0))
    return Cart(
        amount=Decimal(str(amount)) if amount is not None else total,
        lines=built,
        tenders=tuple(CartTender(name, Decimal(str(value))) for name, value in tenders),
    )


def run(the_cart: Cart, *promotions, settings: RankingSettings | None = None, **candidate):
    return cart_promotions_apply(
        cart=the_cart,
        candidates=[Candidate(promotion=p, **candidate) for p in promotions],
        settings=settings or RankingSettings(),
    )


def test_zn34c_ten_percent_off_a_bill_over_100():
    promotion = compiled()

    over = run(cart(("A", "60.00", 1), ("B", "45.50", 1)), promotion)
    under = run(cart(("A", "60.00", 1), ("B", "40.00", 1)), promotion)

    assert over.discount == Decimal("10.55")
    assert over.line_discounts == {0: Decimal("6.00"), 1: Decimal("4.55")}
    assert under.applied == [] and under.not_applied[0].reason == CONDITION_NOT_MET


def test_fixed_amount_off_is_split_by_line_amount_in_cents_and_adds_up():
    promotion = compiled(condition=cart_condition(0), action=amount_off(10))

    result = run(cart(("A", "1.00", 1), ("B", "1.00", 1), ("C", "1.00", 1)), promotion)

    assert result.discount == Decimal("3.00")  # never more than the cart
    result = run(cart(("A", "10.00", 1), ("B", "10.00", 1), ("C", "10.00", 1)), promotion)
    assert sorted(result.line_discounts.values()) == [
        Decimal("3.33"),
        Decimal("3.33"),
        Decimal("3.34"),
    ]
    assert result.discount == Decimal("10.00")


def test_combo_needs_every_product_condition():
    combo = {
        "type": "COMBO_PRODUCT",
        "comboProductCondition": {
            "productConditions": [
                {"kpi": "QUANTITY", "value": 1, "criteriaList": skus("BURGER")},
                {"kpi": "QUANTITY", "value": 1, "criteriaList": skus("FRIES")},
            ]
        },
    }
    promotion = compiled(
        condition=combo,
        action={
            "type": "PRODUCT_BASED",
            "productBasedAction": {"type": "ABSOLUTE", "value": 2},
        },
    )

    both = run(cart(("BURGER", 5, 1), ("FRIES", 3, 1), ("COLA", 2, 1)), promotion)
    one = run(cart(("BURGER", 5, 1), ("COLA", 2, 1)), promotion)

    assert both.discount == Decimal("2.00")
    assert set(both.line_discounts) == {0, 1}  # the cola is not part of the combo
    assert one.applied == []


def test_buy_two_get_one_free_gives_the_cheapest_unit_of_each_three():
    promotion = compiled(
        condition=product_condition(skus("shirts", entity="CATEGORY"), kpi="QUANTITY", value=3),
        action={"type": "FREE_PRODUCT", "productBasedAction": {"value": 1}},
    )
    shirts = {"categories": ["Shirts"]}

    result = run(
        cart(("S1", 30, 2, shirts), ("S2", 20, 3, shirts), ("S3", 10, 1, shirts)), promotion
    )

    # units 30 30 20 | 20 20 10: the cheapest of each three is free
    assert result.applied[0].redemptions == 2
    assert result.discount == Decimal("30.00")
    assert result.line_discounts == {1: Decimal("20.00"), 2: Decimal("10.00")}


def test_buy_one_get_another_item_free_takes_the_cheapest_target():
    promotion = compiled(
        condition=product_condition(skus("COFFEE"), kpi="QUANTITY", value=1),
        action={
            "type": "FREE_PRODUCT",
            "productBasedAction": {
                "value": 1,
                "includeItemsFromConditionSet": False,
                "productBasedCondition": {"criteriaList": skus("cookie", entity="TAG")},
            },
        },
    )
    cookies = {"tags": ["cookie"]}

    result = run(
        cart(("COFFEE", 4, 1), ("C1", "2.50", 1, cookies), ("C2", 2, 1, cookies)), promotion
    )

    assert result.line_discounts == {2: Decimal("2.00")}


def test_bundled_pricing_three_for_fifty():
    promotion = compiled(
        condition=product_condition(skus("TEE"), kpi="QUANTITY", value=3),
        action={"type": "FIXED_PRICE", "productBasedAction": {"value": 50}},
    )

    result = run(cart(("TEE", 20, 7)), promotion)

    # two bundles of three at 60 cost 50 each; the seventh tee is full price
    assert result.applied[0].redemptions == 2
    assert result.discount == Decimal("20.00")


def test_per_unit_and_product_based_percentage_by_brand_and_attribute():
    per_unit = compiled(
        name="per unit",
        isStackable=True,
        condition=product_condition(skus("acme", entity="BRAND")),
        action={"type": "PER_UNIT", "productBasedAction": {"value": "0.50"}},
    )
    red = compiled(
        name="red",
        isStackable=True,
        condition=product_condition(
            [{"entity": "ATTRIBUTE", "attributeName": "color", "values": ["red"]}]
        ),
        action={"type": "PRODUCT_BASED", "productBasedAction": {"type": "PERCENTAGE", "value": 50}},
    )
    the_cart = cart(
        ("A", "3.00", 4, {"brands": ["ACME"], "attributes": {"Color": "Red"}}),
        ("B", "5.00", 1, {"attributes": {"color": "blue"}}),
    )

    result = run(the_cart, per_unit, red)

    # 4 x 0.50 off line A first (priority tie: id), then 50% of what is left of it (10.00)
    assert [a.discount for a in result.applied] == [Decimal("2.00"), Decimal("5.00")]
    assert 1 not in result.line_discounts


def test_tender_condition_discounts_within_the_tender_amount():
    promotion = compiled(
        condition={
            "type": "TENDER",
            "tenderCondition": {"type": "CARD", "identifier": "CreditCard"},
        },
        action={"type": "TENDER", "tenderBasedAction": {"type": "PERCENTAGE", "value": 10}},
    )

    paid = run(cart(("A", 200, 1), tenders=[("creditcard", 50)]), promotion)
    cash = run(cart(("A", 200, 1), tenders=[("CASH", 200)]), promotion)

    assert paid.discount == Decimal("5.00") and paid.applied[0].tender_identifier == "creditcard"
    assert cash.applied == []


def test_stacking_uses_what_earlier_promotions_left():
    first = compiled(
        name="20 off",
        isStackable=True,
        priority=1,
        condition=cart_condition(0),
        action=amount_off(20),
    )
    min_spend = compiled(
        name="10% over 100", isStackable=True, priority=2, condition=cart_condition(100)
    )
    percent = compiled(
        name="10% over 50",
        isStackable=True,
        priority=2,
        condition=cart_condition(50),
        action=percent_off(10),
    )

    lost = run(cart(("A", 110, 1)), first, min_spend)
    kept = run(cart(("A", 110, 1)), first, percent)

    assert lost.discount == Decimal("20.00")
    assert lost.not_applied[0].reason == CONDITION_NOT_MET_AFTER_DISCOUNTS
    assert [a.discount for a in kept.applied] == [Decimal("20.00"), Decimal("9.00")]  # 10% of 90


def test_a_non_stackable_promotion_stands_alone():
    exclusive = compiled(name="exclusive", priority=1, condition=cart_condition(0))
    other = compiled(name="other", isStackable=True, priority=2, condition=cart_condition(0))

    result = run(cart(("A", 100, 1)), other, exclusive)

    assert [a.promotion.name for a in result.applied] == ["exclusive"]
    assert result.not_applied[0].reason == NOT_STACKABLE


def test_discounts_never_exceed_a_line_and_the_combined_cap_holds():
    big = compiled(
        name="big",
        isStackable=True,
        condition=product_condition(skus("A")),
        action={"type": "PRODUCT_BASED", "productBasedAction": {"type": "ABSOLUTE", "value": 500}},
    )
    more = compiled(
        name="more",
        isStackable=True,
        priority=5,
        condition=cart_condition(0),
        action=amount_off(500),
    )

    result = run(cart(("A", 30, 1), ("B", 70, 1)), big, more)
    capped = run(
        cart(("A", 30, 1), ("B", 70, 1)),
        big,
        more,
        settings=RankingSettings(max_combined_discount_percent=Decimal(40)),
    )

    assert result.line_discounts == {0: Decimal("30.00"), 1: Decimal("70.00")}
    assert capped.discount == Decimal("40.00")
    assert capped.not_applied[0].reason == COMBINED_CAP_REACHED


def test_cart_level_restrictions_cap_redemptions_and_discount():
    promotion = compiled(
        condition=product_condition(skus("TEE"), kpi="QUANTITY", value=3),
        action={"type": "FIXED_PRICE", "productBasedAction": {"value": 50}},
        promotionRestrictions={"Cart": [{"kpi": "REDEMPTION", "limit": 1}]},
    )
    capped = compiled(
        condition=cart_condition(0),
        action=percent_off(50),
        promotionRestrictions={"Cart": [{"kpi": "DISCOUNT", "limit": 15}]},
    )

    assert run(cart(("TEE", 20, 9)), promotion).applied[0].redemptions == 1
    assert run(cart(("A", 100, 1)), capped).discount == Decimal("15.00")
    # what a usage limit leaves is a cap too
    uncapped = dataclasses.replace(promotion, cart_max_redemptions=None)
    assert run(cart(("TEE", 20, 9)), uncapped, max_redemptions=2).applied[0].redemptions == 2


def test_ranking_strategies_pick_the_order():
    soon = compiled(
        name="soon",
        priority=9,
        endDate=int((timezone.now() + datetime.timedelta(days=2)).timestamp() * 1000),
        condition=cart_condition(0),
        action=amount_off(5),
    )
    rich = compiled(name="rich", priority=5, condition=cart_condition(0), action=amount_off(30))
    first = compiled(name="first", priority=1, condition=cart_condition(0), action=amount_off(10))
    the_cart = cart(("A", 100, 1))

    def winner(strategy: str) -> str:
        settings = RankingSettings(promotion_ranking=strategy)
        return run(the_cart, soon, rich, first, settings=settings).applied[0].promotion.name

    assert winner("PRIORITY") == "first"
    assert winner("MAX_DISCOUNT") == "rich"
    assert winner("EXPIRY_BASED") == "soon"


def test_condition_ranking_and_single_promotion_per_line():
    cart_level = compiled(
        name="cart",
        isStackable=True,
        priority=5,
        condition=cart_condition(0),
        action=percent_off(10),
    )
    line_level = compiled(
        name="line",
        isStackable=True,
        priority=1,
        condition=product_condition(skus("A")),
        action={"type": "PRODUCT_BASED", "productBasedAction": {"type": "ABSOLUTE", "value": 5}},
    )
    the_cart = cart(("A", 50, 1), ("B", 50, 1))

    cart_first = run(the_cart, cart_level, line_level)
    line_first = run(
        the_cart,
        cart_level,
        line_level,
        settings=RankingSettings(condition_ranking="LINE_ITEM_BASED_FIRST"),
    )
    single = run(
        the_cart,
        cart_level,
        line_level,
        settings=RankingSettings(
            condition_ranking="LINE_ITEM_BASED_FIRST", single_promotion_per_line_item=True
        ),
    )

    assert [a.promotion.name for a in cart_first.applied] == ["cart", "line"]
    assert [a.promotion.name for a in line_first.applied] == ["line", "cart"]
    # the line promotion took line A; the cart promotion may only discount line B
    assert single.applied[1].line_discounts == {1: Decimal("5.00")}


def test_the_same_cart_gives_the_same_answer():
    promotions = [
        compiled(
            name=f"p{n}",
            isStackable=True,
            priority=n % 3,
            condition=cart_condition(0),
            action=amount_off(n + 1),
        )
        for n in range(6)
    ]
    the_cart = cart(("A", 10, 3), ("B", 7, 2))

    answers = {
        tuple((a.promotion.name, a.discount) for a in run(the_cart, *order).applied)
        for order in (promotions, list(reversed(promotions)))
    }

    assert len(answers) == 1


def test_indexed_line_matching_agrees_with_each_criterion():
    # Given random carts and criteria sets (IN / NOT_IN on every key entity and attributes)
    import random

    from promotions.services.cart.engine import Criterion, _State

    chooser = random.Random(7)
    words = [f"k{number}" for number in range(12)]

    def criterion() -> Criterion:
        entity = chooser.choice(["SKU", "CATEGORY", "BRAND", "TAG", "ATTRIBUTE"])
        return Criterion(
            entity=entity,
            include=chooser.random() < 0.7,
            values=frozenset(chooser.sample(words, chooser.randint(1, 6))),
            attribute="color" if entity == "ATTRIBUTE" else "",
        )

    for _ in range(200):
        lines = tuple(
            cart_line(
                index=index,
                reference_id=str(index),
                sku=chooser.choice(words),
                unit_amount=Decimal(10),
                qty=Decimal(1),
                categories=chooser.sample(words, chooser.randint(0, 3)),
                brands=chooser.sample(words, chooser.randint(0, 1)),
                tags=chooser.sample(words, chooser.randint(0, 2)),
                attributes={"color": chooser.choice(words)} if chooser.random() < 0.8 else {},
            )
            for index in range(chooser.randint(1, 8))
        )
        state = _State(Cart(amount=Decimal(0), lines=lines), RankingSettings())
        for _ in range(10):
            criteria = tuple(criterion() for _ in range(chooser.randint(0, 3)))

            # When the engine matches them through its index
            found = state.matching(criteria)

            # Then it finds exactly the lines each criterion matches, in cart order
            assert found == tuple(
                line for line in lines if all(item.matches(line) for item in criteria)
            )
