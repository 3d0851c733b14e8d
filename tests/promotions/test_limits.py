"""Limits, restrictions, issue / enrol requirements and the resolution of competing promotions."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from members.models import Org
from promotions.exceptions import (
    PromotionAlreadyIssuedError,
    PromotionCustomerNotEnrolledError,
    PromotionIssualLimitError,
    PromotionNotIssuableError,
)
from promotions.models import (
    PromotionCustomerUsage,
    PromotionEarn,
    PromotionIssue,
    PromotionUsage,
)
from promotions.services import (
    promotion_enrol,
    promotion_event_fire,
    promotion_issue,
    promotion_issue_revoke,
    promotion_set_active,
)
from promotions.services.awards import period_start
from tests.members.factories import ProgramFactory
from tests.promotions.factories import (
    award_strategy,
    balance,
    line,
    make_promotion,
    member,
    post_bill,
    restriction,
)


def awarded(response) -> Decimal:
    effects = response.json()["sideEffects"]
    return Decimal(str(effects[0]["awardedPoints"])) if effects else Decimal(0)


def visit(customer, till, event_id: str, **attributes):
    return promotion_event_fire(
        customer=customer,
        event_name="Visit",
        actor=till,
        event_id=event_id,
        attributes=attributes,
    )


# Limits ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_points_per_customer_caps_the_last_award(api_client, program, customer):
    make_promotion(program, award=award_strategy(program, "FIXED", 60), points_per_customer=100)

    results = [awarded(post_bill(api_client, customer, f"B-{n}", 100)) for n in range(3)]

    assert results == [60, 40, 0]
    assert balance(customer, program) == 100


@pytest.mark.django_db
def test_number_of_times_per_customer(api_client, program, customer):
    make_promotion(program, award=award_strategy(program, "FIXED", 10), times_per_customer=2)

    results = [awarded(post_bill(api_client, customer, f"B-{n}", 100)) for n in range(3)]

    assert results == [10, 10, 0]
    usage = PromotionCustomerUsage.objects.get()
    assert (usage.times_awarded, usage.points_awarded) == (2, 20)


@pytest.mark.django_db
def test_total_points_in_promotion_across_customers(api_client, org, program, customer):
    promotion = make_promotion(
        program, award=award_strategy(program, "FIXED", 100), total_points=250
    )
    others = [member(org, [program]) for _ in range(2)]

    results = [
        awarded(post_bill(api_client, who, f"B-{n}", 100))
        for n, who in enumerate([customer, *others])
    ]

    assert results == [100, 100, 50]
    assert PromotionUsage.objects.get(promotion=promotion).points_awarded == 250


@pytest.mark.django_db
def test_points_per_event_limit_and_per_earn_restriction(api_client, program, customer):
    make_promotion(
        program,
        name="Per event",
        award=award_strategy(program, "PERCENT", 10),
        points_per_event=30,
        is_stackable=True,
    )
    make_promotion(
        program,
        name="Per earn",
        award=award_strategy(program, "PERCENT", 10),
        restrictions=[restriction("EARN", "MAX_POINTS_PER_EARN_PER_CUSTOMER", 20)],
        is_stackable=True,
    )

    assert awarded(post_bill(api_client, customer, "B-1", 1000)) == 50


@pytest.mark.django_db
def test_times_per_cart_keeps_the_first_lines(api_client, program, customer):
    make_promotion(
        program,
        allocate_points_on="LINEITEM",
        award=award_strategy(program, "FIXED", 5),
        restrictions=[restriction("REDEMPTION", "MAX_ALLOWED_TIMES_PER_CART", 2)],
    )
    lines = [line(sku, 10) for sku in "ABCD"]

    assert awarded(post_bill(api_client, customer, "B-1", 40, lines)) == 10


@pytest.mark.django_db
def test_earn_restriction_per_fixed_day(program, customer, till):
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
                period_type="FIXED_WINDOW",
                period_unit="DAILY",
            )
        ],
    )

    results = [visit(customer, till, f"v-{n}").side_effects for n in range(3)]
    # an earn from before today's window does not count
    PromotionEarn.objects.update(earned_at=timezone.now() - datetime.timedelta(days=2))
    later = visit(customer, till, "v-later").side_effects

    assert [bool(r) for r in results] == [True, True, False]
    assert later and later[0]["awardedPoints"] == 10


@pytest.mark.django_db
def test_redemption_points_per_customer_in_a_moving_week(program, customer, till):
    make_promotion(
        program,
        event_name="Visit",
        award=award_strategy(program, "FIXED", 40),
        restrictions=[
            restriction(
                "REDEMPTION",
                "MAX_ALLOWED_POINTS_PER_CUSTOMER",
                100,
                type="PERIOD_BASED",
                period_type="MOVING_WINDOW",
                period_unit="WEEKLY",
            )
        ],
    )

    points = [visit(customer, till, f"v-{n}").side_effects for n in range(4)]

    assert [p[0]["awardedPoints"] if p else 0 for p in points] == [40, 40, 20, 0]
    PromotionEarn.objects.update(earned_at=timezone.now() - datetime.timedelta(days=8))
    assert visit(customer, till, "v-later").side_effects[0]["awardedPoints"] == 40


@pytest.mark.django_db
def test_times_per_promotion_across_customers(org, program, customer, till):
    make_promotion(
        program,
        event_name="Visit",
        award=award_strategy(program, "FIXED", 10),
        restrictions=[restriction("REDEMPTION", "MAX_ALLOWED_TIMES_PER_PROMOTION", 2)],
    )
    others = [member(org, [program]) for _ in range(2)]

    results = [
        bool(visit(who, till, f"v-{n}").side_effects) for n, who in enumerate([customer, *others])
    ]

    assert results == [True, True, False]


def test_period_windows():
    org = Org(name="x", time_zone="Asia/Kolkata", week_start_day=0)
    now = datetime.datetime(2024, 6, 12, 20, 0, tzinfo=datetime.UTC)  # Thu 01:30 in Kolkata

    fixed_day = period_start("FIXED_WINDOW", "DAILY", now=now, org=org)
    fixed_week = period_start("FIXED_WINDOW", "WEEKLY", now=now, org=org)
    fixed_month = period_start("FIXED_WINDOW", "MONTHLY", now=now, org=org)
    moving_month = period_start("MOVING_WINDOW", "MONTHLY", now=now, org=org)

    assert fixed_day.isoformat() == "2024-06-13T00:00:00+05:30"
    assert fixed_week.isoformat() == "2024-06-10T00:00:00+05:30"
    assert fixed_month.isoformat() == "2024-06-01T00:00:00+05:30"
    assert moving_month == now.replace(month=5)
    assert period_start("MOVING_WINDOW", "DAILY", now=now, org=org) == now - datetime.timedelta(
        days=1
    )


# Issue and enrol ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_direct_issue_promotions_earn_only_while_issued(api_client, program, customer, till):
    promotion = make_promotion(
        program,
        points_offer_type="LOYALTY",
        award=award_strategy(program, "FIXED", 10),
        restrictions=[restriction("ISSUAL", "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", 2)],
    )

    before = awarded(post_bill(api_client, customer, "B-1", 100))
    issue = promotion_issue(promotion=promotion, customer=customer, actor=till)
    issued = awarded(post_bill(api_client, customer, "B-2", 100))
    with pytest.raises(PromotionAlreadyIssuedError):
        promotion_issue(promotion=promotion, customer=customer, actor=till)
    promotion_issue_revoke(issue=issue, actor=till)
    revoked = awarded(post_bill(api_client, customer, "B-3", 100))
    promotion_issue(promotion=promotion, customer=customer, actor=till)
    PromotionIssue.objects.filter(status="ACTIVE").update(status="REVOKED")

    with pytest.raises(PromotionIssualLimitError):
        promotion_issue(promotion=promotion, customer=customer, actor=till)
    assert (before, issued, revoked) == (0, 10, 0)
    issue.refresh_from_db()
    assert (issue.points_earned, issue.earn_count) == (10, 1)


@pytest.mark.django_db
def test_enrol_and_issue_promotions_and_points_per_issue(api_client, org, program, customer, till):
    promotion = make_promotion(
        program,
        points_offer_type="LOYALTY_EARNING",
        award=award_strategy(program, "FIXED", 30),
        restrictions=[
            restriction("ISSUAL", "MAX_POINTS_PER_ISSUAL_PER_CUSTOMER", 50),
            restriction("EXPIRY", "ISSUAL_PROMOTION_EXPIRY_BASED_ON", 10, type="PROMOTION"),
        ],
    )

    with pytest.raises(PromotionNotIssuableError):
        promotion_issue(promotion=promotion, customer=customer, actor=till)
    enrolment = promotion_enrol(promotion=promotion, customer=customer, actor=till)
    results = [awarded(post_bill(api_client, customer, f"B-{n}", 100)) for n in range(3)]

    assert results == [30, 20, 0]
    assert enrolment.kind == "ENROL"
    expected_end = timezone.localdate(timezone=org.tzinfo) + datetime.timedelta(days=10)
    assert enrolment.expires_at.astimezone(org.tzinfo).date() == expected_end
    stranger = member(org, [ProgramFactory(org=org, name="Other")])
    with pytest.raises(PromotionCustomerNotEnrolledError):
        promotion_enrol(promotion=promotion, customer=stranger, actor=till)
    promotion_set_active(promotion=promotion, is_active=False, actor=None)
    with pytest.raises(PromotionNotIssuableError):
        promotion_enrol(promotion=promotion, customer=customer, actor=till)


@pytest.mark.django_db
def test_issue_and_enrol_apis(api_client, program, customer):
    direct = make_promotion(program, name="Direct", points_offer_type="LOYALTY")
    enrol = make_promotion(program, name="Enrol", points_offer_type="LOYALTY_EARNING")
    base = f"/api_gateway/loyalty/v1/programs/{program.pk}/promotions"
    who = {"identifierName": "mobile", "identifierValue": customer.mobile, "source": "INSTORE"}

    issued = api_client.post(f"{base}/{direct.pk}/issue", who, format="json")
    again = api_client.post(f"{base}/{direct.pk}/issue", who, format="json")
    enrolled = api_client.post(f"{base}/{enrol.pk}/enrol", who, format="json")
    wrong = api_client.post(f"{base}/{direct.pk}/enrol", who, format="json")
    unknown = api_client.post(
        f"{base}/{direct.pk}/issue", {**who, "identifierValue": "919999999999"}, format="json"
    )

    assert issued.status_code == 200, issued.content
    assert issued.json()["data"][0]["kind"] == "ISSUE"
    assert (again.status_code, again.json()["status"]["code"]) == (409, 4092)
    assert enrolled.json()["data"][0]["kind"] == "ENROL"
    assert wrong.json()["status"]["code"] == 4090
    assert unknown.json()["status"]["code"] == 8015


# Competing promotions -------------------------------------------------------------------------
@pytest.mark.django_db
def test_only_the_best_ranked_non_stackable_promotion_applies(api_client, program, customer):
    make_promotion(program, name="Small", award=award_strategy(program, "FIXED", 10))
    make_promotion(program, name="Big", award=award_strategy(program, "FIXED", 30))
    make_promotion(
        program, name="Stacks", award=award_strategy(program, "FIXED", 5), is_stackable=True
    )

    response = post_bill(api_client, customer, "B-1", 100)

    assert awarded(response) == 35
    names = set(PromotionEarn.objects.values_list("promotion__name", flat=True))
    assert names == {"Big", "Stacks"}


@pytest.mark.django_db
def test_ranking_considers_ranked_promotions_then_priority(api_client, program, customer):
    make_promotion(program, name="Unranked big", award=award_strategy(program, "FIXED", 90))
    make_promotion(
        program,
        name="Ranked second",
        award=award_strategy(program, "FIXED", 20),
        is_considered_for_ranking=True,
        priority=2,
    )
    make_promotion(
        program,
        name="Ranked first",
        award=award_strategy(program, "FIXED", 10),
        is_considered_for_ranking=True,
        priority=1,
    )

    post_bill(api_client, customer, "B-1", 100)

    assert list(PromotionEarn.objects.values_list("promotion__name", flat=True)) == ["Ranked first"]


@pytest.mark.django_db
def test_an_exclusive_promotion_shuts_out_the_others_but_always_apply(
    api_client, program, customer
):
    make_promotion(
        program, name="Stacks", award=award_strategy(program, "FIXED", 5), is_stackable=True
    )
    make_promotion(
        program, name="Exclusive", award=award_strategy(program, "FIXED", 20), is_exclusive=True
    )
    make_promotion(
        program, name="Always", award=award_strategy(program, "FIXED", 1), is_always_apply=True
    )

    assert awarded(post_bill(api_client, customer, "B-1", 100)) == 21


@pytest.mark.django_db
def test_an_exhausted_winner_gives_way_to_the_next_in_rank(api_client, program, customer):
    make_promotion(
        program, name="Big once", award=award_strategy(program, "FIXED", 30), times_per_customer=1
    )
    make_promotion(program, name="Small", award=award_strategy(program, "FIXED", 10))

    first = awarded(post_bill(api_client, customer, "B-1", 100))
    second = awarded(post_bill(api_client, customer, "B-2", 100))

    assert (first, second) == (30, 10)


@pytest.mark.django_db
def test_resolution_is_per_program(api_client, org, program):
    second_program = ProgramFactory(org=org, name="Second")
    customer = member(org, [program, second_program])
    make_promotion(program, name="First", award=award_strategy(program, "FIXED", 10))
    make_promotion(second_program, name="Second", award=award_strategy(second_program, "FIXED", 7))

    response = post_bill(api_client, customer, "B-1", 100)

    assert awarded(response) == 17
    assert balance(customer, program) == 10 and balance(customer, second_program) == 7
