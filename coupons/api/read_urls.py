"""Coupon read routes (contract §1.5, §1.6, §2.4, series details)."""

urlpatterns: list = []
