"""Read-only inlines for the coupon admin page, so member care sees per coupon its redemptions
(with the reversal flag) and the expiry reminders sent. Wire them into CouponAdmin.inlines."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from coupons.models import CouponRedemption, CouponReminderDelivery


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CouponRedemptionInline(ReadOnlyInline):
    model = CouponRedemption
    fk_name = "coupon"
    verbose_name = "redemption"
    verbose_name_plural = "Redemptions (a reversed one was undone by a return or reactivation)"
    fields = (
        "redeemed_at",
        "transaction_number",
        "store",
        "till",
        "bill_amount",
        "coupon_value",
        "currency",
        "is_reversed",
        "last_status_change_on",
    )
    readonly_fields = fields
    ordering = ("-redeemed_at", "-id")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("store", "till")

    @admin.display(boolean=True, description="reversed")
    def is_reversed(self, obj: CouponRedemption) -> bool:
        return not obj.is_active


class CouponReminderDeliveryInline(ReadOnlyInline):
    model = CouponReminderDelivery
    fk_name = "coupon"
    verbose_name = "expiry reminder"
    verbose_name_plural = "Expiry reminders sent"
    fields = (
        "created_at",
        "reminder",
        "channel",
        "recipient",
        "status",
        "sent_at",
        "error",
        "message",
    )
    readonly_fields = fields
    ordering = ("-id",)

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("reminder")
