"""Issual limits under concurrent requests (real threads; PostgreSQL row locks)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from coupons.exceptions import (
    CommonCouponAlreadyIssuedError,
    CustomerIssualLimitReachedError,
    SeriesIssualLimitReachedError,
)
from coupons.models import CodeType, Coupon, CouponSeries
from coupons.services.codes import coupon_codes_generate
from coupons.services.issue import coupon_issue
from tests.members.factories import CustomerFactory


def run_threads(count: int, work: Callable[[int], list[Any]]) -> list[Any]:
    """Run `work(index)` in `count` threads released together; all results, flattened."""
    barrier = threading.Barrier(count)
    results: list[list[Any]] = [[] for _ in range(count)]

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:  # reported in the results, asserted by the test
            results[index] = [exc]
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [item for batch in results for item in batch]


def attempt(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        return exc


@pytest.mark.django_db(transaction=True)
def test_series_limit_50_holds_for_16_threads_of_10_issues(postgres_only, make_series, org, till):
    # given an offer limited to 50 issuals, with pre-generated codes for half of them
    series = make_series(max_issuals=50, allows_multiple_per_customer=True, max_per_customer=None)
    coupon_codes_generate(series=series, count=25)
    customers = CustomerFactory.create_batch(16, org=org)

    # when 16 threads issue 10 coupons each at once
    def work(index: int) -> list[Any]:
        customer = customers[index]
        return [
            attempt(lambda: coupon_issue(series=series, customer=customer, actor=till))
            for _ in range(10)
        ]

    results = run_threads(16, work)

    # then exactly 50 were issued, the rest refused with 743, and the counter agrees
    errors = [result for result in results if isinstance(result, Exception)]
    assert all(isinstance(error, SeriesIssualLimitReachedError) for error in errors), errors
    assert len(results) - len(errors) == 50
    assert Coupon.objects.filter(series=series, customer__isnull=False).count() == 50
    series = CouponSeries.objects.get(pk=series.pk)
    assert series.num_issued == 50
    codes = list(Coupon.objects.filter(series=series).values_list("code", flat=True))
    assert len(codes) == len(set(codes))


@pytest.mark.django_db(transaction=True)
def test_per_customer_max_2_holds_for_10_threads(postgres_only, make_series, org, till):
    # given an offer allowing 2 coupons per customer
    series = make_series(allows_multiple_per_customer=True, max_per_customer=2)
    customer = CustomerFactory(org=org)

    # when 10 threads issue to the same customer at once
    results = run_threads(
        10,
        lambda index: [attempt(lambda: coupon_issue(series=series, customer=customer, actor=till))],
    )

    # then exactly 2 coupons exist, and the other 8 calls got 744
    errors = [result for result in results if isinstance(result, Exception)]
    assert len(errors) == 8
    assert all(isinstance(error, CustomerIssualLimitReachedError) for error in errors), errors
    assert Coupon.objects.filter(series=series, customer=customer).count() == 2
    assert CouponSeries.objects.get(pk=series.pk).num_issued == 2


@pytest.mark.django_db(transaction=True)
def test_common_code_once_per_customer_under_concurrency(postgres_only, make_series, org, till):
    series = make_series(code_type=CodeType.COMMON, generic_code="RUSH")
    customer = CustomerFactory(org=org)

    results = run_threads(
        8,
        lambda index: [attempt(lambda: coupon_issue(series=series, customer=customer, actor=till))],
    )

    errors = [result for result in results if isinstance(result, Exception)]
    assert len(errors) == 7
    assert all(isinstance(error, CommonCouponAlreadyIssuedError) for error in errors), errors
    assert Coupon.objects.filter(series=series, customer=customer).count() == 1


@pytest.mark.django_db(transaction=True)
def test_same_idempotency_key_issues_once(postgres_only, make_series, org, till):
    series = make_series(allows_multiple_per_customer=True, max_per_customer=None)
    customer = CustomerFactory(org=org)

    results = run_threads(
        6,
        lambda index: [
            attempt(
                lambda: coupon_issue(
                    series=series, customer=customer, actor=till, idempotency_key="same"
                )
            )
        ],
    )

    assert not [result for result in results if isinstance(result, Exception)], results
    assert len({result.coupon.pk for result in results}) == 1
    assert CouponSeries.objects.get(pk=series.pk).num_issued == 1
