"""Redemption limits under concurrent requests (real threads; PostgreSQL row locks): the offer's
total limit through the sharded counter, per-customer and per-code caps, the gap between
redemptions and retries of one redemption."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from coupons.exceptions import (
    CodeRedemptionLimitReachedError,
    CustomerRedemptionLimitReachedError,
    OfferRedemptionLimitReachedError,
    RedemptionGapNotMetError,
)
from coupons.models import Coupon, CouponRedemption, CouponRedemptionCounter
from coupons.services.redemption import RedemptionTarget, coupon_redeem
from coupons.services.redemption.reverse import coupon_redemption_reverse
from members.models import Customer
from tests.coupons.redeem_helpers import issue
from tests.coupons.test_issue_concurrency import attempt, run_threads
from tests.members.factories import CustomerFactory

THREADS = 64


def _redeem(code: str, customer: Customer, till, number: str = "") -> Any:
    return attempt(
        lambda: coupon_redeem(
            org_ids=[customer.org_id],
            targets=[RedemptionTarget(code=code)],
            customer=customer,
            actor=till,
            bill_amount=Decimal("100"),
            transaction_number=number,
        )
    )


def _issued_coupons(series, count: int, org) -> list[tuple[str, Customer]]:
    """`count` customers with one issued coupon each, written in bulk."""
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [
            Customer(
                org=org,
                mobile=f"9177{index:08d}",
                first_name="Load",
                last_name=str(index),
                registered_at=now,
            )
            for index in range(count)
        ]
    )
    Coupon.objects.bulk_create(
        [
            Coupon(
                org=org,
                series=series,
                code=f"HOT{index:07d}",
                source=Coupon.Source.GENERATED,
                customer=customer,
                issued_at=now,
                valid_till=now + datetime.timedelta(days=30),
            )
            for index, customer in enumerate(customers)
        ]
    )
    return [(f"HOT{index:07d}", customer) for index, customer in enumerate(customers)]


@pytest.mark.django_db(transaction=True)
def test_offer_limit_1000_holds_for_5000_attempts_from_64_threads(
    postgres_only, make_series, org, till
):
    # given an offer limited to 1,000 redemptions and 5,000 holders of its coupons
    series = make_series(max_redemptions=1000)
    holders = _issued_coupons(series, 5000, org)
    chunks = [holders[index::THREADS] for index in range(THREADS)]

    # when 64 threads redeem all 5,000 coupons at once
    results = run_threads(
        THREADS, lambda index: [_redeem(code, customer, till) for code, customer in chunks[index]]
    )

    # then exactly 1,000 succeed and 4,000 are told the offer's limit is reached
    errors = [result for result in results if isinstance(result, Exception)]
    assert all(isinstance(error, OfferRedemptionLimitReachedError) for error in errors), {
        f"{type(error).__name__}: {error}"[:200] for error in errors
    }
    assert len(results) - len(errors) == 1000
    assert len(errors) == 4000
    assert CouponRedemption.objects.filter(series=series, is_active=True).count() == 1000
    counters = CouponRedemptionCounter.objects.filter(series=series)
    assert counters.aggregate(used=Sum("used"))["used"] == 1000
    assert counters.aggregate(quota=Sum("quota"))["quota"] == 1000
    assert Coupon.objects.filter(series=series, redemption_count=1).count() == 1000


@pytest.mark.django_db(transaction=True)
def test_reversals_free_units_while_redeeming_concurrently(postgres_only, make_series, org, till):
    # given an offer limited to 100 whose 100 units are taken
    series = make_series(max_redemptions=100)
    holders = _issued_coupons(series, 300, org)
    first = [_redeem(code, customer, till) for code, customer in holders[:100]]
    assert not any(isinstance(result, Exception) for result in first)
    redemption_ids = [outcomes[0].redemption.pk for outcomes in first]

    # when 30 of them are reversed while 200 others try to redeem, 16 threads each
    rest = holders[100:]

    def work(index: int) -> list[Any]:
        results: list[Any] = []
        if index < 6:
            for redemption_id in redemption_ids[index * 5 : index * 5 + 5]:
                coupon_redemption_reverse(org_ids=[org.pk], redemption_id=redemption_id, actor=till)
            return results
        return [_redeem(code, customer, till) for code, customer in rest[index - 6 :: 10]]

    results = run_threads(16, work)

    # then exactly the 30 freed units were taken again: 100 active redemptions
    successes = [result for result in results if not isinstance(result, Exception)]
    assert len(successes) == 30
    assert CouponRedemption.objects.filter(series=series, is_active=True).count() == 100
    used = CouponRedemptionCounter.objects.filter(series=series).aggregate(used=Sum("used"))
    assert used["used"] == 100


@pytest.mark.django_db(transaction=True)
def test_per_customer_cap_holds_for_concurrent_redemptions(postgres_only, make_series, org, till):
    # given a coupon the customer may redeem 3 times
    series = make_series(
        is_multiple_use_allowed=True, same_user_multiple_redeem=True, max_redemptions_per_user=3
    )
    customer = CustomerFactory(org=org)
    coupon = issue(series, customer, till)

    # when 32 threads redeem it on different bills at once
    results = run_threads(32, lambda index: [_redeem(coupon.code, customer, till, f"B-{index}")])

    # then exactly 3 succeed
    errors = [result for result in results if isinstance(result, Exception)]
    assert all(isinstance(error, CustomerRedemptionLimitReachedError) for error in errors), errors
    assert len(results) - len(errors) == 3
    coupon.refresh_from_db()
    assert coupon.redemption_count == 3


@pytest.mark.django_db(transaction=True)
def test_per_code_cap_holds_for_concurrent_customers(postgres_only, make_series, org, till):
    # given a shared code limited to 5 redemptions across customers
    series = make_series(
        any_user=True, is_multiple_use_allowed=True, redemption_per_coupon_max_limit=5
    )
    coupon = issue(series, CustomerFactory(org=org), till)
    customers = CustomerFactory.create_batch(32, org=org)

    # when 32 customers redeem it at once
    results = run_threads(32, lambda index: [_redeem(coupon.code, customers[index], till)])

    # then exactly 5 succeed, the others are told the code's limit is reached
    errors = [result for result in results if isinstance(result, Exception)]
    assert all(isinstance(error, CodeRedemptionLimitReachedError) for error in errors), errors
    assert len(results) - len(errors) == 5


@pytest.mark.django_db(transaction=True)
def test_minimum_gap_holds_for_concurrent_redemptions(postgres_only, make_series, org, till):
    # given a reusable coupon with a 1-day gap between a customer's redemptions
    series = make_series(
        is_multiple_use_allowed=True, same_user_multiple_redeem=True, min_days_between_redemptions=1
    )
    customer = CustomerFactory(org=org)
    coupon = issue(series, customer, till)

    # when 24 threads redeem it on different bills at once
    results = run_threads(24, lambda index: [_redeem(coupon.code, customer, till, f"G-{index}")])

    # then one succeeds and the others must wait
    errors = [result for result in results if isinstance(result, Exception)]
    assert all(isinstance(error, RedemptionGapNotMetError) for error in errors), errors
    assert len(results) - len(errors) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_redemption_make_one(postgres_only, make_series, org, till):
    # given a coupon
    series = make_series()
    customer = CustomerFactory(org=org)
    coupon = issue(series, customer, till)

    # when 20 threads send the same redemption (same code and bill) at once
    results = run_threads(20, lambda index: [_redeem(coupon.code, customer, till, "SAME-BILL")])

    # then all get the same redemption and only one exists
    assert not any(isinstance(result, Exception) for result in results), results
    assert len({outcomes[0].redemption.pk for outcomes in results}) == 1
    assert CouponRedemption.objects.count() == 1
