"""coupon_issue: codes handed out per code type, and every issual rule with its own code."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from coupons.exceptions import (
    CommonCouponAlreadyIssuedError,
    CouponCodeExistsError,
    CouponCustomerNotFoundError,
    CouponIdempotencyKeyReusedError,
    CouponSeriesExpiredError,
    CustomerIssualLimitReachedError,
    CustomerNotInAudienceError,
    IssualGapNotMetError,
    PastIssualRestrictionError,
    SeriesIssualLimitReachedError,
    UnableToIssueError,
)
from coupons.models import CodeType, Coupon, CouponSeries, DeliveryMethod, ExpiryStrategy
from coupons.services.audiences import coupon_audience_add_customers, coupon_audience_create
from coupons.services.codes import coupon_codes_add, coupon_codes_generate
from coupons.services.issue import coupon_issue
from loyalty_site.core import sms
from tests.members.factories import CustomerFactory


@pytest.fixture(autouse=True)
def _empty_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def customer(org):
    return CustomerFactory(org=org, first_name="Asha", last_name="Rao", mobile="919800000001")


def issued_count(series: CouponSeries) -> int:
    return Coupon.objects.filter(series=series, customer__isnull=False).count()


def refreshed(series: CouponSeries) -> CouponSeries:
    return CouponSeries.objects.get(pk=series.pk)


@pytest.mark.django_db
def test_auto_offer_generates_a_code_and_its_expiry(make_series, customer, till):
    # given an auto-code offer whose coupons last 1 day from issual
    series = make_series(expiry_strategy=ExpiryStrategy.DAYS, expiry_value=1)

    # when a coupon is issued
    result = coupon_issue(series=series, customer=customer, actor=till)

    # then a fresh 8-character code belongs to the customer until tomorrow's end of day
    coupon = result.coupon
    assert result.is_new and len(coupon.code) == 8
    assert (coupon.customer, coupon.issued_by_till, coupon.source) == (
        customer,
        till,
        Coupon.Source.GENERATED,
    )
    tomorrow = timezone.now().astimezone(series.org.tzinfo).date() + datetime.timedelta(days=1)
    assert coupon.valid_till.astimezone(series.org.tzinfo).date() == tomorrow
    series = refreshed(series)
    assert (series.num_issued, series.num_codes) == (1, 1)
    assert series.latest_issued_at is not None


@pytest.mark.django_db
def test_pre_generated_codes_are_used_first(make_series, customer, till):
    series = make_series()
    coupon_codes_generate(series=series, count=3)
    first_code = Coupon.objects.filter(series=series).order_by("id").first().code

    result = coupon_issue(series=series, customer=customer, actor=till)

    assert result.coupon.code == first_code
    assert refreshed(series).num_codes == 3


@pytest.mark.django_db
def test_uploaded_codes_until_none_is_left(make_series, org, till):
    # given an upload offer with two codes
    series = make_series(code_type=CodeType.UPLOADED, allows_multiple_per_customer=True)
    coupon_codes_add(series=series, codes=["UP-1", "UP-2"])
    customers = CustomerFactory.create_batch(3, org=org)

    # when three customers ask, then two get the uploaded codes in order and the third 722
    codes = [coupon_issue(series=series, customer=c, actor=till).coupon.code for c in customers[:2]]
    with pytest.raises(UnableToIssueError):
        coupon_issue(series=series, customer=customers[2], actor=till)

    assert codes == ["UP-1", "UP-2"]
    series = refreshed(series)
    assert (series.num_issued, series.num_uploaded_non_issued, series.num_uploaded_total) == (
        2,
        0,
        2,
    )


@pytest.mark.django_db
def test_given_code_issued_with_its_customer(make_series, org, customer, till):
    # given an upload offer: one code uploaded without a customer, one given with a customer
    series = make_series(code_type=CodeType.UPLOADED)
    coupon_codes_add(series=series, codes=["GIVEN-1"])

    first = coupon_issue(series=series, customer=customer, actor=till, code="given-1")
    other = CustomerFactory(org=org)
    second = coupon_issue(series=series, customer=other, actor=till, code="NEW-9")

    assert (first.coupon.code, first.coupon.customer) == ("GIVEN-1", customer)
    assert (second.coupon.code, second.coupon.source) == ("NEW-9", Coupon.Source.UPLOADED)
    series = refreshed(series)
    assert (series.num_issued, series.num_uploaded_total, series.num_uploaded_non_issued) == (
        2,
        2,
        0,
    )

    # and a code that is already someone's is refused, nothing changes
    with pytest.raises(CouponCodeExistsError):
        coupon_issue(series=series, customer=CustomerFactory(org=org), actor=till, code="NEW-9")
    assert refreshed(series).num_issued == 2


@pytest.mark.django_db
def test_common_code_once_per_customer(make_series, org, customer, till):
    # given a common-code offer (seed case 4: Generic)
    series = make_series(code_type=CodeType.COMMON, generic_code="welcome50")

    # when two customers get it and the first asks again
    first = coupon_issue(series=series, customer=customer, actor=till)
    second = coupon_issue(series=series, customer=CustomerFactory(org=org), actor=till)
    with pytest.raises(CommonCouponAlreadyIssuedError):
        coupon_issue(series=series, customer=customer, actor=till)

    # then both hold the same code and the repeat changed nothing
    assert first.coupon.code == second.coupon.code == "WELCOME50"
    assert refreshed(series).num_issued == 2


@pytest.mark.django_db
def test_per_customer_maximum(make_series, customer, till):
    # seed case 1: at most 3 per customer, no gap, no series limit; the 4th fails
    series = make_series(allows_multiple_per_customer=True, max_per_customer=3)
    for _ in range(3):
        coupon_issue(series=series, customer=customer, actor=till)

    with pytest.raises(CustomerIssualLimitReachedError) as error:
        coupon_issue(series=series, customer=customer, actor=till)

    assert error.value.code == 744
    assert issued_count(series) == 3 and refreshed(series).num_issued == 3


@pytest.mark.django_db
def test_single_coupon_per_customer_by_default(make_series, customer, till):
    series = make_series(allows_multiple_per_customer=False)
    coupon_issue(series=series, customer=customer, actor=till)

    with pytest.raises(CustomerIssualLimitReachedError):
        coupon_issue(series=series, customer=customer, actor=till)


@pytest.mark.django_db
def test_minimum_gap_between_issuals(make_series, customer, till):
    # seed case 2: max 3 per customer, 1 day between two issuals
    series = make_series(
        allows_multiple_per_customer=True, max_per_customer=3, min_days_between_issuals=1
    )
    first = coupon_issue(series=series, customer=customer, actor=till)

    # when the same customer asks again the same day, then 745 and nothing changes
    with pytest.raises(IssualGapNotMetError) as error:
        coupon_issue(series=series, customer=customer, actor=till)
    assert error.value.code == 745
    assert issued_count(series) == 1

    # and once the last issual is a day old the customer qualifies again
    Coupon.objects.filter(pk=first.coupon.pk).update(
        issued_at=timezone.now() - datetime.timedelta(days=1)
    )
    assert coupon_issue(series=series, customer=customer, actor=till).is_new


@pytest.mark.django_db
def test_series_issual_limit(make_series, customer, till):
    # seed case 3: no per-customer limit, series limit 2
    series = make_series(allows_multiple_per_customer=True, max_per_customer=None, max_issuals=2)
    coupon_issue(series=series, customer=customer, actor=till)
    coupon_issue(series=series, customer=customer, actor=till)

    with pytest.raises(SeriesIssualLimitReachedError) as error:
        coupon_issue(series=series, customer=customer, actor=till)

    assert error.value.code == 743
    assert issued_count(series) == 2 and refreshed(series).num_issued == 2


@pytest.mark.django_db
def test_qualifying_again_sends_the_existing_valid_coupon(make_series, customer, till):
    # given "send existing valid coupon" and one coupon per customer
    series = make_series(allows_multiple_per_customer=False, resends_existing_coupon=True)
    first = coupon_issue(series=series, customer=customer, actor=till)

    # when the customer qualifies again, then the same coupon comes back, nothing new
    again = coupon_issue(series=series, customer=customer, actor=till)

    assert again.coupon == first.coupon and not again.is_new
    assert refreshed(series).num_issued == 1

    # and once it is redeemed there is no valid coupon to send: 744
    Coupon.objects.filter(pk=first.coupon.pk).update(redemption_count=1)
    with pytest.raises(CustomerIssualLimitReachedError):
        coupon_issue(series=series, customer=customer, actor=till)


@pytest.mark.django_db
def test_issual_limit_threshold_emails_the_brand_once(
    make_series, org, till, django_capture_on_commit_callbacks
):
    # given a limit of 5 with a notification at 2 remaining, and brand contacts
    org.contact_emails = "ops@acme.test, cmo@acme.test"
    org.save()
    series = make_series(max_issuals=5, issual_limit_notify_remaining=2)
    customers = CustomerFactory.create_batch(5, org=org)

    # when coupons are issued, with on-commit callbacks run
    for customer in customers[:2]:
        with django_capture_on_commit_callbacks(execute=True):
            coupon_issue(series=series, customer=customer, actor=till)
    assert mail.outbox == []
    for customer in customers[2:]:
        with django_capture_on_commit_callbacks(execute=True):
            coupon_issue(series=series, customer=customer, actor=till)

    # then exactly one email went to the contacts when 2 were left
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@acme.test", "cmo@acme.test"]
    assert "2 coupon issuals left" in mail.outbox[0].subject
    assert refreshed(series).issual_limit_notified_at is not None


@pytest.mark.django_db
def test_past_issual_restriction(make_series, customer, org, till):
    # given an offer that skips recipients of another offer in the past 6 months
    earlier = make_series(description="Earlier offer")
    series = make_series(past_issual_series_ids=[earlier.pk])
    old = coupon_issue(series=earlier, customer=customer, actor=till)

    # when that customer asks, then 747; another customer is fine
    with pytest.raises(PastIssualRestrictionError) as error:
        coupon_issue(series=series, customer=customer, actor=till)
    assert error.value.code == 747
    assert coupon_issue(series=series, customer=CustomerFactory(org=org), actor=till).is_new

    # and a coupon older than 6 months no longer blocks
    Coupon.objects.filter(pk=old.coupon.pk).update(
        issued_at=timezone.now() - datetime.timedelta(days=200)
    )
    assert coupon_issue(series=series, customer=customer, actor=till).is_new


@pytest.mark.django_db
def test_issue_to_specific_customers_only(make_series, customer, org, till):
    series = make_series(is_audience_restricted=True)
    audience = coupon_audience_create(series=series, name="VIP")
    coupon_audience_add_customers(audience=audience, customer_ids=[customer.pk])

    assert coupon_issue(series=series, customer=customer, actor=till).is_new
    with pytest.raises(CustomerNotInAudienceError) as error:
        coupon_issue(series=series, customer=CustomerFactory(org=org), actor=till)
    assert error.value.code == 748


@pytest.mark.django_db
def test_ended_offer_issues_nothing(make_series, customer, till):
    series = make_series(valid_till=timezone.now() + datetime.timedelta(days=1))
    CouponSeries.objects.filter(pk=series.pk).update(
        valid_till=timezone.now() - datetime.timedelta(minutes=1)
    )

    with pytest.raises(CouponSeriesExpiredError) as error:
        coupon_issue(series=series, customer=customer, actor=till)

    assert error.value.code == 712
    assert issued_count(series) == 0


@pytest.mark.django_db
def test_customer_of_another_org(make_series, other_org, till):
    series = make_series()

    with pytest.raises(CouponCustomerNotFoundError) as error:
        coupon_issue(series=series, customer=CustomerFactory(org=other_org), actor=till)

    assert error.value.code == 701


@pytest.mark.django_db
def test_idempotency_key_replays_and_conflicts(make_series, customer, org, till):
    series = make_series(allows_multiple_per_customer=True, max_per_customer=None)

    first = coupon_issue(series=series, customer=customer, actor=till, idempotency_key="k-1")
    replay = coupon_issue(series=series, customer=customer, actor=till, idempotency_key="k-1")

    assert replay.coupon == first.coupon and replay.is_replay and not replay.is_new
    assert refreshed(series).num_issued == 1
    with pytest.raises(CouponIdempotencyKeyReusedError):
        coupon_issue(
            series=series, customer=CustomerFactory(org=org), actor=till, idempotency_key="k-1"
        )


@pytest.mark.django_db
def test_issue_sms_with_tags_after_commit(
    make_series, customer, till, django_capture_on_commit_callbacks
):
    series = make_series(
        sends_sms=True,
        sms_template="Hi {{first_name}}, {{offer_name}}: use {{coupon_code}} by {{valid_till}}",
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = coupon_issue(series=series, customer=customer, actor=till)

    valid_till = result.coupon.valid_till.astimezone(series.org.tzinfo).strftime("%d %b %Y")
    assert [(m.to, m.body) for m in sms.outbox] == [
        (
            "919800000001",
            f"Hi Asha, Summer 10% off: use {result.coupon.code} by {valid_till}",
        )
    ]


@pytest.mark.django_db
def test_third_party_offer_has_no_issual_rules_and_sends_nothing(
    make_series, customer, till, django_capture_on_commit_callbacks
):
    # given a third-party offer whose form still carried issual settings
    series = make_series(
        delivery_method=DeliveryMethod.THIRD_PARTY,
        allows_multiple_per_customer=False,
        sends_sms=True,
        sms_template="Hi {{first_name}}",
    )

    # then they were cleared, and repeated issuals go through without any SMS
    assert series.any_user and series.per_customer_limit is None and not series.sends_sms
    with django_capture_on_commit_callbacks(execute=True):
        coupon_issue(series=series, customer=customer, actor=till)
        coupon_issue(series=series, customer=customer, actor=till)
    assert issued_count(series) == 2
    assert sms.outbox == []
