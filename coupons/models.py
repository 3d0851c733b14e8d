"""coupons domain models (added by the coupons issue)."""
