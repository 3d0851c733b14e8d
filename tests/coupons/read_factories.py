"""Factories for coupon reads and reminders: issued coupons and redemption rows written
directly (the redemption service is tested on its own), with the coupon's counter kept in
step the way the redemption service keeps it."""

from __future__ import annotations

import datetime

import factory
from django.db.models import F
from django.utils import timezone

from coupons import models
from tests.coupons.factories import CouponFactory
from tests.members.factories import CustomerFactory


class IssuedCouponFactory(CouponFactory):
    """A coupon issued to a customer of its offer's org."""

    customer = factory.SubFactory(CustomerFactory, org=factory.SelfAttribute("..org"))
    issued_at = factory.LazyFunction(timezone.now)
    valid_till = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=30))


class CouponRedemptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CouponRedemption

    coupon = factory.SubFactory(IssuedCouponFactory)
    org = factory.SelfAttribute("coupon.org")
    series = factory.SelfAttribute("coupon.series")
    customer = factory.SelfAttribute("coupon.customer")
    transaction_number = factory.Sequence(lambda n: f"BILL-{n:05d}")
    bill_amount = 500
    coupon_value = 100
    redeemed_at = factory.LazyFunction(timezone.now)
    counter_shard = 0
    is_active = True
    last_status_change_on = factory.LazyAttribute(lambda o: o.redeemed_at)


def redeem(coupon: models.Coupon, **fields) -> models.CouponRedemption:
    """A redemption row for `coupon`; an active one adds to the coupon's redemption_count."""
    redemption = CouponRedemptionFactory(coupon=coupon, **fields)
    if redemption.is_active:
        models.Coupon.objects.filter(pk=coupon.pk).update(
            redemption_count=F("redemption_count") + 1
        )
        coupon.refresh_from_db(fields=["redemption_count"])
    return redemption


def reverse(redemption: models.CouponRedemption, *, at: datetime.datetime | None = None) -> None:
    """Mark a redemption reversed (a returned bill) and give the coupon its count back."""
    redemption.is_active = False
    redemption.last_status_change_on = at or timezone.now()
    redemption.save(update_fields=["is_active", "last_status_change_on"])
    models.Coupon.objects.filter(pk=redemption.coupon_id).update(
        redemption_count=F("redemption_count") - 1
    )
