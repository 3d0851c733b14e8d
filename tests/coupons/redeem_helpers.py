"""Helpers for the redemption tests: issue coupons through the real issue service."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from coupons.models import Coupon
from coupons.services.issue import coupon_issue
from coupons.services.redemption import RedemptionTarget, coupon_redeem, coupons_check


def issue(series, customer, till) -> Coupon:
    result = coupon_issue(series=series, customer=customer, actor=till)
    return Coupon.objects.select_related("series", "series__org").get(pk=result.coupon.pk)


def redeem(coupon_or_code, customer, till, **kwargs: Any):
    code = coupon_or_code if isinstance(coupon_or_code, str) else coupon_or_code.code
    kwargs.setdefault("bill_amount", Decimal("500"))
    outcomes = coupon_redeem(
        org_ids=[customer.org_id],
        targets=[RedemptionTarget(code=code)],
        customer=customer,
        actor=till,
        **kwargs,
    )
    return outcomes[0]


def check(coupon_or_code, customer, till, **kwargs: Any):
    code = coupon_or_code if isinstance(coupon_or_code, str) else coupon_or_code.code
    kwargs.setdefault("bill_amount", Decimal("500"))
    (result,) = coupons_check(
        org_ids=[customer.org_id], codes=[code], customer=customer, till=till, **kwargs
    )
    return result


def codes_of(failures) -> list[int]:
    return [failure.code for failure in failures]


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def now() -> datetime.datetime:
    return timezone.now()
