"""factory-boy factories for the coupons domain."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone

from coupons import models
from tests.members.factories import OrgFactory


class CouponSeriesFactory(factory.django.DjangoModelFactory):
    """An auto-code offer ending in a year; build settings through coupon_series_create in
    tests of the rules, use this for everything else."""

    class Meta:
        model = models.CouponSeries

    org = factory.SubFactory(OrgFactory)
    series_code = factory.Sequence(lambda n: f"SER{n:07d}")
    description = factory.Sequence(lambda n: f"Offer {n}")
    discount_code = factory.Sequence(lambda n: f"DISC{n}")
    discount_type = models.DiscountType.ABSOLUTE
    discount_value = 100
    code_type = models.CodeType.UNIQUE
    code_length = 8
    valid_till = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=365))
    expiry_strategy = models.ExpiryStrategy.WITH_OFFER
    allows_multiple_per_customer = True
    sends_sms = False


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Coupon

    series = factory.SubFactory(CouponSeriesFactory)
    org = factory.SelfAttribute("series.org")
    code = factory.Sequence(lambda n: f"CODE{n:08d}")
    source = models.Coupon.Source.GENERATED


class CouponAudienceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CouponAudience

    series = factory.SubFactory(CouponSeriesFactory)
    name = factory.Sequence(lambda n: f"Audience {n}")
