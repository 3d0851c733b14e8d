"""Demo offers for `seed_demo`: two offers per demo org with coupons issued to a few customers,
so a newcomer can check, redeem, reverse and revoke coupons right away. Safe to run twice: an
offer that exists (by name) is kept, and only customers without its coupon are issued one."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from coupons.models import CodeType, Coupon, CouponSeries, DiscountType, ExpiryStrategy
from coupons.services.issue import coupon_issue
from coupons.services.series import coupon_series_create
from members.models import Customer, Org

DEMO_HOLDERS = 20


@dataclass(frozen=True)
class DemoCoupon:
    offer: str
    code: str
    mobile: str


def _offers() -> list[dict]:
    return [
        {
            "description": "Welcome 10% off",
            "discount_code": "WELCOME10",
            "discount_type": DiscountType.PERCENTAGE,
            "discount_value": Decimal("10"),
            "discount_upto": Decimal("500"),
            "code_type": CodeType.UNIQUE,
            "code_length": 8,
            "expiry_strategy": ExpiryStrategy.DAYS,
            "expiry_value": 30,
            "valid_till": timezone.now() + datetime.timedelta(days=365),
            "min_bill_amount": Decimal("500"),
            "sends_sms": False,
        },
        {
            "description": "200 off, up to 1,000 redemptions",
            "discount_code": "FLAT200",
            "discount_type": DiscountType.ABSOLUTE,
            "discount_value": Decimal("200"),
            "code_type": CodeType.UNIQUE,
            "code_length": 8,
            "expiry_strategy": ExpiryStrategy.MONTH_ENDS,
            "expiry_value": 1,
            "valid_till": timezone.now() + datetime.timedelta(days=365),
            "max_redemptions": 1000,
            "allows_multiple_per_customer": True,
            "max_per_customer": 3,
            "is_multiple_use_allowed": False,
            "sends_sms": False,
        },
    ]


def coupons_demo_seed(*, org: Org, customers: Sequence[Customer]) -> tuple[int, int]:
    """Create the demo offers of `org` and issue one coupon of each to `customers`; returns
    (offers created, coupons issued)."""
    offers_created = issued = 0
    for values in _offers():
        series = CouponSeries.objects.filter(org=org, description=values["description"]).first()
        if series is None:
            series = coupon_series_create(org=org, actor=None, values=values).series
            offers_created += 1
        holders = set(
            Coupon.objects.filter(series=series, customer__isnull=False).values_list(
                "customer_id", flat=True
            )
        )
        for customer in customers:
            if customer.pk not in holders:
                coupon_issue(series=series, customer=customer, actor=None)
                issued += 1
    return offers_created, issued


def coupons_demo_examples(*, org: Org, limit: int = 2) -> list[DemoCoupon]:
    """A few issued, unredeemed demo coupons of `org` with their holder's mobile."""
    coupons = (
        Coupon.objects.filter(
            org=org,
            customer__isnull=False,
            redemption_count=0,
            revoked_at__isnull=True,
            series__description="Welcome 10% off",
        )
        .select_related("series", "customer")
        .order_by("pk")[:limit]
    )
    return [
        DemoCoupon(offer=coupon.series.description, code=coupon.code, mobile=coupon.customer.mobile)
        for coupon in coupons
    ]
