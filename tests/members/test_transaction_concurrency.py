"""Concurrent bills and returns on PostgreSQL: replays and return limits hold under real threads.

SQLite serialises writers and has no row locks, so these tests skip there (postgres_only).
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from members.models import Customer, Transaction, TransactionLineItem
from tests.conftest import till_client
from tests.members.factories import CustomerFactory


def run_in_threads(count: int, work) -> list:
    """Start `count` threads at once (a barrier), each calling work(index); return results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # reported by the assertions below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def add_url(customer) -> str:
    return f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}"


BILL = {
    "type": "REGULAR",
    "billNumber": "RACE-1",
    "billAmount": "300",
    "billingDate": "2024-05-01T10:00:00Z",
    "lineItemsV2": [{"itemCode": "A", "qty": 3, "rate": 100, "amount": 300}],
}


@pytest.mark.django_db(transaction=True)
def test_eight_threads_posting_the_same_bill_make_one_transaction(org, till, postgres_only):
    # given
    customer = CustomerFactory(org=org)

    # when eight tills' retries arrive at the same moment
    def post(_index):
        response = till_client(till).post(add_url(customer), BILL, format="json")
        return response.status_code, response.json()

    results = run_in_threads(8, post)

    # then
    assert all(not isinstance(result, Exception) for result in results), results
    assert {status for status, _ in results} == {200}, results
    created_ids = {body["createdId"] for _, body in results}
    assert len(created_ids) == 1
    assert Transaction.objects.count() == 1
    assert Transaction.objects.get().pk == created_ids.pop()
    assert TransactionLineItem.objects.count() == 1
    replays = [body for _, body in results if body["warnings"]]
    assert len(replays) == 7 and all(body["warnings"][0]["code"] == 604 for body in replays)
    assert Customer.objects.get(pk=customer.pk).lifetime_purchases == Decimal("300")


@pytest.mark.django_db(transaction=True)
def test_same_number_with_two_bodies_at_once_keeps_one(org, till, postgres_only):
    customer = CustomerFactory(org=org)
    other_body = {**BILL, "billAmount": "999"}

    def post(index):
        body = BILL if index % 2 == 0 else other_body
        response = till_client(till).post(add_url(customer), body, format="json")
        return response.status_code, response.json()

    results = run_in_threads(8, post)

    assert all(not isinstance(result, Exception) for result in results), results
    assert Transaction.objects.count() == 1
    winner = Transaction.objects.get()
    for status, body in results:
        if status == 200:
            assert body["createdId"] == winner.pk
        else:
            assert status == 409 and body["errors"][0]["code"] == 604
    assert Customer.objects.get(pk=customer.pk).lifetime_purchases == winner.bill_amount


@pytest.mark.django_db(transaction=True)
def test_six_threads_returning_one_each_of_three_bought(org, till, postgres_only):
    # given a bill with item A x3
    customer = CustomerFactory(org=org)
    sold = till_client(till).post(add_url(customer), BILL, format="json")
    assert sold.status_code == 200, sold.content
    give_back = {
        "type": "RETURN",
        "returnType": "LINE_ITEM",
        "billNumber": "RACE-1",
        "billAmount": "100",
        "lineItemsV2": [{"itemCode": "A", "qty": 1, "rate": 100, "amount": 100}],
    }

    # when six returns of one A arrive at once
    def post(_index):
        response = till_client(till).post(add_url(customer), give_back, format="json")
        return response.status_code, response.json()

    results = run_in_threads(6, post)

    # then exactly three get through; the others are told nothing is left
    assert all(not isinstance(result, Exception) for result in results), results
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 200, 400, 400, 400], results
    assert {body["errors"][0]["code"] for status, body in results if status == 400} == {629}
    returned_qty = sum(
        TransactionLineItem.objects.filter(transaction__type="RETURN").values_list("qty", flat=True)
    )
    assert returned_qty == 3
    assert Transaction.objects.filter(type="RETURN").count() == 3
    assert Customer.objects.get(pk=customer.pk).lifetime_purchases == 0


@pytest.mark.django_db
def test_losing_the_insert_race_answers_the_winners_result(org, till, monkeypatch):
    """The savepoint path without threads (so it runs on SQLite too): the pre-check misses the
    bill a concurrent request committed, the insert hits the unique constraint, and the request
    becomes a replay (same body) or 604 (other body)."""
    from members.services import transactions as service

    # given a committed bill, and a lookup that misses it once per request (as in a race)
    customer = CustomerFactory(org=org)
    first = till_client(till).post(add_url(customer), BILL, format="json")
    real_lookup = service._existing_bill
    missed: set[int] = set()

    def stale_lookup(**kwargs):
        if len(missed) < calls["requests"]:
            missed.add(calls["requests"])
            return None
        return real_lookup(**kwargs)

    calls = {"requests": 0}
    monkeypatch.setattr(service, "_existing_bill", stale_lookup)

    # when
    calls["requests"] = 1
    replay = till_client(till).post(add_url(customer), BILL, format="json")
    calls["requests"] = 2
    conflict = till_client(till).post(add_url(customer), {**BILL, "billAmount": "1"}, format="json")

    # then
    assert len(missed) == 2
    assert replay.status_code == 200, replay.content
    assert replay.json()["createdId"] == first.json()["createdId"]
    assert conflict.status_code == 409 and conflict.json()["errors"][0]["code"] == 604
    assert Transaction.objects.count() == 1 and TransactionLineItem.objects.count() == 1
    assert Customer.objects.get(pk=customer.pk).lifetime_purchases == Decimal("300")


@pytest.mark.django_db(transaction=True)
def test_v11_bills_of_one_new_customer_at_once_register_them_once(org, till, postgres_only):
    # when six tills send bills of a customer nobody has registered yet, at the same moment
    def post(index):
        body = {
            "root": {
                "transaction": [
                    {
                        "type": "regular",
                        "number": f"NEW-{index}",
                        "amount": "100",
                        "customer": {"mobile": "919800012345", "firstname": "New"},
                    }
                ]
            }
        }
        response = till_client(till).post("/v1.1/transaction/add", body, format="json")
        return response.json()["response"]["transactions"]["transaction"][0]

    results = run_in_threads(6, post)

    # then every bill is booked on the one customer registered
    assert all(not isinstance(result, Exception) for result in results), results
    assert [item["item_status"]["code"] for item in results] == [600] * 6, results
    customer = Customer.objects.get(org=org, mobile="919800012345")
    assert {item["customer"]["user_id"] for item in results} == {str(customer.pk)}
    assert Transaction.objects.filter(customer=customer).count() == 6
    assert customer.lifetime_purchases == Decimal("600")
