"""Concurrent points operations through the HTTP API on PostgreSQL: the balance never goes below
zero, replays redeem once, a request is approved once.

SQLite serialises writers and has no row locks, so these tests skip there (postgres_only).
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from ledger.models import LedgerEvent, PointsRedemption, PointsRequest
from tests.conftest import till_client
from tests.ledger.factories import assert_consistent, balance, earn, member
from tests.ledger.points_api import url

REDEEM = "/v1.1/points/redeem"


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
        thread.join(timeout=120)
    return results


def redeem_body(customer, points) -> dict:
    return {
        "root": {"redeem": [{"points_redeemed": points, "customer": {"mobile": customer.mobile}}]}
    }


def item_code(response) -> int:
    assert response.status_code == 200, response.content
    return response.json()["response"]["responses"]["points"]["item_status"]["code"]


@pytest.mark.django_db(transaction=True)
def test_forty_concurrent_redeems_of_30_from_600_let_exactly_20_through(
    org, program, till, postgres_only
):
    # given 600 points
    customer = member(org, [program])
    earn(customer, program, 600, actor=till)

    # when 40 tills redeem 30 points each at the same moment
    def redeem(_index: int) -> int:
        client = till_client(till)
        return item_code(
            client.post(
                url(REDEEM, skip_validation="true"), redeem_body(customer, 30), format="json"
            )
        )

    results = run_in_threads(40, redeem)

    # then
    assert all(isinstance(result, int) for result in results), results
    assert Counter(results) == {800: 20, 803: 20}
    assert balance(customer, program) == 0
    assert PointsRedemption.objects.filter(customer=customer).count() == 20
    assert_consistent(org)


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_key_redeem_once(org, program, till, postgres_only):
    # given
    customer = member(org, [program])
    earn(customer, program, 100, actor=till)

    # when eight retries of one request arrive together
    def redeem(_index: int) -> str:
        response = till_client(till).post(
            url(REDEEM, skip_validation="true"),
            redeem_body(customer, 10),
            format="json",
            HTTP_IDEMPOTENCY_KEY="same-request",
        )
        assert item_code(response) == 800
        return response.json()["response"]["responses"]["points"]["redemption_id"]

    results = run_in_threads(8, redeem)

    # then
    assert all(isinstance(result, str) for result in results), results
    assert len(set(results)) == 1
    assert balance(customer, program) == 90
    assert PointsRedemption.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_credit_a_goodwill_request_once(org, program, till, postgres_only):
    # given a pending goodwill request
    customer = member(org, [program])
    client = till_client(till)
    body = {
        "root": {
            "request": [
                {
                    "customer": {"id": str(customer.pk)},
                    "type": "GOODWILL",
                    "base_type": "POINTS",
                    "points": "50",
                    "reason": "Late delivery",
                }
            ]
        }
    }
    request_id = client.post("/v1.1/request/add", body, format="json").json()["response"][
        "requests"
    ]["request"][0]["id"]

    # when eight staff approve it at once
    def approve(_index: int) -> int:
        response = till_client(till).post(
            "/v1.1/request/approve", {"root": {"request": [{"id": request_id}]}}, format="json"
        )
        return response.json()["response"]["requests"]["request"][0]["item_status"]["code"]

    results = run_in_threads(8, approve)

    # then
    assert Counter(results) == {9000: 1, 9052: 7}, results
    assert balance(customer, program) == 50
    assert PointsRequest.objects.get().status == "APPROVED"
    assert LedgerEvent.objects.filter(customer=customer, net_points=50).count() == 1
    assert_consistent(org)
