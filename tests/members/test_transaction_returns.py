"""Returns: FULL / LINE_ITEM / AMOUNT / CANCELLED, their limits and error codes (§11.3, §11.5)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from loyalty_site.core.exceptions import DomainError
from members.models import Transaction, TransactionLineItem, TransactionType
from members.services.transactions import LineItemInput, transaction_add, transaction_return
from tests.conftest import till_client
from tests.members.factories import CustomerFactory, StoreFactory, TillFactory

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "contract"
RETURN_PIPELINE = "tests.members.test_transaction_returns.reversal_step"


def reversal_step(*, transaction, actor, context):
    """Stands in for the earning engine taking points back."""
    return [
        {
            "type": "points",
            "entityType": "USER",
            "awardedPoints": -int(transaction.bill_amount),
            "original": context["original"].pk,
        }
    ]


def post(client, body, customer, **headers):
    url = f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}"
    return client.post(url, body, format="json", **headers)


def first_error(response) -> dict:
    return response.json()["errors"][0]


def sale(number="B-100", **extra) -> dict:
    """A bill of 400: item A x3 at 100 and item B x2 at 50."""
    body = {
        "type": "REGULAR",
        "billNumber": number,
        "billAmount": "400",
        "billingDate": "2024-05-01T10:00:00+05:30",
        "lineItemsV2": [
            {"itemCode": "A", "qty": 3, "rate": 100, "amount": 300},
            {"itemCode": "B", "qty": 2, "rate": 50, "amount": 100},
        ],
    }
    body.update(extra)
    return body


def give_back(return_type, number="B-100", amount=None, lines=None, **extra) -> dict:
    body = {
        "type": "RETURN",
        "returnType": return_type,
        "billNumber": number,
        "billingDate": "2024-05-03T10:00:00+05:30",
        "lineItemsV2": lines or [],
    }
    if amount is not None:
        body["billAmount"] = amount
    body.update(extra)
    return body


def line(item_code, qty, amount):
    return {"itemCode": item_code, "qty": qty, "rate": amount / qty, "amount": amount}


@pytest.fixture
def customer(org):
    return CustomerFactory(org=org)


@pytest.fixture
def original(api_client, customer):
    response = post(api_client, sale(), customer)
    assert response.status_code == 200, response.content
    return Transaction.objects.get(pk=response.json()["createdId"])


def lifetime(customer) -> Decimal:
    customer.refresh_from_db()
    return customer.lifetime_purchases


def snapshot():
    return (
        Transaction.objects.count(),
        TransactionLineItem.objects.count(),
        sorted(Transaction.objects.values_list("pk", flat=True)),
    )


# FULL / CANCELLED ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_full_return_gives_back_the_whole_bill(api_client, customer, original):
    # when
    response = post(api_client, give_back("FULL"), customer)

    # then
    assert response.status_code == 200, response.content
    returned = Transaction.objects.get(pk=response.json()["createdId"])
    assert (returned.type, returned.return_type, returned.original_id) == (
        "RETURN",
        "FULL",
        original.pk,
    )
    assert returned.number == "B-100" and returned.bill_amount == Decimal("400")
    assert returned.purchased_at == original.billed_at
    lines = list(returned.line_items.order_by("serial"))
    assert [(row.sku, row.qty, row.type) for row in lines] == [
        ("A", Decimal("3"), "RETURN"),
        ("B", Decimal("2"), "RETURN"),
    ]
    assert [row.original_line_id for row in lines] == list(
        original.line_items.order_by("serial").values_list("pk", flat=True)
    )
    assert lifetime(customer) == 0


@pytest.mark.django_db
def test_cancelled_works_like_a_full_return(api_client, customer, original):
    response = post(api_client, give_back("CANCELLED"), customer)

    assert response.status_code == 200, response.content
    assert Transaction.objects.get(pk=response.json()["createdId"]).bill_amount == 400
    assert first_error(post(api_client, give_back("AMOUNT", amount="1"), customer))["code"] == 633


@pytest.mark.django_db
def test_full_return_after_a_partial_return_is_639(api_client, customer, original):
    # given
    post(api_client, give_back("LINE_ITEM", amount="100", lines=[line("A", 1, 100)]), customer)
    before = snapshot()

    # when
    response = post(api_client, give_back("FULL"), customer)

    # then
    assert response.status_code == 400 and first_error(response)["code"] == 639
    assert snapshot() == before
    assert lifetime(customer) == Decimal("300")


@pytest.mark.parametrize(
    "body",
    [
        give_back("FULL"),
        give_back("LINE_ITEM", amount="100", lines=[line("A", 1, 100)]),
        give_back("AMOUNT", amount="10"),
    ],
)
@pytest.mark.django_db
def test_anything_after_a_full_return_is_633(api_client, customer, original, body):
    # given
    post(api_client, give_back("FULL"), customer)
    before = snapshot()

    # when
    response = post(api_client, body, customer)

    # then
    assert first_error(response)["code"] == 633
    assert snapshot() == before
    assert lifetime(customer) == 0


# LINE_ITEM -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_line_item_return_links_the_original_line(api_client, customer, original):
    # when
    response = post(
        api_client,
        give_back("LINE_ITEM", amount="150", lines=[line("A", 1, 100), line("B", 1, 50)]),
        customer,
    )

    # then
    assert response.status_code == 200, response.content
    returned = Transaction.objects.get(pk=response.json()["createdId"])
    lines = {row.sku: row for row in returned.line_items.all()}
    originals = {row.sku: row for row in original.line_items.all()}
    assert lines["A"].original_line_id == originals["A"].pk and lines["A"].qty == 1
    assert lines["B"].original_line_id == originals["B"].pk
    assert lifetime(customer) == Decimal("250")


@pytest.mark.django_db
def test_returning_more_than_bought_in_one_request_is_626(api_client, customer, original):
    before = snapshot()

    response = post(
        api_client, give_back("LINE_ITEM", amount="400", lines=[line("A", 4, 400)]), customer
    )

    assert first_error(response)["code"] == 626
    assert snapshot() == before and lifetime(customer) == Decimal("400")


@pytest.mark.django_db
def test_the_same_item_twice_in_one_request_counts_together(api_client, customer, original):
    response = post(
        api_client,
        give_back("LINE_ITEM", amount="400", lines=[line("A", 2, 200), line("A", 2, 200)]),
        customer,
    )

    assert first_error(response)["code"] == 626


@pytest.mark.django_db
def test_returning_more_than_is_left_is_629(api_client, customer, original):
    # given 2 of the 3 A's came back already
    ok = post(api_client, give_back("LINE_ITEM", amount="200", lines=[line("A", 2, 200)]), customer)
    assert ok.status_code == 200, ok.content
    before = snapshot()

    # when
    response = post(
        api_client, give_back("LINE_ITEM", amount="200", lines=[line("A", 2, 200)]), customer
    )

    # then
    assert first_error(response)["code"] == 629
    assert "1" in first_error(response)["message"]
    assert snapshot() == before and lifetime(customer) == Decimal("200")
    # the last one can still come back
    last = post(
        api_client, give_back("LINE_ITEM", amount="100", lines=[line("A", 1, 100)]), customer
    )
    assert last.status_code == 200, last.content


@pytest.mark.django_db
def test_item_not_on_the_bill_is_688(api_client, customer, original):
    before = snapshot()

    response = post(
        api_client, give_back("LINE_ITEM", amount="10", lines=[line("Z", 1, 10)]), customer
    )

    assert first_error(response)["code"] == 688
    assert snapshot() == before


@pytest.mark.django_db
def test_line_item_return_without_lines_is_679(api_client, customer, original):
    response = post(api_client, give_back("LINE_ITEM", amount="10"), customer)

    assert first_error(response)["code"] == 679


@pytest.mark.django_db
def test_a_line_spread_over_two_original_lines_is_split(api_client, customer):
    # given a bill with item A on two lines (2 + 1)
    body = sale(
        lineItemsV2=[
            {"itemCode": "A", "qty": 2, "rate": 100, "amount": 200},
            {"itemCode": "A", "qty": 1, "rate": 100, "amount": 100},
            {"itemCode": "B", "qty": 2, "rate": 50, "amount": 100},
        ]
    )
    original = Transaction.objects.get(pk=post(api_client, body, customer).json()["createdId"])

    # when all three A's come back on one line
    response = post(
        api_client, give_back("LINE_ITEM", amount="300", lines=[line("A", 3, 300)]), customer
    )

    # then
    assert response.status_code == 200, response.content
    returned = Transaction.objects.get(pk=response.json()["createdId"])
    parts = list(returned.line_items.order_by("id"))
    first_a, second_a = original.line_items.filter(sku="A").order_by("serial")
    assert [(row.original_line_id, row.qty, row.amount) for row in parts] == [
        (first_a.pk, Decimal("2"), Decimal("200")),
        (second_a.pk, Decimal("1"), Decimal("100")),
    ]
    assert (
        first_error(
            post(
                api_client,
                give_back("LINE_ITEM", amount="100", lines=[line("A", 1, 100)]),
                customer,
            )
        )["code"]
        == 629
    )


# AMOUNT --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_amount_returns_up_to_the_bill_amount(api_client, customer, original):
    # given
    first = post(api_client, give_back("AMOUNT", amount="100"), customer)
    assert first.status_code == 200, first.content
    before = snapshot()

    # when more than the remaining 300 is asked back
    response = post(api_client, give_back("AMOUNT", amount="300.001"), customer)

    # then
    assert first_error(response)["code"] == 630
    assert snapshot() == before and lifetime(customer) == Decimal("300")
    rest = post(api_client, give_back("AMOUNT", amount="300"), customer)
    assert rest.status_code == 200 and lifetime(customer) == 0


@pytest.mark.django_db
def test_line_item_returns_count_towards_the_amount_limit(api_client, customer, original):
    post(api_client, give_back("AMOUNT", amount="350"), customer)

    response = post(
        api_client, give_back("LINE_ITEM", amount="100", lines=[line("A", 1, 100)]), customer
    )

    assert first_error(response)["code"] == 630


# Finding the original ------------------------------------------------------------------------
@pytest.mark.django_db
def test_return_of_an_unknown_bill_is_625(api_client, customer, original):
    response = post(api_client, give_back("AMOUNT", number="NOPE", amount="10"), customer)

    assert response.status_code == 404 and first_error(response)["code"] == 625
    assert Transaction.objects.count() == 1


@pytest.mark.django_db
def test_return_of_another_customers_bill_is_625(api_client, org, original):
    someone_else = CustomerFactory(org=org)

    response = post(api_client, give_back("AMOUNT", amount="10"), someone_else)

    assert first_error(response)["code"] == 625
    assert Transaction.objects.count() == 1


@pytest.mark.django_db
def test_number_in_several_stores_prefers_the_actors_store_or_the_given_id(
    api_client, org, customer, original
):
    # given the same number billed in a second store
    other_till = TillFactory(org=org, store=StoreFactory(org=org))
    other_client = till_client(other_till)
    second = Transaction.objects.get(pk=post(other_client, sale(), customer).json()["createdId"])

    # when each store returns without an id, and a third store has to name the bill
    here = post(api_client, give_back("AMOUNT", amount="10"), customer)
    there = post(other_client, give_back("AMOUNT", amount="20"), customer)
    third_client = till_client(TillFactory(org=org, store=StoreFactory(org=org)))
    ambiguous = post(third_client, give_back("AMOUNT", amount="30"), customer)
    named = post(third_client, give_back("AMOUNT", amount="30", id=second.pk), customer)

    # then
    assert Transaction.objects.get(pk=here.json()["createdId"]).original_id == original.pk
    assert Transaction.objects.get(pk=there.json()["createdId"]).original_id == second.pk
    assert first_error(ambiguous)["code"] == 625
    assert Transaction.objects.get(pk=named.json()["createdId"]).original_id == second.pk


@pytest.mark.django_db
def test_invalid_return_type_is_628(api_client, customer, original):
    for return_type in ("", "PARTIAL"):
        response = post(api_client, give_back(return_type, amount="10"), customer)
        assert first_error(response)["code"] == 628
    assert Transaction.objects.count() == 1


@pytest.mark.django_db
def test_negative_return_amount_is_631(api_client, customer, original):
    response = post(api_client, give_back("AMOUNT", amount="-10"), customer)

    assert first_error(response)["code"] == 631


# Idempotency-Key -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_idempotency_key_replays_a_return(api_client, customer, original):
    body = give_back("LINE_ITEM", amount="100", lines=[line("A", 1, 100)])

    first = post(api_client, body, customer, HTTP_IDEMPOTENCY_KEY="ret-1")
    again = post(api_client, body, customer, HTTP_IDEMPOTENCY_KEY="ret-1")

    assert first.status_code == 200 and again.status_code == 200, again.content
    assert again.json()["createdId"] == first.json()["createdId"]
    assert again.json()["warnings"][0]["code"] == 604
    assert Transaction.objects.filter(type="RETURN").count() == 1
    assert lifetime(customer) == Decimal("300")


@pytest.mark.django_db
def test_idempotency_key_with_another_body_is_a_conflict(api_client, customer, original):
    post(api_client, give_back("AMOUNT", amount="10"), customer, HTTP_IDEMPOTENCY_KEY="ret-1")
    before = snapshot()

    response = post(
        api_client, give_back("AMOUNT", amount="20"), customer, HTTP_IDEMPOTENCY_KEY="ret-1"
    )

    assert response.status_code == 409 and first_error(response)["code"] == 409
    assert snapshot() == before


@pytest.mark.django_db
def test_without_a_key_each_return_is_booked(api_client, customer, original):
    body = give_back("AMOUNT", amount="10")

    post(api_client, body, customer)
    post(api_client, body, customer)

    assert Transaction.objects.filter(type="RETURN").count() == 2
    assert lifetime(customer) == Decimal("380")


# Pipeline seam and services ------------------------------------------------------------------
@pytest.mark.django_db
def test_return_pipeline_side_effects_are_in_the_response(api_client, customer, original, settings):
    settings.TRANSACTION_RETURN_PIPELINE = [RETURN_PIPELINE]

    response = post(api_client, give_back("AMOUNT", amount="40"), customer)

    assert response.json()["sideEffects"] == [
        {"type": "points", "entityType": "USER", "awardedPoints": -40, "original": original.pk}
    ]


@pytest.mark.django_db
def test_services_add_and_return_directly(org, till, customer):
    # given
    added = transaction_add(
        org=org,
        actor=till,
        customer=customer,
        number="S-1",
        type="REGULAR",
        bill_amount=Decimal("90"),
        billed_at=timezone.now(),
        lines=[LineItemInput(item_code="X", qty=Decimal("3"), rate=Decimal("30"))],
    )

    # when
    returned = transaction_return(
        org=org,
        actor=till,
        customer=customer,
        number="S-1",
        return_type="LINE_ITEM",
        bill_amount=Decimal("30"),
        billed_at=None,
        lines=[LineItemInput(item_code="X", qty=Decimal("1"), rate=Decimal("30"))],
    )

    # then
    assert added.created and returned.created
    assert returned.transaction.original_id == added.transaction.pk
    assert (
        returned.transaction.line_items.get().original_line.transaction_id == added.transaction.pk
    )
    assert lifetime(customer) == Decimal("60")


@pytest.mark.django_db
def test_service_refuses_a_till_of_another_org(org, other_till, customer):
    with pytest.raises(DomainError) as error:
        transaction_add(
            org=org,
            actor=other_till,
            customer=customer,
            number="S-1",
            type="REGULAR",
            bill_amount=1,
            billed_at=None,
            lines=[],
        )

    assert error.value.code == 671
    assert Transaction.objects.count() == 0


# Not-interested returns ----------------------------------------------------------------------
@pytest.mark.django_db
def test_not_interested_return_needs_purchase_time(api_client):
    # given a not-interested bill (no customer)
    sold = api_client.post(
        "/v2/transactions",
        {**sale("NI-1"), "type": TransactionType.NOT_INTERESTED},
        format="json",
    )
    assert sold.status_code == 200, sold.content
    body = {
        "type": "NOT_INTERESTED_RETURN",
        "returnType": "LINE_ITEM",
        "billNumber": "NI-1",
        "billAmount": "100",
        "lineItemsV2": [line("A", 1, 100)],
    }

    # when
    missing = api_client.post("/v2/transactions", body, format="json")
    given = api_client.post(
        "/v2/transactions", {**body, "purchaseTime": "2024-05-01T10:00:00Z"}, format="json"
    )

    # then
    assert first_error(missing)["code"] == 624
    assert given.status_code == 200, given.content
    returned = Transaction.objects.get(pk=given.json()["createdId"])
    assert returned.type == "NOT_INTERESTED_RETURN" and returned.customer is None
    assert returned.original_id == sold.json()["createdId"]


@pytest.mark.django_db
def test_bulk_return_fixture(api_client, customer):
    # given the bill the contract's bulk return sample gives lines of
    sold = post(
        api_client,
        sale(
            "num-6682818",
            billAmount="500",
            lineItemsV2=[
                {"itemCode": "sku_486741_2", "qty": 2, "rate": 100, "amount": 200},
                {"itemCode": "sku_486741_3", "qty": 3, "rate": 100, "amount": 300},
            ],
        ),
        customer,
    )
    items = json.loads((EXAMPLES / "transactions_v2_bulk_return_request.json").read_text())
    items[0]["identifierValue"] = str(customer.pk)  # the sample's id is another system's

    # when
    response = api_client.post("/v2/transactions/bulk", items, format="json")

    # then
    data = response.json()
    assert data["failureCount"] == 0, data
    returned = Transaction.objects.get(pk=data["response"][0]["entityId"])
    assert returned.original_id == sold.json()["createdId"]
    assert (returned.return_type, returned.bill_amount, returned.discount) == (
        "LINE_ITEM",
        Decimal("210"),
        Decimal("10"),
    )
    assert returned.line_items.count() == 3
    assert lifetime(customer) == Decimal("290")
