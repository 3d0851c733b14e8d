"""Admin for the coupons domain."""
