"""Coupon redemption, reversal and revoke routes (contract §1.3, §1.4, §1.8, §2.2, §2.3)."""

urlpatterns: list = []
