"""userGroup2 invariants under concurrent requests (real threads; PostgreSQL row locks)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from members.models import UserGroup, UserGroupMembership
from tests.conftest import till_client
from tests.members.factories import CustomerFactory, UserGroupFactory


def run_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together; return results in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as exc:  # reported in the results, asserted by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_twelve_concurrent_joins_fill_a_group_of_five_exactly(postgres_only, org, till):
    # given
    group = UserGroupFactory(org=org, max_size=5)
    customers = CustomerFactory.create_batch(12, org=org)

    def join(customer_id: int) -> Callable[[], Any]:
        def call():
            client = till_client(till)
            response = client.post(
                f"/v2/userGroup2/join?id={group.pk}", [{"userId": customer_id}], format="json"
            )
            return response.status_code, response.json()

        return call

    # when
    results = run_at_once([join(customer.pk) for customer in customers])

    # then
    assert all(isinstance(result, tuple) and result[0] == 200 for result in results), results
    items = [body["response"][0] for _status, body in results]
    failures = [item["errors"][0]["code"] for item in items if "errors" in item]
    assert len(failures) == 7
    assert set(failures) == {1638}
    group.refresh_from_db()
    assert group.member_count == 5
    assert UserGroupMembership.objects.filter(group=group, is_active=True).count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_with_one_external_id_make_one_group(postgres_only, org, till):
    for round_number in range(3):
        # given
        body = {"externalId": f"race_{round_number}", "groupName": "race", "maxGroupSize": 10}

        def create(body=body):
            response = till_client(till).post("/v2/userGroup2", body, format="json")
            return response.status_code, response.json()

        # when
        results = run_at_once([create, create])

        # then
        statuses = sorted(status for status, _body in results)
        assert statuses == [200, 400], results
        rejected = next(body for status, body in results if status == 400)
        assert [error["code"] for error in rejected["errors"]] == [1633]
        assert UserGroup.objects.filter(org=org, external_id=body["externalId"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_customer_joining_two_groups_at_once_lands_in_one(postgres_only, org, till):
    # given
    groups = UserGroupFactory.create_batch(2, org=org)
    customer = CustomerFactory(org=org)

    def join(group: UserGroup) -> Callable[[], Any]:
        def call():
            response = till_client(till).post(
                f"/v2/userGroup2/join?id={group.pk}", [{"userId": customer.pk}], format="json"
            )
            return response.json()["response"][0]

        return call

    # when
    items = run_at_once([join(group) for group in groups])

    # then
    failures = [item["errors"][0]["code"] for item in items if "errors" in item]
    assert failures == [1623], items
    assert UserGroupMembership.objects.filter(customer=customer, is_active=True).count() == 1
    counts = sorted(UserGroup.objects.filter(org=org).values_list("member_count", flat=True))
    assert counts == [0, 1]
