"""v1.1 transaction APIs: batch add with registration, returns, mixed bills, get (§11.4)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from members.models import Customer, CustomerSourceProfile, Transaction
from tests.members.factories import CustomerFactory, TransactionFactory

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "contract"
ADD_URL = "/v1.1/transaction/add?format=json"
POINTS_FIELDS = ("lifetime_points", "loyalty_points", "current_slab", "points_summaries")


def coupon_step(*, transaction, actor, context):
    return [{"type": "coupon", "couponCode": f"C{transaction.pk}", "couponType": "PE", "id": 7}]


def example(name: str):
    return json.loads((EXAMPLES / name).read_text())


def v11_bill(number, mobile="919900000001", amount="300", **extra) -> dict:
    body = {
        "type": "regular",
        "number": number,
        "amount": amount,
        "billing_time": "2024-05-01 10:00:00",
        "customer": {"mobile": mobile, "firstname": "Ann", "lastname": "Lee"},
        "line_items": {
            "line_item": [
                {"item_code": "A", "qty": "3", "rate": "100", "value": "300", "amount": "300"}
            ]
        },
    }
    body.update(extra)
    return body


def post(client, *items):
    return client.post(ADD_URL, {"root": {"transaction": list(items)}}, format="json")


def status(response) -> dict:
    return response.json()["response"]["status"]


def items(response) -> list[dict]:
    return response.json()["response"]["transactions"]["transaction"]


@pytest.mark.django_db
def test_fixture_add_registers_the_new_customer(api_client, org, settings):
    # given the contract's sample for a mobile nobody in the org has
    settings.TRANSACTION_ADD_PIPELINE = ["tests.members.test_transactions_v11.coupon_step"]
    body = example("transactions_v11_add_request.json")

    # when
    response = api_client.post(ADD_URL, body, format="json")

    # then
    assert response.status_code == 200, response.content
    assert status(response) == {
        "success": "true",
        "code": 200,
        "message": "Success",
        "total": "1",
        "success_count": "1",
    }
    (item,) = items(response)
    assert item["item_status"]["code"] == 600
    assert item["item_status"]["message"] == "Transaction added successfully"
    customer = Customer.objects.get(org=org, mobile="919999000000")
    assert (customer.first_name, customer.last_name) == ("Tom", "Sawyer")
    assert CustomerSourceProfile.objects.filter(customer=customer, source="INSTORE").exists()
    txn = Transaction.objects.get(pk=item["id"])
    assert (txn.number, txn.type, txn.customer_id) == ("BILL99", "REGULAR", customer.pk)
    assert txn.bill_amount == Decimal("5000") and txn.discount == Decimal("10")
    assert txn.extended_fields == {"CentralGST": "8.5", "cashier_id": "12345678"}
    assert txn.custom_fields == {"Bank": "SBI"}
    assert txn.points_redemption_ids == ["987654"]
    assert txn.payment_modes[1]["attributes"] == {
        "BankNameAPI": "value_602656",
        "branch_nameAPI": "value_602656",
    }
    lines = list(txn.line_items.order_by("id"))
    assert [(row.sku, row.qty, row.brand) for row in lines] == [
        ("skuattr9", Decimal("50"), "Levis"),
        ("skuattr9", Decimal("50"), "Levis"),
    ]
    assert lines[0].discount == Decimal("234")
    assert lines[0].extended_fields == {"booking_type": "Online", "MetalRate": "120.55"}
    # response shape of the sample, without points numbers the members domain cannot know
    assert item["number"] == "BILL99" and item["type"] == "REGULAR"
    assert item["customer"]["user_id"] == str(customer.pk)
    assert item["customer"]["lifetime_purchases"] == "5000"
    assert not set(POINTS_FIELDS) & set(item["customer"])
    assert item["side_effects"]["effect"] == [
        {"type": "coupon", "coupon_code": f"C{txn.pk}", "coupon_type": "PE", "id": 7}
    ]


@pytest.mark.django_db
def test_known_customer_is_reused_and_replay_is_safe(api_client, org):
    customer = CustomerFactory(org=org, mobile="919900000001")

    first = post(api_client, v11_bill("V-1"))
    again = post(api_client, v11_bill("V-1"))

    assert items(first)[0]["customer"]["user_id"] == str(customer.pk)
    assert items(again)[0]["id"] == items(first)[0]["id"]
    assert items(again)[0]["item_status"]["warnings"]["warning"] == ["604"]
    assert Customer.objects.count() == 1 and Transaction.objects.count() == 1
    customer.refresh_from_db()
    assert customer.lifetime_purchases == Decimal("300")


@pytest.mark.django_db
def test_batch_with_one_failing_item_is_201(api_client, org):
    # when the second bill has a negative amount
    response = post(
        api_client,
        v11_bill("V-1"),
        v11_bill("V-2", mobile="919900000002", amount="-1"),
        v11_bill("V-3", mobile="919900000003"),
    )

    # then
    assert status(response)["code"] == 201
    assert status(response)["success_count"] == "2"
    first, bad, third = items(response)
    assert first["item_status"]["success"] == "true"
    assert bad["item_status"] == {
        "success": "false",
        "code": 631,
        "message": bad["item_status"]["message"],
        "warnings": {"warning": []},
    }
    assert bad["number"] == "V-2"
    assert set(Transaction.objects.values_list("number", flat=True)) == {"V-1", "V-3"}
    # the failed bill registered nobody either
    assert not Customer.objects.filter(mobile="919900000002").exists()


@pytest.mark.django_db
def test_all_items_failing_is_500(api_client):
    response = post(api_client, v11_bill("V-1", type="layaway"), v11_bill("", mobile="1"))

    assert status(response)["code"] == 500
    codes = [item["item_status"]["code"] for item in items(response)]
    assert codes == [605, 1001]
    assert Transaction.objects.count() == 0 and Customer.objects.count() == 0


@pytest.mark.django_db
def test_bill_without_customer_is_606(api_client):
    response = post(api_client, v11_bill("V-1", customer={"mobile": "", "email": ""}))

    assert items(response)[0]["item_status"]["code"] == 606


@pytest.mark.django_db
def test_item_parse_error_keeps_the_contract_code(api_client):
    response = post(api_client, v11_bill("V-1", amount="lots"))

    assert items(response)[0]["item_status"]["code"] == 601


@pytest.mark.django_db
def test_single_transaction_object_and_not_interested(api_client):
    body = {"root": {"transaction": {"type": "not_interested", "number": "NI-1", "amount": "50"}}}

    response = api_client.post(ADD_URL, body, format="json")

    (item,) = items(response)
    assert item["item_status"]["code"] == 600, item
    assert "customer" not in item
    assert Transaction.objects.get().customer is None


@pytest.mark.django_db
def test_batch_limit_is_672(api_client):
    response = post(api_client, *[v11_bill(f"V-{index}") for index in range(101)])

    assert response.status_code == 400
    assert status(response) == {
        "success": "false",
        "code": 672,
        "message": status(response)["message"],
    }
    assert Transaction.objects.count() == 0


@pytest.mark.django_db
def test_missing_root_is_400_in_v11_envelope(api_client):
    response = api_client.post(ADD_URL, {"transaction": []}, format="json")

    assert response.status_code == 400
    assert status(response)["success"] == "false"


@pytest.mark.django_db
def test_return_fixture_against_its_parent_bill(api_client, org):
    # given the bill the sample returns (parent_bill_number RE123) for the sample's customer
    post(
        api_client,
        v11_bill(
            "RE123",
            mobile="919999000000",
            amount="1000",
            line_items={
                "line_item": {"item_code": "item-001", "qty": "100", "rate": "10", "amount": "1000"}
            },
        ),
    )
    body = example("transactions_v11_return_request.json")

    # when
    response = api_client.post(ADD_URL, body, format="json")

    # then
    (item,) = items(response)
    assert item["item_status"]["code"] == 600, item
    assert (item["type"], item["number"], item["parent_bill_number"]) == (
        "RETURN",
        "BILL98",
        "RE123",
    )
    returned = Transaction.objects.get(pk=item["id"])
    assert returned.return_type == "AMOUNT" and returned.bill_amount == Decimal("500")
    assert item["customer"]["lifetime_purchases"] == "500"


@pytest.mark.django_db
def test_mixed_bill(api_client, org):
    # given the parent bill of the mixed sample's returned line
    post(
        api_client,
        v11_bill(
            "RC-15",
            mobile="919540000000",
            line_items={
                "line_item": [{"item_code": "code02", "qty": "2", "rate": "50", "amount": "100"}]
            },
            amount="100",
        ),
    )
    body = example("transactions_v11_mixed_request.json")
    body["root"]["transaction"][0]["customer"]["mobile"] = "919540000000"  # with country code

    # when
    response = api_client.post(ADD_URL, body, format="json")

    # then
    (item,) = items(response)
    assert item["item_status"]["code"] == 600, item
    sale = Transaction.objects.get(pk=item["id"])
    assert sale.line_items.get().sku == "code04"
    returned = Transaction.objects.get(type="RETURN")
    assert returned.original.number == "RC-15" and returned.bill_amount == Decimal("50")
    assert returned.line_items.get().qty == 1


@pytest.mark.django_db
def test_get_by_number(api_client, org):
    post(api_client, v11_bill("V-1"))

    response = api_client.get("/v1.1/transaction/get?number=V-1&format=json")

    assert response.status_code == 200, response.content
    assert status(response)["code"] == 200
    (item,) = items(response)
    assert (item["number"], item["amount"], item["billing_time"]) == (
        "V-1",
        "300",
        "2024-05-01 10:00:00",
    )
    assert item["line_items"]["line_item"][0]["item_code"] == "A"
    assert item["item_status"]["code"] == 600


@pytest.mark.django_db
def test_get_is_scoped_to_the_callers_org(api_client, other_org):
    foreign = TransactionFactory(org=other_org, number="THEIRS")

    by_number = api_client.get("/v1.1/transaction/get?number=THEIRS")
    by_id = api_client.get(f"/v1.1/transaction/get?id={foreign.pk}")
    nothing = api_client.get("/v1.1/transaction/get")

    assert by_number.status_code == 404 and status(by_number)["code"] == 625
    assert by_id.status_code == 404
    assert status(nothing)["code"] == 670
