"""coupon_resend: the resend SMS with its tags, and the cases where nothing is sent."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from coupons.exceptions import (
    CouponExpiredError,
    CouponNotIssuedToCustomerError,
    CouponSmsFailedError,
    ResendNotEnabledError,
)
from coupons.models import Coupon, ExpiryStrategy
from coupons.services.issue import coupon_issue, coupon_resend
from loyalty_site.core import sms
from loyalty_site.core.sms import SmsDeliveryError
from tests.members.factories import CustomerFactory

TEMPLATE = (
    "Dear {{fullname}}, your code {{coupon_code}} for {{offer_name}} is valid till {{valid_till}}"
)


@pytest.fixture(autouse=True)
def _empty_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def customer(org):
    return CustomerFactory(org=org, first_name="Asha", last_name="Rao", mobile="919800000002")


@pytest.fixture
def issued(make_series, customer, till):
    series = make_series(
        is_resend_enabled=True,
        sms_template=TEMPLATE,
        expiry_strategy=ExpiryStrategy.DAYS,
        expiry_value=0,
    )
    return coupon_issue(series=series, customer=customer, actor=till).coupon


@pytest.mark.django_db
def test_resend_renders_the_tags(issued, customer, till):
    result = coupon_resend(coupon=issued, customer=customer, actor=till)

    valid_till = issued.valid_till.astimezone(issued.series.org.tzinfo).strftime("%d %b %Y")
    assert result.to == "919800000002"
    assert sms.outbox[-1].body == (
        f"Dear Asha Rao, your code {issued.code} for Summer 10% off is valid till {valid_till}"
    )


@pytest.mark.django_db
def test_resend_needs_the_option(make_series, customer, till):
    series = make_series(is_resend_enabled=False, sms_template=TEMPLATE)
    coupon = coupon_issue(series=series, customer=customer, actor=till).coupon

    with pytest.raises(ResendNotEnabledError):
        coupon_resend(coupon=coupon, customer=customer, actor=till)
    assert sms.outbox == []


@pytest.mark.django_db
def test_resend_only_to_the_holder(issued, org, till):
    with pytest.raises(CouponNotIssuedToCustomerError):
        coupon_resend(coupon=issued, customer=CustomerFactory(org=org), actor=till)


@pytest.mark.django_db
def test_expired_coupon_is_not_resent(issued, customer, till):
    Coupon.objects.filter(pk=issued.pk).update(
        valid_till=timezone.now() - datetime.timedelta(seconds=1)
    )
    issued.refresh_from_db()

    with pytest.raises(CouponExpiredError):
        coupon_resend(coupon=issued, customer=customer, actor=till)


@pytest.mark.django_db
def test_gateway_failure_is_704(issued, customer, till, monkeypatch):
    def refuse(**kwargs):
        raise SmsDeliveryError("gateway down")

    monkeypatch.setattr("coupons.services.issue.notify_sms", refuse)

    with pytest.raises(CouponSmsFailedError) as error:
        coupon_resend(coupon=issued, customer=customer, actor=till)

    assert error.value.code == 704 and "gateway down" in error.value.message


@pytest.mark.django_db
def test_customer_without_mobile(issued, customer, till):
    customer.mobile = None
    customer.save()

    with pytest.raises(CouponSmsFailedError):
        coupon_resend(coupon=issued, customer=customer, actor=till)


@pytest.mark.django_db
def test_unicode_name_without_unicode_sms_is_replaced(make_series, org, till):
    series = make_series(is_resend_enabled=True, sms_template="Hi {{first_name}}: {{coupon_code}}")
    customer = CustomerFactory(org=org, first_name="अनु", mobile="919800000003")
    coupon = coupon_issue(series=series, customer=customer, actor=till).coupon

    coupon_resend(coupon=coupon, customer=customer, actor=till)

    assert sms.outbox[-1].body == f"Hi ???: {coupon.code}"
