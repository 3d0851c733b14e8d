"""Coupon redemption: rules, redeem, reverse, throttling and the bill pipeline steps."""

from coupons.services.redemption.redeem import (
    CouponCheck,
    RedemptionOutcome,
    RedemptionTarget,
    coupon_redeem,
    coupons_check,
)
from coupons.services.redemption.reverse import coupon_redemption_reverse
from coupons.services.redemption.throttle import (
    coupon_validation_failed,
    coupon_validation_throttle_check,
)

__all__ = [
    "CouponCheck",
    "RedemptionOutcome",
    "RedemptionTarget",
    "coupon_redeem",
    "coupon_redemption_reverse",
    "coupon_validation_failed",
    "coupon_validation_throttle_check",
    "coupons_check",
]
