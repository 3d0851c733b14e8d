"""Redemption rules (seed 001 "Configuring the Redemption settings"): each rule has its own code,
"is redeemable" reports every failed rule, a redeem refuses with the first."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from coupons.exceptions import CouponRedemptionRuleError
from coupons.models import Coupon, CouponRedemption, RedemptionEntityType
from coupons.selectors import series_redeemed_total
from tests.coupons.redeem_helpers import check, codes_of, days, issue, redeem
from tests.members.factories import (
    ConceptFactory,
    CustomerFactory,
    StoreFactory,
    TillFactory,
    TransactionFactory,
    ZoneFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(org):
    return CustomerFactory(org=org)


@pytest.fixture
def other_customer(org):
    return CustomerFactory(org=org)


def test_redeem_single_use_coupon_once(make_series, customer, till):
    series = make_series()
    coupon = issue(series, customer, till)
    outcome = redeem(coupon, customer, till, transaction_number="B-1")
    assert outcome.redemption.is_active
    assert outcome.redemption.coupon_value == Decimal("10.00")
    coupon.refresh_from_db()
    assert coupon.redemption_count == 1
    assert series_redeemed_total(series) == 1
    with pytest.raises(CouponRedemptionRuleError) as caught:
        redeem(coupon, customer, till, transaction_number="B-2")
    assert caught.value.code == 711


def test_retry_with_same_bill_returns_first_redemption(make_series, customer, till):
    series = make_series()
    coupon = issue(series, customer, till)
    first = redeem(coupon, customer, till, transaction_number="B-1")
    again = redeem(coupon.code.lower(), customer, till, transaction_number="B-1")
    assert again.replayed and again.redemption.pk == first.redemption.pk
    assert CouponRedemption.objects.count() == 1


def test_idempotency_key_replays(make_series, customer, till):
    coupon = issue(make_series(), customer, till)
    first = redeem(coupon, customer, till, idempotency_key="k1")
    again = redeem(coupon, customer, till, idempotency_key="k1")
    assert again.replayed and again.redemption.pk == first.redemption.pk


def test_unknown_code_is_702(make_series, customer, till):
    make_series()
    with pytest.raises(CouponRedemptionRuleError) as caught:
        redeem("NOPE1234", customer, till)
    assert caught.value.code == 702


def test_not_issued_to_customer_unless_anyone_may_redeem(
    make_series, customer, other_customer, till
):
    private = issue(make_series(), customer, till)
    with pytest.raises(CouponRedemptionRuleError) as caught:
        redeem(private, other_customer, till)
    assert caught.value.code == 703
    shared = issue(make_series(description="Open", any_user=True), customer, till)
    assert redeem(shared, other_customer, till).redemption.customer == other_customer


def test_expired_revoked_and_ended(make_series, customer, till):
    series = make_series()
    coupon = issue(series, customer, till)
    Coupon.objects.filter(pk=coupon.pk).update(valid_till=timezone.now() - days(1))
    assert 713 in codes_of(check(coupon, customer, till).failures)
    Coupon.objects.filter(pk=coupon.pk).update(revoked_at=timezone.now())
    assert 749 in codes_of(check(coupon, customer, till).failures)


def test_redemption_starts_days_after_issual_by_date(make_series, customer, till, org):
    series = make_series(redemption_valid_after_days=1)
    coupon = issue(series, customer, till)
    assert codes_of(check(coupon, customer, till).failures) == [729]
    tomorrow = timezone.now().astimezone(org.tzinfo).date() + days(1)
    at = datetime.datetime.combine(tomorrow, datetime.time(0, 1), tzinfo=org.tzinfo)
    assert check(coupon, customer, till, at=at).is_redeemable


def test_redemption_from_specific_date_combined_with_days(make_series, customer, till):
    start = timezone.now() + days(30)
    series = make_series(redemption_valid_from=start, redemption_valid_after_days=2)
    coupon = issue(series, customer, till)
    assert codes_of(check(coupon, customer, till, at=timezone.now() + days(5)).failures) == [729]
    assert check(coupon, customer, till, at=start + days(1)).is_redeemable


def test_multiple_redemptions_with_per_customer_cap(make_series, customer, till):
    series = make_series(
        is_multiple_use_allowed=True, same_user_multiple_redeem=True, max_redemptions_per_user=2
    )
    coupon = issue(series, customer, till)
    redeem(coupon, customer, till, transaction_number="B-1")
    redeem(coupon, customer, till, transaction_number="B-2")
    result = check(coupon, customer, till)
    assert codes_of(result.failures) == [728]
    with pytest.raises(CouponRedemptionRuleError) as caught:
        redeem(coupon, customer, till, transaction_number="B-3")
    assert caught.value.code == 728


def test_same_user_cannot_redeem_same_code_twice_without_permission(make_series, customer, till):
    series = make_series(is_multiple_use_allowed=True, any_user=True)
    coupon = issue(series, customer, till)
    redeem(coupon, customer, till, transaction_number="B-1")
    assert codes_of(check(coupon, customer, till).failures) == [706]


def test_per_code_cap_across_customers(make_series, org, till):
    series = make_series(
        any_user=True, is_multiple_use_allowed=True, redemption_per_coupon_max_limit=2
    )
    holder = CustomerFactory(org=org)
    coupon = issue(series, holder, till)
    redeem(coupon, CustomerFactory(org=org), till)
    redeem(coupon, CustomerFactory(org=org), till)
    late = CustomerFactory(org=org)
    assert codes_of(check(coupon, late, till).failures) == [736]


def test_store_zone_concept_and_till_restrictions(make_series, org, customer, till):
    zone, concept = ZoneFactory(org=org), ConceptFactory(org=org)
    store = StoreFactory(org=org, zone=zone, concept=concept)
    at_store = TillFactory(org=org, store=store)
    elsewhere = TillFactory(org=org)
    cases = [
        (RedemptionEntityType.STORE, store.pk),
        (RedemptionEntityType.ZONE, zone.pk),
        (RedemptionEntityType.CONCEPT, concept.pk),
        (RedemptionEntityType.TILL, at_store.pk),
    ]
    for kind, entity_id in cases:
        series = make_series(
            description=f"Only {kind}",
            redemption_org_entities=[{"redemptionOrgEntityType": kind, "orgEntityId": entity_id}],
        )
        coupon = issue(series, customer, till)
        assert check(coupon, customer, at_store).is_redeemable, kind
        assert codes_of(check(coupon, customer, elsewhere).failures) == [735], kind


def test_bill_amount_bounds(make_series, customer, till):
    series = make_series(min_bill_amount=Decimal("100"), max_bill_amount=Decimal("1000"))
    coupon = issue(series, customer, till)
    assert codes_of(check(coupon, customer, till, bill_amount=Decimal("99")).failures) == [733]
    assert codes_of(check(coupon, customer, till, bill_amount=Decimal("1001")).failures) == [733]
    # A check before the bill is known skips the amount; a redemption without one fails it.
    assert check(coupon, customer, till, bill_amount=None).is_redeemable
    with pytest.raises(CouponRedemptionRuleError) as caught:
        redeem(coupon, customer, till, bill_amount=None)
    assert caught.value.code == 733
    assert check(coupon, customer, till, bill_amount=Decimal("100")).is_redeemable


def test_days_of_week_month_and_hours(make_series, customer, till, org):
    monday_10 = datetime.datetime(2026, 11, 23, 10, 30, tzinfo=org.tzinfo)  # a Monday, the 23rd
    series = make_series(redemption_range={"dow": [2], "dom": [23], "hours": [10]})
    coupon = issue(series, customer, till)
    Coupon.objects.filter(pk=coupon.pk).update(issued_at=monday_10 - days(10))
    assert check(coupon, customer, till, at=monday_10).is_redeemable
    assert codes_of(check(coupon, customer, till, at=monday_10 + days(1)).failures) == [739]
    hour_later = monday_10 + datetime.timedelta(hours=1)
    assert codes_of(check(coupon, customer, till, at=hour_later).failures) == [739]


def test_minimum_gap_between_redemptions(make_series, customer, till):
    series = make_series(
        is_multiple_use_allowed=True, same_user_multiple_redeem=True, min_days_between_redemptions=3
    )
    coupon = issue(series, customer, till)
    redeem(coupon, customer, till, transaction_number="B-1")
    result = check(coupon, customer, till)
    assert codes_of(result.failures) == [738]
    assert "3 more day" in result.failures[0].message
    assert check(coupon, customer, till, at=timezone.now() + days(3)).is_redeemable


def test_gap_does_not_apply_to_single_use_coupons(make_series, customer, till):
    series = make_series(
        allows_multiple_per_customer=True, max_per_customer=5, min_days_between_redemptions=3
    )
    first, second = issue(series, customer, till), issue(series, customer, till)
    redeem(first, customer, till)
    assert check(second, customer, till).is_redeemable


def test_offer_total_redemption_limit(make_series, org, till):
    series = make_series(max_redemptions=2)
    customers = [CustomerFactory(org=org) for _ in range(3)]
    coupons = [issue(series, customer, till) for customer in customers]
    redeem(coupons[0], customers[0], till)
    redeem(coupons[1], customers[1], till)
    assert codes_of(check(coupons[2], customers[2], till).failures) == [714]
    with pytest.raises(CouponRedemptionRuleError) as caught:
        redeem(coupons[2], customers[2], till)
    assert caught.value.code == 714
    assert series_redeemed_total(series) == 2


def test_new_customers_only(make_series, org, till):
    window_start = timezone.now() - days(10)
    series = make_series(
        target_registered_from=window_start,
        target_registered_until=timezone.now() + days(1),
        target_max_transactions=1,
    )
    old = CustomerFactory(org=org, registered_at=window_start - days(1))
    assert codes_of(check(issue(series, old, till), old, till).failures) == [710]
    busy = CustomerFactory(org=org)
    TransactionFactory.create_batch(2, org=org, customer=busy, till=till, store=till.store)
    assert codes_of(check(issue(series, busy, till), busy, till).failures) == [723]


def test_mutually_exclusive_offers_on_one_bill(make_series, customer, till):
    first_series = make_series(description="A")
    second_series = make_series(description="B", past_issual_series_ids=[first_series.pk])
    # B excludes A's recipients at issual, so the customer got B before A; on one bill the
    # exclusion holds either way round.
    second = issue(second_series, customer, till)
    first = issue(first_series, customer, till)
    redeem(first, customer, till, transaction_number="B-1")
    assert codes_of(check(second, customer, till, transaction_number="B-1").failures) == [741]
    assert check(second, customer, till, transaction_number="B-2").is_redeemable


def test_is_redeemable_reports_every_failed_rule(make_series, org, customer, till):
    elsewhere = TillFactory(org=org)
    series = make_series(
        min_bill_amount=Decimal("100"),
        redemption_valid_after_days=2,
        redemption_org_entities=[
            {"redemptionOrgEntityType": "STORE", "orgEntityId": till.store_id}
        ],
    )
    coupon = issue(series, customer, till)
    result = check(coupon, customer, elsewhere, bill_amount=Decimal("5"))
    assert codes_of(result.failures) == [729, 735, 733]
    with pytest.raises(CouponRedemptionRuleError) as caught:
        redeem(coupon, customer, elsewhere, bill_amount=Decimal("5"))
    assert caught.value.code == 729
    assert codes_of(caught.value.failures) == [729, 735, 733]
    assert not CouponRedemption.objects.exists()
