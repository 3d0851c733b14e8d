"""Offer settings: the cross-setting rules of coupon_series_create / coupon_series_update."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from coupons.exceptions import CouponIdempotencyKeyReusedError, CouponSeriesInvalidError
from coupons.models import CodeType, CouponExpiryReminder, CouponSeries, ExpiryStrategy
from coupons.services.issue import coupon_issue
from coupons.services.series import (
    ReminderSpec,
    coupon_series_create,
    coupon_series_update,
)
from members.models import ExchangeRate
from tests.coupons.conftest import series_values
from tests.members.factories import CustomerFactory


def refused(org, till, **overrides) -> CouponSeriesInvalidError:
    with pytest.raises(CouponSeriesInvalidError) as error:
        coupon_series_create(org=org, actor=till, values=series_values(**overrides))
    assert not CouponSeries.objects.exists()
    return error.value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"discount_type": "PERC", "discount_value": 120}, "discount_value"),
        ({"discount_type": "PERC", "discount_value": 0}, "discount_value"),
        ({"discount_type": "ABS", "discount_value": 50, "discount_upto": 10}, "discount_upto"),
        ({"currency": "USD"}, "currency"),
        ({"code_type": CodeType.COMMON}, "generic_code"),
        ({"generic_code": "ABC"}, "generic_code"),
        ({"code_length": 3}, "code_length"),
        ({"is_prefix_enabled": True, "code_prefix": ""}, "code_prefix"),
        ({"valid_till": None}, "valid_till"),
        ({"expiry_strategy": ExpiryStrategy.DAYS, "expiry_value": 5000}, "expiry_value"),
        ({"issual_limit_notify_remaining": 5}, "issual_limit_notify_remaining"),
        ({"max_issuals": 5, "issual_limit_notify_remaining": 5}, "issual_limit_notify_remaining"),
        ({"sms_template": "Hi {{nickname}}"}, "sms_template"),
        ({"sms_template": "Hi ☺ {{first_name}}"}, "sms_template"),
        ({"is_resend_enabled": True, "sms_template": ""}, "sms_template"),
        ({"redemption_range": {"dow": [8]}}, "redemption_range"),
        ({"product_info": [{"productType": "COLOUR", "productIds": [1]}]}, "product_info"),
        ({"redemption_per_coupon_max_limit": 2}, "redemption_per_coupon_max_limit"),
        ({"min_bill_amount": 100, "max_bill_amount": 50}, "max_bill_amount"),
        ({"description": "  "}, "description"),
    ],
)
def test_invalid_settings_are_refused_with_their_field(org, till, overrides, field):
    assert refused(org, till, **overrides).field == field


@pytest.mark.django_db
def test_unicode_sms_when_allowed(org, till):
    result = coupon_series_create(
        org=org,
        actor=till,
        values=series_values(sms_template="नमस्ते {{first_name}}", allows_unicode_sms=True),
    )

    assert result.series.pk


@pytest.mark.django_db
def test_foreign_currency_with_a_rate(org, till):
    ExchangeRate.objects.create(org=org, currency="USD", rate_to_base=83)

    series = coupon_series_create(org=org, actor=till, values=series_values(currency="usd".upper()))

    assert series.series.currency == "USD"


@pytest.mark.django_db
def test_common_code_is_unique_in_the_org(make_series, org, till):
    make_series(code_type=CodeType.COMMON, generic_code="WELCOME")

    with pytest.raises(CouponSeriesInvalidError) as error:
        make_series(code_type=CodeType.COMMON, generic_code="welcome")

    assert error.value.field == "generic_code"
    assert CouponSeries.objects.count() == 1


@pytest.mark.django_db
def test_common_code_fixed_once_issued(make_series, org, till):
    series = make_series(code_type=CodeType.COMMON, generic_code="WELCOME")
    coupon_issue(series=series, customer=CustomerFactory(org=org), actor=till)

    with pytest.raises(CouponSeriesInvalidError):
        coupon_series_update(series=series, actor=till, values={"generic_code": "HELLO"})


@pytest.mark.django_db
def test_terms_default_to_the_standard_terms_property(org, till):
    result = coupon_series_create(
        org=org,
        actor=till,
        values=series_values(
            custom_properties={"standard_terms_and_conditions": "One per bill"},
        ),
    )

    assert result.series.terms_and_conditions == "One per bill"


@pytest.mark.django_db
def test_ended_offer_and_unknown_excluded_offers_are_warnings(org, till):
    result = coupon_series_create(
        org=org,
        actor=till,
        values=series_values(
            valid_till=timezone.now() - datetime.timedelta(days=1),
            past_issual_series_ids="[999]",
        ),
    )

    assert len(result.warnings) == 2
    assert result.series.past_issual_series_ids == [999]


@pytest.mark.django_db
def test_limit_cannot_drop_below_issued(make_series, org, till):
    series = make_series(max_issuals=5)
    for customer in CustomerFactory.create_batch(3, org=org):
        coupon_issue(series=series, customer=customer, actor=till)

    with pytest.raises(CouponSeriesInvalidError) as error:
        coupon_series_update(series=series, actor=till, values={"max_issuals": 2})

    assert error.value.field == "max_issuals"
    series.refresh_from_db()
    assert series.max_issuals == 5


@pytest.mark.django_db
def test_new_threshold_may_notify_again(make_series, till):
    series = make_series(max_issuals=10, issual_limit_notify_remaining=2)
    CouponSeries.objects.filter(pk=series.pk).update(issual_limit_notified_at=timezone.now())

    result = coupon_series_update(
        series=series, actor=till, values={"issual_limit_notify_remaining": 3}
    )

    assert result.series.issual_limit_notified_at is None


@pytest.mark.django_db
def test_reminders_replace(org, till):
    reminder = ReminderSpec(
        days_before_expiry=3,
        channel="SMS",
        send_at=datetime.time(10, 0),
        message="{{coupon_code}} expires {{valid_till}}",
    )
    with pytest.raises(CouponSeriesInvalidError):
        coupon_series_create(
            org=org, actor=till, values=series_values(), reminders=[reminder, reminder]
        )

    result = coupon_series_create(org=org, actor=till, values=series_values(), reminders=[reminder])
    coupon_series_update(series=result.series, actor=till, values={}, reminders=[])

    assert not CouponExpiryReminder.objects.exists()


@pytest.mark.django_db
def test_create_idempotency(org, till):
    first = coupon_series_create(
        org=org, actor=till, values=series_values(), idempotency_key="create-1"
    )
    replay = coupon_series_create(
        org=org,
        actor=till,
        values=series_values(valid_till=first.series.valid_till),
        idempotency_key="create-1",
    )

    assert replay.series.pk == first.series.pk
    with pytest.raises(CouponIdempotencyKeyReusedError):
        coupon_series_create(
            org=org,
            actor=till,
            values=series_values(description="Other"),
            idempotency_key="create-1",
        )
    assert CouponSeries.objects.count() == 1
