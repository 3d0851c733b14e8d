"""v2 transaction APIs: add, replays, validation, pipeline seam, bulk and get (§11.3, §11.5)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from loyalty_site.core.exceptions import DomainError
from members.models import Customer, Transaction, TransactionLineItem, UserGroupMembership
from tests.conftest import till_client
from tests.members.factories import (
    CustomerFactory,
    StoreFactory,
    TillFactory,
    TransactionFactory,
    UserGroupFactory,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "contract"
ADD_PIPELINE = "tests.members.test_transactions_v2.earning_step"
FAILING_PIPELINE = "tests.members.test_transactions_v2.failing_step"


def earning_step(*, transaction, actor, context):
    """Stands in for the earning engine: one point per unit of the bill, plus a raw award."""
    return [
        {
            "entityType": "USER",
            "awardedPoints": int(transaction.bill_amount),
            "rawAwardedPoints": float(transaction.bill_amount),
            "type": "points",
        },
        {"type": "AWARD", "points": str(transaction.bill_amount), "billNumber": transaction.number},
    ]


def failing_step(*, transaction, actor, context):
    raise DomainError("Earning engine refused the bill", code=699)


def example(name: str):
    return json.loads((EXAMPLES / name).read_text())


def bill(number="BILL-1", amount="250", **extra) -> dict:
    body = {
        "type": "REGULAR",
        "billNumber": number,
        "billAmount": amount,
        "grossAmount": "260",
        "discount": "10",
        "billingDate": "2024-05-01T10:15:00+05:30",
        "note": "two lines",
        "lineItemsV2": [
            {
                "itemCode": "SKU-1",
                "description": "jeans",
                "qty": 2,
                "rate": 100,
                "value": 200,
                "discount": 0,
                "amount": 200,
                "attributes": {"category": "Apparel", "brand": "Levis"},
            },
            {"itemCode": "SKU-2", "qty": "1", "rate": "50.5", "discount": "0.5"},
        ],
    }
    body.update(extra)
    return body


def post_bill(client, body, customer=None, identifier="mobile", **params):
    query = dict(params)
    if customer is not None:
        query.setdefault("identifierName", identifier)
        query.setdefault(
            "identifierValue",
            customer.mobile if identifier == "mobile" else getattr(customer, identifier),
        )
        query.setdefault("source", "INSTORE")
    suffix = "&".join(f"{key}={value}" for key, value in query.items())
    return client.post(f"/v2/transactions?{suffix}", body, format="json")


def first_error(response) -> dict:
    return response.json()["errors"][0]


@pytest.fixture
def customer(org):
    return CustomerFactory(org=org, first_name="Tom", last_name="Sawyer")


@pytest.fixture
def earning_pipeline(settings):
    settings.TRANSACTION_ADD_PIPELINE = [ADD_PIPELINE]


# Add -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_add_bill_with_line_items(api_client, till, customer):
    # when
    response = post_bill(api_client, bill(), customer)

    # then
    assert response.status_code == 200, response.content
    data = response.json()
    txn = Transaction.objects.get(pk=data["createdId"])
    assert data["errors"] == [] and data["warnings"] == []
    assert data["customerInfo"] == {"firstName": "Tom", "lastName": "Sawyer"}
    assert data["sideEffects"] == [] and data["loyaltyDetails"] == []
    assert (txn.org_id, txn.store_id, txn.till_id, txn.customer_id) == (
        till.org_id,
        till.store_id,
        till.pk,
        customer.pk,
    )
    assert txn.type == "REGULAR" and txn.number == "BILL-1"
    assert (txn.bill_amount, txn.gross_amount, txn.discount) == (
        Decimal("250"),
        Decimal("260"),
        Decimal("10"),
    )
    assert txn.billed_at == timezone.datetime.fromisoformat("2024-05-01T10:15:00+05:30")
    assert len(txn.request_fingerprint) == 64
    first, second = txn.line_items.order_by("serial")
    assert (first.sku, first.qty, first.amount, first.category, first.brand) == (
        "SKU-1",
        Decimal("2"),
        Decimal("200"),
        "Apparel",
        "Levis",
    )
    # value defaults to rate x qty and amount to value - discount
    assert (second.sku, second.value, second.amount) == ("SKU-2", Decimal("50.5"), Decimal("50"))
    customer.refresh_from_db()
    assert customer.lifetime_purchases == Decimal("250")


@pytest.mark.django_db
def test_add_fixture_request_with_matching_group(api_client, org, customer):
    # given the contract's sample; its userGroup2Id / userGroup2PrimaryUserId are ids of the
    # source system, so we create a matching group (customer as primary member) and point the
    # two keys at it instead of removing them.
    group = UserGroupFactory(org=org)
    UserGroupMembership.objects.create(
        group=group, customer=customer, is_primary=True, joined_at=timezone.now()
    )
    body = example("transactions_v2_add_request.json")
    body["userGroup2Id"] = group.pk
    body["userGroup2PrimaryUserId"] = customer.pk

    # when
    response = post_bill(api_client, body, customer)

    # then
    assert response.status_code == 200, response.content
    txn = Transaction.objects.get(pk=response.json()["createdId"])
    assert txn.user_group_id == group.pk
    assert txn.number == "num-1234" and txn.bill_amount == Decimal("200")
    assert txn.promotion_evaluation_id == "60f5713c4c5cb92ab2da320e"
    assert txn.loyalty_promotion_identifiers == body["loyaltyPromotionIdentifiers"]
    assert txn.applied_promotion_identifiers == body["appliedPromotionIdentifiers"]
    assert txn.payment_modes == body["paymentModes"]
    assert txn.extended_fields["ship_first_name"] == "Ram"
    assert txn.custom_fields == {"paymentmode": "cash"}
    assert txn.delivery_status == "SHIPPED"
    assert txn.line_items.count() == 2
    assert txn.line_items.first().extended_fields == {"MetalRate": "22.02", "GrossWeight": "10.50"}


@pytest.mark.django_db
def test_add_fixture_request_with_unknown_group_is_1632(api_client, customer):
    # given the sample as is: group 1949 does not exist in this org
    body = example("transactions_v2_add_request.json")

    # when
    response = post_bill(api_client, body, customer)

    # then
    assert first_error(response)["code"] == 1632
    assert Transaction.objects.count() == 0
    customer.refresh_from_db()
    assert customer.lifetime_purchases == 0


@pytest.mark.django_db
def test_group_of_another_org_is_1632(api_client, other_org, customer):
    group = UserGroupFactory(org=other_org)

    response = post_bill(api_client, bill(userGroup2Id=group.pk), customer)

    assert first_error(response)["code"] == 1632
    assert Transaction.objects.count() == 0


@pytest.mark.django_db
def test_group_by_external_id(api_client, org, customer):
    group = UserGroupFactory(org=org, external_id="fleet-7")

    response = post_bill(api_client, bill(userGroup2ExternalId="fleet-7"), customer)

    assert response.status_code == 200, response.content
    assert Transaction.objects.get().user_group_id == group.pk


@pytest.mark.django_db
def test_not_interested_fixture_needs_no_customer(api_client):
    # given the contract's not-interested sample, sent without any customer identifier
    body = example("transactions_v2_add_not_interested_request.json")

    # when
    response = post_bill(api_client, body)

    # then
    assert response.status_code == 200, response.content
    txn = Transaction.objects.get(pk=response.json()["createdId"])
    assert txn.type == "NOT_INTERESTED" and txn.customer is None
    assert txn.applied_promotion_identifiers == []  # the sample's [""] holds nothing
    assert response.json()["customerInfo"] == {"firstName": "", "lastName": ""}


@pytest.mark.django_db
def test_lookup_by_external_id_and_id(api_client, customer):
    first = post_bill(
        api_client, bill("B-EXT"), customer, identifier="external_id", identifierName="externalId"
    )
    second = post_bill(
        api_client, bill("B-ID"), customer, identifierName="id", identifierValue=customer.pk
    )

    assert first.status_code == 200 and second.status_code == 200
    assert Transaction.objects.filter(customer=customer).count() == 2


# Replays -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_replay_returns_the_first_result(api_client, customer, earning_pipeline):
    # given
    first = post_bill(api_client, bill(), customer)

    # when the till sends the same bill again (numbers as numbers this time: same values)
    again = bill()
    again["billAmount"] = 250
    again["grossAmount"] = 260.0
    replay = post_bill(api_client, again, customer)

    # then
    assert replay.status_code == 200, replay.content
    assert replay.json()["createdId"] == first.json()["createdId"]
    assert replay.json()["warnings"][0]["code"] == 604
    assert "Replay" in replay.json()["warnings"][0]["message"]
    assert replay.json()["sideEffects"] == []
    assert Transaction.objects.count() == 1
    assert TransactionLineItem.objects.count() == 2
    customer.refresh_from_db()
    assert customer.lifetime_purchases == Decimal("250")


@pytest.mark.django_db
def test_same_number_with_other_details_is_604(api_client, customer):
    # given
    post_bill(api_client, bill(), customer)

    # when
    response = post_bill(api_client, bill(amount="999"), customer)

    # then
    assert response.status_code == 409
    assert first_error(response)["code"] == 604
    assert Transaction.objects.count() == 1
    assert TransactionLineItem.objects.count() == 2
    customer.refresh_from_db()
    assert customer.lifetime_purchases == Decimal("250")


@pytest.mark.django_db
def test_same_number_for_another_customer_is_604(api_client, org, customer):
    post_bill(api_client, bill(), customer)
    other = CustomerFactory(org=org)

    response = post_bill(api_client, bill(), other)

    assert first_error(response)["code"] == 604
    assert Transaction.objects.count() == 1


@pytest.mark.django_db
def test_same_number_from_another_store_is_another_bill(api_client, org, customer):
    # given a till of a second store of the same org
    other_store_till = TillFactory(org=org, store=StoreFactory(org=org))
    first = post_bill(api_client, bill(), customer)

    # when
    second = post_bill(till_client(other_store_till), bill(), customer)

    # then
    assert second.status_code == 200, second.content
    assert second.json()["createdId"] != first.json()["createdId"]
    assert Transaction.objects.filter(number="BILL-1").count() == 2
    customer.refresh_from_db()
    assert customer.lifetime_purchases == Decimal("500")


@pytest.mark.django_db
def test_same_number_from_another_till_of_the_same_store_is_a_replay(api_client, till, customer):
    second_till = TillFactory(org=till.org, store=till.store)
    first = post_bill(api_client, bill(), customer)

    replay = post_bill(till_client(second_till), bill(), customer)

    assert replay.json()["createdId"] == first.json()["createdId"]
    assert Transaction.objects.count() == 1


# Customers -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_customer_of_another_org_is_8015(api_client, other_org):
    # given a customer who exists only in another org
    stranger = CustomerFactory(org=other_org)

    # when
    by_mobile = post_bill(api_client, bill(), stranger)
    by_id = post_bill(api_client, bill(), identifierName="id", identifierValue=stranger.pk)

    # then
    assert by_mobile.status_code == 404 and first_error(by_mobile)["code"] == 8015
    assert first_error(by_id)["code"] == 8015
    assert Transaction.objects.count() == 0
    stranger.refresh_from_db()
    assert stranger.lifetime_purchases == 0


@pytest.mark.django_db
def test_v2_does_not_register_unknown_customers(api_client):
    response = post_bill(
        api_client, bill(), identifierName="mobile", identifierValue="919812345678"
    )

    assert first_error(response)["code"] == 8015
    assert Customer.objects.count() == 0 and Transaction.objects.count() == 0


@pytest.mark.django_db
def test_regular_bill_without_identifier_is_8084(api_client):
    response = post_bill(api_client, bill())

    assert response.status_code == 400 and first_error(response)["code"] == 8084
    assert Transaction.objects.count() == 0


@pytest.mark.django_db
def test_bad_identifier_name_is_8013(api_client, customer):
    response = post_bill(api_client, bill(), identifierName="shoeSize", identifierValue="42")

    assert first_error(response)["code"] == 8013


@pytest.mark.django_db
def test_bad_source_is_3217(api_client, customer):
    response = post_bill(api_client, bill(), customer, source="CARRIER_PIGEON")

    assert first_error(response)["code"] == 3217
    assert Transaction.objects.count() == 0


# Validation ----------------------------------------------------------------------------------
def _line(**changes):
    line = {"itemCode": "SKU-1", "qty": 1, "rate": 100, "amount": 100}
    line.update(changes)
    return line


FUTURE = (timezone.now() + timedelta(days=3)).isoformat()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"billAmount": "-1"}, 631),
        ({"billAmount": "abc"}, 601),
        ({"billAmount": None}, 601),
        ({"billAmount": "10.0001"}, 601),
        ({"billAmount": "1e20"}, 601),
        ({"billAmount": True}, 601),
        ({"discount": "-5"}, 661),
        ({"grossAmount": "-5"}, 662),
        ({"lineItemsV2": [_line(qty=0)]}, 601),
        ({"lineItemsV2": [_line(qty=-1)]}, 627),
        ({"lineItemsV2": [_line(qty="x")]}, 601),
        ({"lineItemsV2": [_line(qty=None)]}, 601),
        ({"lineItemsV2": [_line(rate=-1)]}, 663),
        ({"lineItemsV2": [_line(value=-1)]}, 664),
        ({"lineItemsV2": [_line(discount=-1)]}, 665),
        ({"lineItemsV2": [_line(amount=-1)]}, 666),
        ({"lineItemsV2": [_line(amount=None, value=10, discount=20)]}, 666),
        ({"lineItemsV2": [_line(itemCode="")]}, 622),
        ({"lineItemsV2": [_line(itemCode="X" * 101)]}, 685),
        ({"type": "LAYAWAY"}, 605),
        ({"type": ""}, 605),
        ({"billNumber": ""}, 602),
        ({"billNumber": "N" * 51}, 602),
        ({"billingDate": FUTURE}, 643),
        ({"billingDate": "yesterday"}, 400),
        ({"currencyCode": "EURO"}, 685),
    ],
)
@pytest.mark.django_db
def test_bad_input_is_rejected_and_nothing_is_written(api_client, customer, changes, code):
    # when
    response = post_bill(api_client, bill(**changes), customer)

    # then
    assert response.status_code == 400, response.content
    assert first_error(response)["code"] == code
    assert first_error(response)["message"]
    assert Transaction.objects.count() == 0
    assert TransactionLineItem.objects.count() == 0
    customer.refresh_from_db()
    assert customer.lifetime_purchases == 0


@pytest.mark.django_db
def test_billing_date_within_a_day_ahead_is_accepted(api_client, customer):
    soon = (timezone.now() + timedelta(hours=20)).isoformat()

    response = post_bill(api_client, bill(billingDate=soon), customer)

    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_billing_date_without_offset_is_org_local_time(api_client, org, customer):
    response = post_bill(api_client, bill(billingDate="2024-05-01 10:15:00"), customer)

    txn = Transaction.objects.get(pk=response.json()["createdId"])
    # the org is in Asia/Kolkata (UTC+05:30)
    assert txn.billed_at == timezone.datetime.fromisoformat("2024-05-01T04:45:00+00:00")


@pytest.mark.django_db
def test_missing_billing_date_means_now_and_replays_still_match(api_client, customer):
    body = bill()
    del body["billingDate"]

    first = post_bill(api_client, body, customer)
    again = post_bill(api_client, body, customer)

    assert first.status_code == 200 and again.json()["createdId"] == first.json()["createdId"]
    txn = Transaction.objects.get()
    assert abs(txn.billed_at - timezone.now()) < timedelta(minutes=1)


@pytest.mark.django_db
def test_malformed_body_is_400_in_v2_envelope(api_client, customer):
    response = api_client.post(
        f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}",
        "{not json",
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["status"] is False


# Pipeline seam ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_add_pipeline_side_effects_are_in_the_response(api_client, customer, earning_pipeline):
    # when
    plain = post_bill(api_client, bill("P-1"), customer)
    raw = post_bill(api_client, bill("P-2"), customer, rawSideEffects="true")

    # then
    assert plain.json()["sideEffects"] == [
        {"entityType": "USER", "awardedPoints": 250, "rawAwardedPoints": 250.0, "type": "points"}
    ]
    assert "rawSideEffects" not in plain.json()
    assert raw.json()["rawSideEffects"] == [
        {"type": "AWARD", "points": "250.000", "billNumber": "P-2"}
    ]


@pytest.mark.django_db
def test_a_failing_pipeline_step_rolls_the_bill_back(api_client, customer, settings):
    settings.TRANSACTION_ADD_PIPELINE = [FAILING_PIPELINE]

    response = post_bill(api_client, bill(), customer)

    assert first_error(response)["code"] == 699
    assert Transaction.objects.count() == 0 and TransactionLineItem.objects.count() == 0
    customer.refresh_from_db()
    assert customer.lifetime_purchases == 0


# Mixed bills ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_mixed_fixture_books_the_sale_and_the_return(api_client, customer):
    # given the bill the mixed sample returns a line of
    original = post_bill(
        api_client,
        bill(
            "bill00075",
            amount="1200",
            lineItemsV2=[{"itemCode": "ITEMJEANS0005", "qty": 1, "rate": 1200, "amount": 1200}],
        ),
        customer,
    )
    body = example("transactions_v2_add_mixed_request.json")
    del body["userGroup2Id"]  # the sample's group 98765 does not exist here

    # when
    response = post_bill(api_client, body, customer)

    # then
    assert response.status_code == 200, response.content
    sale = Transaction.objects.get(pk=response.json()["createdId"])
    assert sale.type == "REGULAR" and sale.line_items.get().sku == "ITEMJEANS0ih05"
    returned = Transaction.objects.get(type="RETURN")
    assert returned.original_id == original.json()["createdId"]
    assert returned.return_type == "LINE_ITEM" and returned.bill_amount == Decimal("1200")
    assert returned.line_items.get().original_line.sku == "ITEMJEANS0005"
    customer.refresh_from_db()
    assert customer.lifetime_purchases == Decimal("1900")  # 1200 + 1900 - 1200


@pytest.mark.django_db
def test_mixed_bill_with_unknown_parent_writes_nothing(api_client, customer):
    body = example("transactions_v2_add_mixed_request.json")
    del body["userGroup2Id"]

    response = post_bill(api_client, body, customer)

    assert first_error(response)["code"] == 625
    assert Transaction.objects.count() == 0
    customer.refresh_from_db()
    assert customer.lifetime_purchases == 0


# Bulk ----------------------------------------------------------------------------------------
def _bulk_items(org, customer):
    """The contract's bulk sample, pointed at this test's customer and group."""
    items = example("transactions_v2_bulk_add_request.json")
    group = UserGroupFactory(org=org)
    UserGroupMembership.objects.create(
        group=group, customer=customer, is_primary=True, joined_at=timezone.now()
    )
    items[0]["identifierValue"] = str(customer.pk)
    items[0]["userGroup2Id"] = group.pk
    items[0]["userGroup2PrimaryUserId"] = customer.pk
    items[1]["identifierValue"] = customer.mobile
    return items


@pytest.mark.django_db
def test_bulk_fixture_is_accepted(api_client, org, customer, earning_pipeline):
    # when
    response = api_client.post("/v2/transactions/bulk", _bulk_items(org, customer), format="json")

    # then
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["totalCount"], data["failureCount"]) == (2, 0)
    ids = [item["entityId"] for item in data["response"]]
    assert sorted(ids) == sorted(Transaction.objects.values_list("pk", flat=True))
    first = data["response"][0]
    assert first["errors"] == [] and first["result"]["billNumber"] == "num-668288857749"
    assert first["result"]["sideEffects"][0]["type"] == "points"
    assert first["result"]["billingDate"]
    txn = Transaction.objects.get(pk=ids[0])
    assert txn.coupon_codes == ["727272", "237878"]
    assert txn.points_redemption_ids == ["123453", "345673"]
    assert txn.line_items.count() == 10


@pytest.mark.django_db
def test_bulk_with_one_bad_item_saves_the_others(api_client, org, customer):
    # given three bills, the second with a negative amount
    items = [
        {
            **bill("B-1"),
            "identifierType": "mobile",
            "identifierValue": customer.mobile,
            "source": "INSTORE",
        },
        {
            **bill("B-2", amount="-5"),
            "identifierType": "mobile",
            "identifierValue": customer.mobile,
            "source": "INSTORE",
        },
        {
            **bill("B-3"),
            "identifierType": "externalId",
            "identifierValue": customer.external_id,
            "source": "INSTORE",
        },
    ]

    # when
    response = api_client.post("/v2/transactions/bulk", items, format="json")

    # then
    data = response.json()
    assert response.status_code == 200
    assert (data["totalCount"], data["failureCount"]) == (3, 1)
    bad = data["response"][1]
    assert bad["entityId"] is None and bad["errors"][0]["code"] == 631
    assert bad["result"]["billNumber"] == "B-2"
    assert set(Transaction.objects.values_list("number", flat=True)) == {"B-1", "B-3"}
    customer.refresh_from_db()
    assert customer.lifetime_purchases == Decimal("500")


@pytest.mark.django_db
def test_bulk_item_with_serializer_error_and_missing_customer(api_client, customer):
    items = [
        {
            **bill("B-1"),
            "lineItemsV2": "nope",
            "identifierType": "mobile",
            "identifierValue": customer.mobile,
        },
        bill("B-2"),
        {**bill("B-3"), "identifierType": "mobile", "identifierValue": customer.mobile},
    ]

    data = api_client.post("/v2/transactions/bulk", items, format="json").json()

    assert data["failureCount"] == 2
    assert data["response"][0]["errors"][0]["code"] == 400
    assert data["response"][1]["errors"][0]["code"] == 8084
    assert list(Transaction.objects.values_list("number", flat=True)) == ["B-3"]


@pytest.mark.django_db
def test_bulk_over_100_items_is_672(api_client, customer):
    items = [
        {**bill(f"B-{index}"), "identifierType": "mobile", "identifierValue": customer.mobile}
        for index in range(101)
    ]

    response = api_client.post("/v2/transactions/bulk", items, format="json")

    assert response.status_code == 400 and first_error(response)["code"] == 672
    assert Transaction.objects.count() == 0


@pytest.mark.django_db
def test_bulk_body_must_be_an_array(api_client, customer):
    response = api_client.post("/v2/transactions/bulk", bill(), format="json")

    assert response.status_code == 400 and first_error(response)["code"] == 400


# Get -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_get_transaction_with_line_items(api_client, customer):
    created = post_bill(api_client, bill(), customer).json()["createdId"]

    response = api_client.get(f"/v2/transactions/{created}")

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["id"], data["billNumber"], data["type"], data["customerId"]) == (
        created,
        "BILL-1",
        "REGULAR",
        customer.pk,
    )
    assert data["billAmount"] == 250 and data["grossAmount"] == 260
    assert [line["itemCode"] for line in data["lineItemsV2"]] == ["SKU-1", "SKU-2"]
    assert data["lineItemsV2"][1]["rate"] == 50.5
    assert "orgId" not in data


@pytest.mark.django_db
def test_get_is_scoped_to_the_callers_org(api_client, other_client, other_org):
    foreign = TransactionFactory(org=other_org)

    mine = api_client.get(f"/v2/transactions/{foreign.pk}")
    theirs = other_client.get(f"/v2/transactions/{foreign.pk}")
    missing = api_client.get("/v2/transactions/999999")

    assert mine.status_code == 404 and mine.json()["errors"][0]["status"] is False
    assert theirs.status_code == 200
    assert missing.status_code == 404


@pytest.mark.django_db
def test_get_with_type_filter(api_client, customer):
    created = post_bill(api_client, bill(), customer).json()["createdId"]

    assert api_client.get(f"/v2/transactions/{created}?type=RETURN").status_code == 404
    assert api_client.get(f"/v2/transactions/{created}?type=regular").status_code == 200
