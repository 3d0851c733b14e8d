"""Coupons test helpers: offers built through the series service, as staff and APIs do."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from coupons.models import CodeType, CouponSeries, ExpiryStrategy
from coupons.services.series import coupon_series_create


def series_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "description": "Summer 10% off",
        "discount_code": "SUMMER10",
        "discount_type": "PERC",
        "discount_value": 10,
        "code_type": CodeType.UNIQUE,
        "code_length": 8,
        "valid_till": timezone.now() + datetime.timedelta(days=365),
        "expiry_strategy": ExpiryStrategy.WITH_OFFER,
        "sends_sms": False,
    }
    values.update(overrides)
    return values


@pytest.fixture
def make_series(org, till):
    def make(*, actor=None, random_code_sample: str | None = None, **overrides: Any):
        result = coupon_series_create(
            org=overrides.pop("org", org),
            actor=actor or till,
            values=series_values(**overrides),
            random_code_sample=random_code_sample,
        )
        return CouponSeries.objects.select_related("org").get(pk=result.series.pk)

    return make
