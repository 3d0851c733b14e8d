"""Promotion limits under concurrent events, on PostgreSQL with real threads.

SQLite serialises writers and has no row locks, so these tests skip there (postgres_only).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from promotions.exceptions import PromotionAlreadyIssuedError
from promotions.models import PromotionCustomerUsage, PromotionEarn, PromotionIssue, PromotionUsage
from promotions.services import promotion_event_fire, promotion_issue
from tests.conftest import till_client
from tests.members.test_transaction_concurrency import run_in_threads
from tests.promotions.factories import (
    award_strategy,
    balance,
    bill_body,
    make_promotion,
    member,
    restriction,
)


def post_bill(till, customer, number: str, amount=100):
    response = till_client(till).post(
        f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}",
        bill_body(number, amount),
        format="json",
    )
    return response.status_code, response.json()


def awarded_points(body) -> Decimal:
    effects = body["sideEffects"]
    return Decimal(str(effects[0]["awardedPoints"])) if effects else Decimal(0)


def ok(results) -> None:
    assert all(not isinstance(result, Exception) for result in results), results


@pytest.mark.django_db(transaction=True)
def test_three_times_per_customer_with_twelve_concurrent_bills(org, program, till, postgres_only):
    # given a promotion a customer may earn 3 times
    customer = member(org, [program])
    promotion = make_promotion(
        program, award=award_strategy(program, "FIXED", 10), times_per_customer=3
    )

    # when 12 bills of that customer arrive at once
    results = run_in_threads(12, lambda n: post_bill(till, customer, f"RACE-{n}"))

    # then every bill is stored and exactly 3 earn
    ok(results)
    assert {status for status, _ in results} == {200}, results
    earned = [body for _, body in results if body["sideEffects"]]
    assert len(earned) == 3
    assert PromotionEarn.objects.filter(promotion=promotion).count() == 3
    usage = PromotionCustomerUsage.objects.get(promotion=promotion, customer=customer)
    assert (usage.times_awarded, usage.points_awarded) == (3, 30)
    assert balance(customer, program) == 30


@pytest.mark.django_db(transaction=True)
def test_total_points_in_promotion_with_thirty_customers_at_once(org, program, till, postgres_only):
    # given 1000 points to share, 100 per bill
    promotion = make_promotion(
        program, award=award_strategy(program, "FIXED", 100), total_points=1000
    )
    customers = [member(org, [program]) for _ in range(30)]

    # when 30 customers' bills arrive at once
    results = run_in_threads(30, lambda n: post_bill(till, customers[n], f"RACE-{n}"))

    # then exactly 10 earn and the promotion gave exactly 1000
    ok(results)
    assert {status for status, _ in results} == {200}, results
    points = [awarded_points(body) for _, body in results]
    assert sorted(points, reverse=True)[:11] == [100] * 10 + [0]
    assert PromotionUsage.objects.get(promotion=promotion).points_awarded == 1000
    given = PromotionEarn.objects.filter(promotion=promotion).aggregate(total=Sum("points"))
    assert given["total"] == 1000
    assert sum(balance(customer, program) for customer in customers) == 1000


@pytest.mark.django_db(transaction=True)
def test_points_per_customer_caps_concurrent_awards_exactly(org, program, till, postgres_only):
    customer = member(org, [program])
    make_promotion(program, award=award_strategy(program, "FIXED", 30), points_per_customer=100)

    results = run_in_threads(10, lambda n: post_bill(till, customer, f"RACE-{n}"))

    ok(results)
    assert sorted(awarded_points(body) for _, body in results)[-4:] == [10, 30, 30, 30]
    assert balance(customer, program) == 100


@pytest.mark.django_db(transaction=True)
def test_a_weekly_earn_restriction_holds_for_concurrent_custom_events(
    org, program, till, postgres_only
):
    customer = member(org, [program])
    make_promotion(
        program,
        event_name="Visit",
        award=award_strategy(program, "FIXED", 10),
        restrictions=[
            restriction(
                "EARN",
                "MAX_NUMBER_OF_EARNS_PER_CUSTOMER",
                2,
                type="PERIOD_BASED",
                period_type="MOVING_WINDOW",
                period_unit="WEEKLY",
            )
        ],
    )

    def fire(n):
        return promotion_event_fire(
            customer=customer, event_name="Visit", actor=till, event_id=f"visit-{n}"
        ).side_effects

    results = run_in_threads(8, fire)

    ok(results)
    assert len([effects for effects in results if effects]) == 2
    assert balance(customer, program) == 20


@pytest.mark.django_db(transaction=True)
def test_promotion_wide_times_per_week_with_concurrent_customers(org, program, till, postgres_only):
    make_promotion(
        program,
        event_name="Visit",
        award=award_strategy(program, "FIXED", 10),
        restrictions=[
            restriction(
                "REDEMPTION",
                "MAX_ALLOWED_TIMES_PER_PROMOTION",
                5,
                type="PERIOD_BASED",
                period_type="FIXED_WINDOW",
                period_unit="WEEKLY",
            )
        ],
    )
    customers = [member(org, [program]) for _ in range(16)]

    def fire(n):
        return promotion_event_fire(
            customer=customers[n], event_name="Visit", actor=till, event_id=f"visit-{n}"
        ).side_effects

    results = run_in_threads(16, fire)

    ok(results)
    assert len([effects for effects in results if effects]) == 5
    assert PromotionEarn.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_of_one_promotion_to_one_customer_make_one(
    org, program, till, postgres_only
):
    customer = member(org, [program])
    promotion = make_promotion(program, points_offer_type="LOYALTY")

    def issue(_n):
        try:
            return promotion_issue(promotion=promotion, customer=customer, actor=till).pk
        except PromotionAlreadyIssuedError:
            return "already"

    results = run_in_threads(8, issue)

    ok(results)
    assert results.count("already") == 7
    assert PromotionIssue.objects.filter(customer=customer).count() == 1
    assert PromotionCustomerUsage.objects.get(customer=customer).issues_count == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_one_promotion_create_one(org, program, till, postgres_only):
    from promotions.models import Promotion
    from tests.promotions.factories import seed_request

    url = f"/api_gateway/loyalty/v1/programs/{program.pk}/promotions/add/simple"

    def add(_n):
        response = till_client(till).post(url, seed_request(program.pk), format="json")
        return response.status_code, response.json()["status"]["code"]

    results = run_in_threads(6, add)

    ok(results)
    assert sorted(results) == [(200, 200)] + [(409, 4007)] * 5
    assert Promotion.objects.count() == 1
