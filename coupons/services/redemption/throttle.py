"""Throttle failed coupon validations (guessing codes from a till, or for one customer).

Every failed "is redeemable" or redeem counts once against the till and once against the
customer in a fixed window (loyalty_site.core.throttle: Redis counters, or database rows without
Redis). Once either has COUPON_THROTTLE_*_FAILURES failures in the window, further validations
from that till or for that customer answer 429 until the window ends. Successes do not count.
"""

from __future__ import annotations

from django.conf import settings

from coupons.exceptions import CouponValidationThrottledError
from loyalty_site.core.throttle import throttle_counts, throttle_hit_many


def _names(till_id: int | None, customer_id: int | None) -> dict[str, int]:
    names = {}
    if till_id is not None:
        names[f"coupon-fail:till:{till_id}"] = settings.COUPON_THROTTLE_TILL_FAILURES
    if customer_id is not None:
        names[f"coupon-fail:customer:{customer_id}"] = settings.COUPON_THROTTLE_CUSTOMER_FAILURES
    return names


def coupon_validation_throttle_check(*, till_id: int | None, customer_id: int | None) -> None:
    """Raise CouponValidationThrottledError (429) when the till or the customer is throttled."""
    names = _names(till_id, customer_id)
    if not names:
        return
    window = settings.COUPON_THROTTLE_WINDOW_SECONDS
    counts = throttle_counts(names=list(names), window_seconds=window)
    for name, limit in names.items():
        if counts.get(name, 0) >= limit:
            who = "this till" if ":till:" in name else "this customer"
            raise CouponValidationThrottledError(
                f"Too many failed coupon validations from {who}; try again in at most "
                f"{window} seconds"
            )


def coupon_validation_failed(
    *, till_id: int | None, customer_id: int | None, count: int = 1
) -> None:
    """Count `count` failed validations against the till and the customer."""
    names = list(_names(till_id, customer_id))
    if names and count > 0:
        throttle_hit_many(
            names=names, window_seconds=settings.COUPON_THROTTLE_WINDOW_SECONDS, count=count
        )
