"""Cart promotion limits under concurrent checkouts, on PostgreSQL with real threads.

A checkout is what a till does: evaluate the cart (cart_evaluate), then add the bill carrying the
evaluation (transaction_add, which runs the TRANSACTION_ADD_PIPELINE). SQLite serialises writers
and has no row locks, so these tests skip there (postgres_only).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from members.models import Customer
from members.services.transactions import BillDetails, LineItemInput, transaction_add
from promotions.exceptions import CartPromotionLimitReachedError
from promotions.models import CartEvaluation, CartEvaluationPromotion, CartPromotionCounter
from promotions.services.cart import CartInput, CartItemInput, cart_evaluate
from tests.promotions.cart_factories import (  # noqa: F401 (fresh_cart_catalog is autouse)
    amount_off,
    cart_condition,
    expire,
    fresh_cart_catalog,
    make_cart_promotion,
    make_code_promotion,
)

THREADS = 64


def run_pool(threads: int, total: int, work) -> list:
    """Call work(n) for n in 0..total-1 from `threads` threads started together."""
    numbers = itertools.count()
    lock = threading.Lock()
    results: list = [None] * total
    barrier = threading.Barrier(threads)

    def worker() -> None:
        try:
            barrier.wait()
            while True:
                with lock:
                    number = next(numbers)
                if number >= total:
                    return
                try:
                    results[number] = work(number)
                except Exception as exc:  # reported by the assertions
                    results[number] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=600)
    return results


def customers(org, count: int) -> list[Customer]:
    Customer.objects.bulk_create(
        [
            Customer(org=org, mobile=f"9177{number:08d}", registered_at="2024-01-01T00:00:00Z")
            for number in range(count)
        ]
    )
    return list(Customer.objects.filter(org=org).order_by("pk"))


def cart(codes=()) -> CartInput:
    return CartInput(
        amount=Decimal("150"),
        items=(CartItemInput(sku="A", amount=Decimal("150"), qty=Decimal(1)),),
        promo_codes=tuple(codes),
    )


def bill(org, till, customer, number: str, evaluation: CartEvaluation):
    result = evaluation.result
    return transaction_add(
        org=org,
        actor=till,
        customer=customer,
        number=number,
        type="REGULAR",
        bill_amount=Decimal(result["amount"]) - Decimal(result["discount"]),
        billed_at=None,
        lines=[LineItemInput(item_code="A", qty=1, rate=150, amount=150)],
        details=BillDetails(
            promotion_evaluation_id=evaluation.public_id,
            applied_promotion_identifiers=[
                item["identifier"] for item in result["appliedPromotions"]
            ],
        ),
    )


@pytest.mark.django_db(transaction=True)
def test_holiman100_first_thousand_of_five_thousand_checkouts_get_it(org, till, postgres_only):
    # given the influencer code HOLIMAN100, limited to 1,000 redemptions
    promotion, code = make_code_promotion(
        org,
        "HOLIMAN100",
        condition=cart_condition(0),
        action=amount_off(10),
        promotionRestrictions={"Code": [{"kpi": "REDEMPTION", "limit": 1000}]},
    )
    followers = customers(org, 5000)

    # when 5,000 followers check out with it from 64 threads
    def checkout(number: int) -> str:
        follower = followers[number]
        evaluation = cart_evaluate(
            org=org, actor=till, customer=follower, cart=cart(["HOLIMAN100"])
        )
        if not evaluation.result["appliedPromotions"]:
            return evaluation.result["promoCodeEvaluationLogs"][0]["reason"]
        bill(org, till, follower, f"H-{number}", evaluation)
        return "DISCOUNTED"

    outcomes = run_pool(THREADS, 5000, checkout)

    # then exactly 1,000 got the discount and the other 4,000 were told the limit is reached
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert not errors, errors[:3]
    assert Counter(outcomes) == {"DISCOUNTED": 1000, "LIMIT_REACHED": 4000}
    counter = CartPromotionCounter.objects.get(promotion=promotion, scope_key=str(code.pk))
    assert counter.used_redemptions == 1000
    assert CartEvaluationPromotion.objects.filter(code=code, state="USED").count() == 1000
    refused = CartEvaluation.objects.filter(applied__isnull=True, org=org)
    assert refused.count() == 4000
    assert (
        "limit of 1,000 redemptions"
        in refused.first().result["promoCodeEvaluationLogs"][0]["message"]
    )


@pytest.mark.django_db(transaction=True)
def test_a_per_customer_limit_holds_for_concurrent_checkouts_of_one_customer(
    org, till, postgres_only
):
    promotion = make_cart_promotion(
        org,
        condition=cart_condition(0),
        action=amount_off(10),
        promotionRestrictions={"Customer": [{"kpi": "REDEMPTION", "limit": 2}]},
    )
    (shopper,) = customers(org, 1)

    def checkout(number: int) -> bool:
        evaluation = cart_evaluate(org=org, actor=till, customer=shopper, cart=cart())
        if not evaluation.result["appliedPromotions"]:
            return False
        bill(org, till, shopper, f"C-{number}", evaluation)
        return True

    outcomes = run_pool(24, 24, checkout)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert outcomes.count(True) == 2
    counter = CartPromotionCounter.objects.get(promotion=promotion, level="CUSTOMER")
    assert counter.used_redemptions == 2


@pytest.mark.django_db(transaction=True)
def test_bills_with_expired_holds_are_checked_again_one_at_a_time(org, till, postgres_only):
    # given 40 quotes whose holds ran out, for a code limited to 10 redemptions
    promotion, code = make_code_promotion(
        org,
        "TEN",
        condition=cart_condition(0),
        action=amount_off(10),
        promotionRestrictions={"Code": [{"kpi": "REDEMPTION", "limit": 10}]},
    )
    shoppers = customers(org, 40)
    quotes = []
    for batch in range(4):
        for shopper in shoppers[batch * 10 : batch * 10 + 10]:
            quote = cart_evaluate(org=org, actor=till, customer=shopper, cart=cart(["TEN"]))
            assert quote.result["appliedPromotions"]
            quotes.append(quote)
        for quote in quotes[-10:]:
            expire(quote.public_id)

    # when their 40 bills arrive at once
    def pay(number: int) -> bool:
        try:
            bill(org, till, shoppers[number], f"L-{number}", quotes[number])
        except CartPromotionLimitReachedError:
            return False
        return True

    outcomes = run_pool(20, 40, pay)

    # then exactly 10 are taken and the others refused, so the limit holds
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert outcomes.count(True) == 10
    counter = CartPromotionCounter.objects.get(promotion=promotion, scope_key=str(code.pk))
    assert counter.used_redemptions == 10
