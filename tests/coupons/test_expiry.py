"""Coupon expiry: the seed's worked examples, the cap at the offer's end, the org's time zone."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from coupons.exceptions import CouponSeriesInvalidError
from coupons.models import ExpiryStrategy
from coupons.services.expiry import coupon_expiry_compute

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")
ISSUED = datetime.datetime(2025, 11, 12, 15, 30, tzinfo=KOLKATA)


def expiry(strategy: str, value: int, *, ends=None, issued=ISSUED, tz=KOLKATA):
    return coupon_expiry_compute(
        strategy=strategy, value=value, issued_at=issued, series_ends_at=ends, tz=tz
    )


def end_of(year: int, month: int, day: int, tz=KOLKATA) -> datetime.datetime:
    return datetime.datetime.combine(datetime.date(year, month, day), datetime.time.max, tz)


@pytest.mark.parametrize(
    ("strategy", "value", "expected"),
    [
        (ExpiryStrategy.DAYS, 0, end_of(2025, 11, 12)),
        (ExpiryStrategy.DAYS, 1, end_of(2025, 11, 13)),
        (ExpiryStrategy.MONTH_ENDS, 0, end_of(2025, 11, 30)),
        (ExpiryStrategy.MONTH_ENDS, 1, end_of(2025, 12, 31)),
    ],
)
def test_seed_examples(strategy, value, expected):
    # given a coupon issued on 12 Nov (seed "When would a coupon expire")
    # then 0/1 days end on 12/13 Nov, 0/1 month ends on 30 Nov/31 Dec, end of day local time
    assert expiry(strategy, value) == expected


def test_month_ends_cross_years_and_short_months():
    issued = datetime.datetime(2024, 1, 31, 9, 0, tzinfo=KOLKATA)

    assert expiry(ExpiryStrategy.MONTH_ENDS, 1, issued=issued) == end_of(2024, 2, 29)
    assert expiry(ExpiryStrategy.MONTH_ENDS, 11, issued=issued) == end_of(2024, 12, 31)
    assert expiry(ExpiryStrategy.MONTH_ENDS, 12, issued=issued) == end_of(2025, 1, 31)


def test_relative_expiry_is_capped_at_the_offer_end():
    offer_end = datetime.datetime(2025, 11, 20, 12, 0, tzinfo=datetime.UTC)

    assert expiry(ExpiryStrategy.DAYS, 30, ends=offer_end) == offer_end
    assert expiry(ExpiryStrategy.MONTH_ENDS, 0, ends=offer_end) == offer_end
    assert expiry(ExpiryStrategy.DAYS, 1, ends=offer_end) == end_of(2025, 11, 13)


def test_issue_date_is_taken_in_the_org_time_zone():
    # 20:00 UTC on 12 Nov is already 13 Nov in Kolkata
    issued = datetime.datetime(2025, 11, 12, 20, 0, tzinfo=datetime.UTC)

    assert expiry(ExpiryStrategy.DAYS, 0, issued=issued) == end_of(2025, 11, 13)
    assert expiry(ExpiryStrategy.DAYS, 0, issued=issued, tz=datetime.UTC) == end_of(
        2025, 11, 12, datetime.UTC
    )


def test_along_with_the_offer():
    offer_end = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

    assert expiry(ExpiryStrategy.WITH_OFFER, 1, ends=offer_end) == offer_end
    with pytest.raises(CouponSeriesInvalidError):
        expiry(ExpiryStrategy.WITH_OFFER, 1)


def test_open_ended_offer_with_relative_expiry():
    assert expiry(ExpiryStrategy.DAYS, 7) == end_of(2025, 11, 19)
