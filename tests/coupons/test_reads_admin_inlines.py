"""The read-only coupon inlines (coupons/admin_inlines.py) pass Django's admin checks and show
a coupon's redemptions with the reversal flag and its reminder deliveries."""

from __future__ import annotations

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from coupons.admin_inlines import CouponRedemptionInline, CouponReminderDeliveryInline
from coupons.models import Coupon, CouponExpiryReminder, CouponReminderDelivery
from tests.coupons.factories import CouponSeriesFactory
from tests.coupons.read_factories import IssuedCouponFactory, redeem, reverse

pytestmark = pytest.mark.django_db


class CouponWithInlinesAdmin(admin.ModelAdmin):
    inlines = [CouponRedemptionInline, CouponReminderDeliveryInline]


def test_inlines_pass_the_admin_checks():
    model_admin = CouponWithInlinesAdmin(Coupon, admin.AdminSite())

    assert model_admin.check() == []


def test_inlines_show_redemptions_with_reversal_and_reminders(org, till):
    # given a coupon redeemed twice (one reversed) and reminded once
    series = CouponSeriesFactory(org=org)
    coupon = IssuedCouponFactory(series=series)
    kept = redeem(coupon, till=till, transaction_number="B-1")
    undone = redeem(coupon, till=till, transaction_number="B-2")
    reverse(undone)
    reminder = CouponExpiryReminder.objects.create(
        series=series, days_before_expiry=1, channel="SMS", send_at=datetime.time(9), message="x"
    )
    CouponReminderDelivery.objects.create(
        reminder=reminder, coupon=coupon, channel="SMS", recipient="9198", status="SENT"
    )
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.create_superuser("care-admin", "c@example.com", "pw")

    # when the coupon page's inlines are built
    model_admin = CouponWithInlinesAdmin(Coupon, admin.AdminSite())
    redemptions, deliveries = model_admin.get_inline_instances(request, coupon)

    # then both are read-only and list the coupon's rows
    assert not redemptions.has_add_permission(request, coupon)
    assert not redemptions.has_change_permission(request, coupon)
    rows = {row.transaction_number: row for row in redemptions.get_queryset(request)}
    assert redemptions.is_reversed(rows["B-1"]) is False
    assert redemptions.is_reversed(rows["B-2"]) is True
    assert rows["B-1"].pk == kept.pk
    assert [d.recipient for d in deliveries.get_queryset(request).filter(coupon=coupon)] == ["9198"]
