"""Evaluating carts over the API and what the bill, cancel, expiry and return do to usage."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from members.models import LoyaltyType, Transaction
from promotions.models import (
    CartEvaluation,
    CartEvaluationPromotion,
    CartPromotionCounter,
    PromoCodeLink,
)
from promotions.services.cart import cart_promotion_set_active
from tests.promotions.cart_factories import (  # noqa: F401 (fresh_cart_catalog is autouse)
    ENGINE,
    amount_off,
    bill_with,
    cart_condition,
    customer_of,
    evaluate,
    expire,
    fresh_cart_catalog,
    item,
    make_cart_promotion,
    make_code_promotion,
    promotion_body,
)

LIMIT_ONE_PER_CODE = {"Code": [{"kpi": "REDEMPTION", "limit": 1}]}


def used(promotion, level="CODE") -> int:
    return sum(
        CartPromotionCounter.objects.filter(promotion=promotion, level=level).values_list(
            "used_redemptions", flat=True
        )
    )


def data(response) -> dict:
    assert response.status_code == 200, response.json()
    return response.json()["data"]


@pytest.mark.django_db
def test_the_answer_follows_the_contract(api_client, org):
    # given ZN34C, 10% off bills over $100, and a cart of 110 paid partly by card
    promotion = make_cart_promotion(org)
    customer = customer_of(org)

    result = data(
        evaluate(
            api_client,
            customer,
            [item("Sku#Fuel", "60.00", "1.000000", categoryList=["Fuel"]), item("Sku#food", 25, 2)],
            cartTenders=[{"identifier": "CreditCard", "amount": "50.00"}],
        )
    )

    assert result["amount"] == "110.000000" and result["customerId"] == customer.pk
    assert len(result["evaluationId"]) == 24
    assert [line["discount"] for line in result["cartItems"]] == ["6.000000", "5.000000"]
    assert result["cartItems"][1]["qty"] == "2.000000"
    applied = result["appliedPromotions"][0]
    assert applied["promotionId"] == promotion.public_id and applied["discount"] == "11.000000"
    assert applied["redemptionCount"] == 1 and applied["promotionMode"] == "DISCOUNT"
    identifier = json.loads(base64.b64decode(applied["identifier"]))
    assert identifier == {
        "promotionId": promotion.public_id,
        "discount": "11.000000",
        "amount": "110.000000",
        "redemptionCount": 1,
        "evaluationId": result["evaluationId"],
        "version": "v1",
    }
    # the card pays what it was given, cash the rest of 110 - 11
    assert [(t["identifier"], t["adjustedAmount"]) for t in result["cartTenders"]] == [
        ("CreditCard", "50.00"),
        ("CASH", "49.000000"),
    ]
    assert result["promoCodeEvaluationLogs"] == []


@pytest.mark.django_db
def test_bad_bodies_are_engine_errors(api_client, org, other_org):
    stranger = customer_of(other_org)

    empty = api_client.post(f"{ENGINE}/evaluate", {"amount": 1, "customerId": 1}, format="json")
    foreign = evaluate(api_client, stranger, [item("A", 1)])
    negative = evaluate(api_client, customer_of(org), [item("A", -1)])

    assert empty.status_code == 400 and "cartItems" in empty.json()["message"]
    assert foreign.status_code == 404 and foreign.json()["errorDetails"][0]["code"] == 8015
    assert negative.status_code == 400
    assert CartEvaluation.objects.count() == 0


@pytest.mark.django_db
def test_every_code_that_did_not_apply_says_why(api_client, org):
    make_code_promotion(org, "BIG100", condition=cart_condition(1000))
    make_code_promotion(org, "LOYAL5", name="loyal", isLoyaltyOnly=True, action=amount_off(5))
    ended, _ = make_code_promotion(org, "OLD", name="old")
    cart_promotion_set_active(promotion=ended, is_active=False, actor=None)
    make_code_promotion(org, "ZN34C", name="zn34c")
    shopper = customer_of(org, loyalty_type=LoyaltyType.NON_LOYALTY)

    result = data(
        evaluate(
            api_client,
            shopper,
            [item("A", 150)],
            promoCodes=["big100", "LOYAL5", "OLD", "NOPE", "ZN34C"],
        )
    )

    reasons = {log["code"]: log["reason"] for log in result["promoCodeEvaluationLogs"]}
    assert reasons == {
        "BIG100": "CONDITION_NOT_MET",
        "LOYAL5": "LOYALTY_ONLY",
        "OLD": "PROMOTION_NOT_LIVE",
        "NOPE": "CODE_NOT_FOUND",
    }
    # codes work for non-loyalty customers: ZN34C applied
    assert [a["code"] for a in result["appliedPromotions"]] == ["ZN34C"]
    assert result["discount"] == "15.000000"


@pytest.mark.django_db
def test_a_code_promotion_needs_its_code(api_client, org):
    make_code_promotion(org, "ZN34C")
    customer = customer_of(org)

    without = data(evaluate(api_client, customer, [item("A", 150)]))
    with_code = data(evaluate(api_client, customer, [item("A", 150)], promoCodes=["ZN34C"]))

    assert without["appliedPromotions"] == []
    assert with_code["appliedPromotions"][0]["code"] == "ZN34C"


@pytest.mark.django_db
def test_an_abandoned_cart_consumes_nothing_and_the_bill_counts_usage(api_client, org):
    promotion, code = make_code_promotion(
        org, "ONCE", promotionRestrictions={"Code": [{"kpi": "REDEMPTION", "limit": 2}]}
    )
    customer = customer_of(org)

    quote = data(evaluate(api_client, customer, [item("A", 150)], promoCodes=["ONCE"]))

    # a quote holds usage but uses none
    assert used(promotion) == 0
    assert CartEvaluation.objects.get(public_id=quote["evaluationId"]).status == "PENDING"

    bill = bill_with(api_client, customer, "B-1", quote)

    assert bill.status_code == 200, bill.json()
    assert bill.json()["sideEffects"][0]["code"] == "ONCE"
    assert used(promotion) == 1
    evaluation = CartEvaluation.objects.get(public_id=quote["evaluationId"])
    assert evaluation.status == "REDEEMED" and evaluation.transaction_id == bill.json()["createdId"]


@pytest.mark.django_db
def test_holds_keep_a_limit_then_cancel_frees_them(api_client, org):
    promotion, _ = make_code_promotion(org, "ONCE", promotionRestrictions=LIMIT_ONE_PER_CODE)
    first, second = customer_of(org), customer_of(org)

    held = data(evaluate(api_client, first, [item("A", 150)], promoCodes=["ONCE"]))
    refused = data(evaluate(api_client, second, [item("A", 150)], promoCodes=["ONCE"]))
    pending = api_client.get(f"/v1/promotions/customer/{first.pk}/evaluations/pending_carts")
    cancel_url = f"/v1/promotions/customer/{first.pk}/evaluation/{held['evaluationId']}/cancel"
    cancelled = api_client.put(cancel_url)
    cancelled_again = api_client.put(cancel_url)
    after = data(evaluate(api_client, second, [item("A", 150)], promoCodes=["ONCE"]))

    assert held["appliedPromotions"] and not refused["appliedPromotions"]
    assert refused["promoCodeEvaluationLogs"][0]["reason"] == "LIMIT_REACHED"
    assert "limit of 1 redemptions" in refused["promoCodeEvaluationLogs"][0]["message"]
    assert [row["evaluationId"] for row in pending.json()["data"]] == [held["evaluationId"]]
    assert cancelled.json()["data"]["status"] == "CANCELLED"
    assert cancelled_again.status_code == 200
    assert after["appliedPromotions"][0]["code"] == "ONCE"
    assert used(promotion) == 0


@pytest.mark.django_db
def test_an_expired_hold_frees_the_limit_and_its_late_bill_is_refused(api_client, org, settings):
    settings.CART_EVALUATION_HOLD_SECONDS = 60
    promotion, _ = make_code_promotion(org, "ONCE", promotionRestrictions=LIMIT_ONE_PER_CODE)
    slow, quick = customer_of(org), customer_of(org)
    stale = data(evaluate(api_client, slow, [item("A", 150)], promoCodes=["ONCE"]))
    expire(stale["evaluationId"])

    fresh = data(evaluate(api_client, quick, [item("A", 150)], promoCodes=["ONCE"]))
    quick_bill = bill_with(api_client, quick, "Q-1", fresh)
    late_bill = bill_with(api_client, slow, "S-1", stale)

    assert fresh["appliedPromotions"]
    assert quick_bill.status_code == 200
    assert late_bill.status_code == 400
    assert late_bill.json()["errors"][0]["code"] == 4112
    assert not Transaction.objects.filter(number="S-1").exists()
    assert used(promotion) == 1


@pytest.mark.django_db
def test_an_expired_hold_is_still_used_when_the_limit_has_room(api_client, org):
    promotion, _ = make_code_promotion(
        org, "TWICE", promotionRestrictions={"Code": [{"kpi": "REDEMPTION", "limit": 2}]}
    )
    customer = customer_of(org)
    quote = data(evaluate(api_client, customer, [item("A", 150)], promoCodes=["TWICE"]))
    expire(quote["evaluationId"])

    assert bill_with(api_client, customer, "B-1", quote).status_code == 200
    assert used(promotion) == 1


@pytest.mark.django_db
def test_a_bill_uses_only_the_promotions_it_names(api_client, org):
    kept = make_cart_promotion(
        org,
        name="kept",
        isStackable=True,
        condition=cart_condition(0),
        action=amount_off(5),
        promotionRestrictions={"Promotion": [{"kpi": "REDEMPTION", "limit": 10}]},
    )
    dropped = make_cart_promotion(
        org,
        name="dropped",
        isStackable=True,
        condition=cart_condition(0),
        action=amount_off(3),
        promotionRestrictions={"Promotion": [{"kpi": "REDEMPTION", "limit": 10}]},
    )
    customer = customer_of(org)
    quote = data(evaluate(api_client, customer, [item("A", 50)]))
    named = [a["identifier"] for a in quote["appliedPromotions"] if a["name"] == "kept"]

    response = bill_with(api_client, customer, "B-1", quote, identifiers=named)

    assert response.status_code == 200
    assert used(kept, "PROMOTION") == 1 and used(dropped, "PROMOTION") == 0
    states = dict(CartEvaluationPromotion.objects.values_list("promotion__name", "state"))
    assert states == {"kept": "USED", "dropped": "RELEASED"}


@pytest.mark.django_db
def test_one_evaluation_serves_one_bill(api_client, org):
    make_code_promotion(org, "ONCE", promotionRestrictions=LIMIT_ONE_PER_CODE)
    customer = customer_of(org)
    quote = data(evaluate(api_client, customer, [item("A", 150)], promoCodes=["ONCE"]))

    first = bill_with(api_client, customer, "B-1", quote)
    second = bill_with(api_client, customer, "B-2", quote)
    cancel = api_client.put(
        f"/v1/promotions/customer/{customer.pk}/evaluation/{quote['evaluationId']}/cancel"
    )

    assert first.status_code == 200
    assert second.status_code == 409 and second.json()["errors"][0]["code"] == 4111
    assert cancel.status_code == 409 and cancel.json()["errorDetails"][0]["code"] == 4111


@pytest.mark.django_db
def test_unknown_evaluation_ids_are_ignored_by_the_bill(api_client, org):
    customer = customer_of(org)
    url = f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}"
    body = {
        "type": "REGULAR",
        "billNumber": "X-1",
        "billAmount": "10",
        "lineItemsV2": [{"itemCode": "A", "qty": 1, "rate": 10, "amount": 10}],
        "promotionEvaluationId": "60f5713c4c5cb92ab2da320e",
        "appliedPromotionIdentifiers": ["not-base64!"],
    }

    response = api_client.post(url, body, format="json")

    assert response.status_code == 200 and response.json()["sideEffects"] == []


@pytest.mark.django_db
def test_a_full_return_gives_the_usage_back(api_client, org):
    promotion, _ = make_code_promotion(org, "ONCE", promotionRestrictions=LIMIT_ONE_PER_CODE)
    customer, next_customer = customer_of(org), customer_of(org)
    quote = data(evaluate(api_client, customer, [item("A", 150)], promoCodes=["ONCE"]))
    assert bill_with(api_client, customer, "B-1", quote).status_code == 200
    assert not data(evaluate(api_client, next_customer, [item("A", 150)], promoCodes=["ONCE"]))[
        "appliedPromotions"
    ]

    returned = api_client.post(
        f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}",
        {"type": "RETURN", "returnType": "FULL", "billNumber": "B-1", "billAmount": "135"},
        format="json",
    )

    assert returned.status_code == 200, returned.json()
    assert used(promotion) == 0
    again = data(evaluate(api_client, next_customer, [item("A", 150)], promoCodes=["ONCE"]))
    assert again["appliedPromotions"][0]["code"] == "ONCE"
    assert CartEvaluation.objects.get(public_id=quote["evaluationId"]).status == "RETURNED"


@pytest.mark.django_db
def test_a_linked_code_applies_without_being_typed(api_client, org):
    promotion, _ = make_code_promotion(org, "DQCV73", action=amount_off(7))
    customer, other = customer_of(org), customer_of(org)

    link = api_client.post(
        f"{ENGINE}/code/link",
        {"customerId": customer.pk, "code": "dqcv73", "mode": "DISCOUNT"},
        format="json",
    )
    mine = data(evaluate(api_client, customer, [item("A", 150)]))
    theirs = data(evaluate(api_client, other, [item("A", 150)]))

    assert link.status_code == 200, link.json()
    assert link.json()["data"]["promotionId"] == promotion.public_id
    assert mine["appliedPromotions"][0]["code"] == "DQCV73"
    assert theirs["appliedPromotions"] == []


@pytest.mark.django_db
def test_typed_and_linked_codes_are_read_together(api_client, org):
    # Given two linked codes (one also typed), an inactive link and an unknown typed code
    make_code_promotion(org, "OLDER1", name="older", isStackable=True, action=amount_off(1))
    make_code_promotion(org, "NEWER2", name="newer", isStackable=True, action=amount_off(2))
    make_code_promotion(org, "GONE3", name="gone", isStackable=True, action=amount_off(3))
    customer, other = customer_of(org), customer_of(org)
    for code in ("OLDER1", "NEWER2", "GONE3"):
        linked = api_client.post(
            f"{ENGINE}/code/link",
            {"customerId": customer.pk, "code": code, "mode": "DISCOUNT"},
            format="json",
        )
        assert linked.status_code == 200, linked.json()
    PromoCodeLink.objects.filter(code__code="GONE3").update(is_active=False)

    # When the customer types one of the linked codes and an unknown one
    mine = data(evaluate(api_client, customer, [item("A", 150)], promoCodes=["newer2", "NOPE"]))
    theirs = data(evaluate(api_client, other, [item("A", 150)]))

    # Then the typed code applies once, the active linked one too, the unknown one says why
    assert sorted(a["code"] for a in mine["appliedPromotions"]) == ["NEWER2", "OLDER1"]
    assert mine["discount"] == "3.000000"
    assert [(log["code"], log["reason"]) for log in mine["promoCodeEvaluationLogs"]] == [
        ("NOPE", "CODE_NOT_FOUND")
    ]
    assert CartEvaluation.objects.get(public_id=mine["evaluationId"]).promo_codes == [
        "NEWER2",
        "NOPE",
    ]
    assert theirs["appliedPromotions"] == []


@pytest.mark.django_db
def test_customer_activation_is_needed_when_configured(api_client, org):
    promotion = make_cart_promotion(org, type="CUSTOMER", customerActivationRequired=True)
    customer = customer_of(org)

    before = data(evaluate(api_client, customer, [item("A", 150)]))
    earn = api_client.post(
        f"{ENGINE}/{promotion.public_id}/earn",
        {"id": "earn-1", "customerId": customer.pk, "earnedFromType": "ACTIVITY"},
        format="json",
    )
    again = api_client.post(
        f"{ENGINE}/{promotion.public_id}/earn",
        {"id": "earn-1", "customerId": customer.pk},
        format="json",
    )
    after = data(evaluate(api_client, customer, [item("A", 150)]))

    assert before["appliedPromotions"] == []
    assert earn.status_code == 200 and earn.json()["data"]["id"] == again.json()["data"]["id"]
    assert after["appliedPromotions"][0]["promotionId"] == promotion.public_id


@pytest.mark.django_db
def test_the_idempotency_key_replays_the_quote(api_client, org):
    make_cart_promotion(org)
    customer = customer_of(org)
    cart = [item("A", 150, referenceId="line-1")]

    first = data(evaluate(api_client, customer, cart, idempotency_key="cart-1"))
    again = data(evaluate(api_client, customer, cart, idempotency_key="cart-1"))
    other = evaluate(api_client, customer, [item("B", 150)], idempotency_key="cart-1")

    assert first == again
    assert other.status_code == 409 and other.json()["errorDetails"][0]["code"] == 4106
    assert CartEvaluation.objects.count() == 1


@pytest.mark.django_db
def test_payment_voucher_mode_is_a_tender_not_a_line_discount(api_client, org):
    make_code_promotion(org, "VOUCHER20", mode="PAYMENT_VOUCHER", action=amount_off(20))
    customer = customer_of(org)

    result = data(evaluate(api_client, customer, [item("A", 150)], paymentVouchers=["VOUCHER20"]))

    assert result["appliedPromotions"] == []
    assert result["appliedPaymentVouchers"][0]["discount"] == "20.000000"
    assert result["cartItems"][0]["discount"] == "0"
    assert [(t["identifier"], t["amount"]) for t in result["cartTenders"]] == [
        ("PAYMENT_VOUCHER", "20.000000"),
        ("CASH", "130.000000"),
    ]


@pytest.mark.django_db
def test_discount_caps_per_customer_window(api_client, org):
    promotion = make_cart_promotion(
        org,
        condition=cart_condition(0),
        action=amount_off(30),
        promotionRestrictions={"Customer": [{"kpi": "DISCOUNT", "limit": 50, "frequency": "DAYS"}]},
    )
    customer = customer_of(org)

    first = data(evaluate(api_client, customer, [item("A", 100)]))
    assert bill_with(api_client, customer, "B-1", first).status_code == 200
    second = data(evaluate(api_client, customer, [item("A", 100)]))

    assert first["discount"] == "30.000000"
    assert second["discount"] == "20.000000"  # what is left of 50 today
    counter = CartPromotionCounter.objects.get(promotion=promotion, level="CUSTOMER")
    assert counter.used_discount == Decimal(30) and counter.period == "DAYS:1"


def test_promotion_body_factory_is_valid():
    assert promotion_body()["condition"]["type"] == "CART"


def test_the_request_fingerprint_keeps_its_stored_form():
    # Given a cart with every kind of field (fingerprints stored by earlier releases must match)
    import dataclasses
    import hashlib

    from promotions.services.cart.evaluation import CartInput, CartItemInput, CartTenderInput

    cart = CartInput(
        amount=Decimal("150.50"),
        items=(
            CartItemInput(
                sku="A",
                amount=Decimal("100.50"),
                qty=Decimal(1),
                reference_id="line-1",
                categories=("shoes",),
                attributes={"color": "red"},
            ),
            CartItemInput(sku="B", amount=Decimal(25), qty=Decimal(2)),
        ),
        tenders=(CartTenderInput("CreditCard", Decimal(50), "50.00"),),
        promo_codes=("ZN34C",),
        category_hierarchy_sent=True,
    )

    # When it is fingerprinted, Then it is the hash of the JSON of asdict() with the customer
    text = json.dumps({"customer": 7, **dataclasses.asdict(cart)}, sort_keys=True, default=str)
    assert cart.fingerprint(7) == hashlib.sha256(text.encode()).hexdigest()
