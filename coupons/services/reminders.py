"""Coupon expiry reminders (the seed's "Send expiry reminders": N days before expiry, by SMS or
email, at a set time of day).

A beat job runs every 15 minutes. For each reminder of an offer delivered through the platform,
once the reminder's local send time (the org's time zone) has passed today, every issued coupon
of the offer whose `valid_till` falls on the local date N days ahead is reminded once, unless it
is redeemed, revoked or already expired. Once per coupon is held by a `CouponReminderDelivery`
row (unique reminder + coupon) inserted in its own transaction before the message goes out: a
second run, or a concurrent worker, finds the row and sends nothing. A crash between the claim
and the send leaves the row PENDING (at most once: a reminder is never sent twice).
"""

from __future__ import annotations

import datetime
import logging
import re
import smtplib
import zoneinfo
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from coupons.models import (
    Coupon,
    CouponExpiryReminder,
    CouponReminderDelivery,
    DeliveryMethod,
    ReminderChannel,
)
from coupons.services.messages import TAG_PATTERN, TAGS, coupon_message_render
from loyalty_site.core.notifications import notify_email, notify_sms
from loyalty_site.core.sms import SmsDeliveryError

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
EMAIL_SUBJECT = "Your {offer} coupon expires on {date}"
EMAIL_ERRORS = (smtplib.SMTPException, OSError)


@dataclass
class ReminderRunResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "skipped": self.skipped}


def _day_start(day: datetime.date, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)


def reminder_due_window(
    *, reminder: CouponExpiryReminder, now: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime] | None:
    """The [start, end) of the local day N days ahead whose expiring coupons are reminded now,
    or None before the reminder's local send time today. Day bounds are local midnights, so a
    23- or 25-hour DST day is covered exactly."""
    tz = reminder.series.org.tzinfo
    local_now = now.astimezone(tz)
    if local_now.time() < reminder.send_at:
        return None
    target = local_now.date() + datetime.timedelta(days=reminder.days_before_expiry)
    return _day_start(target, tz), _day_start(target + datetime.timedelta(days=1), tz)


def reminder_due_coupons(
    *, reminder: CouponExpiryReminder, now: datetime.datetime, after_id: int = 0
) -> list[Coupon]:
    """The next batch (id order, after `after_id`) of coupons the reminder is due for now and
    has not been sent (or tried) for: issued, unredeemed, not revoked, not expired."""
    window = reminder_due_window(reminder=reminder, now=now)
    if window is None:
        return []
    start, end = window
    sent = CouponReminderDelivery.objects.filter(reminder=reminder, coupon=OuterRef("pk"))
    coupons = (
        Coupon.objects.filter(
            series_id=reminder.series_id,
            customer__isnull=False,
            revoked_at__isnull=True,
            redemption_count=0,
            valid_till__gte=start,
            valid_till__lt=end,
            valid_till__gt=now,
            pk__gt=after_id,
        )
        .exclude(Exists(sent))
        .select_related("customer")
        .order_by("pk")
    )
    return list(coupons[:BATCH_SIZE])


def _claim(reminder: CouponExpiryReminder, coupon: Coupon) -> CouponReminderDelivery | None:
    """Insert the coupon's delivery row; None when one exists (sent before, or claimed by a
    concurrent run). The unique (reminder, coupon) constraint decides, never a prior read."""
    with transaction.atomic():
        delivery, created = CouponReminderDelivery.objects.get_or_create(
            reminder=reminder,
            coupon=coupon,
            defaults={"channel": reminder.channel, "status": CouponReminderDelivery.Status.PENDING},
        )
    return delivery if created else None


def reminder_message_render(*, reminder: CouponExpiryReminder, coupon: Coupon) -> str:
    """The reminder text with the offer's template tags filled in. SMS follows the offer's
    Unicode setting (coupon_message_render); email keeps every character."""
    series = reminder.series
    if reminder.channel == ReminderChannel.SMS:
        return coupon_message_render(
            template=reminder.message, coupon=coupon, series=series, customer=coupon.customer
        )

    def replace(match: re.Match[str]) -> str:
        renderer = TAGS.get(match.group(1))
        return renderer(coupon, series, coupon.customer) if renderer else match.group(0)

    return TAG_PATTERN.sub(replace, reminder.message)


def _deliver(
    *, reminder: CouponExpiryReminder, coupon: Coupon, delivery: CouponReminderDelivery
) -> str:
    customer = coupon.customer
    is_sms = reminder.channel == ReminderChannel.SMS
    recipient = (customer.mobile if is_sms else customer.email) or ""
    delivery.recipient = recipient
    delivery.message = reminder_message_render(reminder=reminder, coupon=coupon)
    status = CouponReminderDelivery.Status
    if not recipient:
        delivery.status = status.SKIPPED
        delivery.error = f"The customer has no {'mobile number' if is_sms else 'email address'}"
    else:
        try:
            if is_sms:
                notify_sms(to=recipient, body=delivery.message)
            else:
                series = reminder.series
                expires = coupon.valid_till.astimezone(series.org.tzinfo).strftime("%d %b %Y")
                notify_email(
                    to=[recipient],
                    subject=EMAIL_SUBJECT.format(offer=series.description, date=expires),
                    body=delivery.message,
                )
            delivery.status = status.SENT
            delivery.sent_at = timezone.now()
        except SmsDeliveryError as exc:
            delivery.status, delivery.error = status.FAILED, exc.reason
        except EMAIL_ERRORS as exc:
            delivery.status, delivery.error = status.FAILED, f"Email not delivered: {exc}"
    delivery.save(update_fields=["recipient", "message", "status", "error", "sent_at"])
    return delivery.status


def coupon_expiry_reminders_send(*, now: datetime.datetime | None = None) -> ReminderRunResult:
    """Send every expiry reminder that is due at `now` (see the module docstring); safe to run
    again or concurrently. Delivery failures are recorded on the delivery rows, not raised."""
    now = now or timezone.now()
    result = ReminderRunResult()
    reminders = (
        CouponExpiryReminder.objects.filter(
            series__org__is_active=True, series__delivery_method=DeliveryMethod.PLATFORM
        )
        .select_related("series__org")
        .order_by("pk")
    )
    for reminder in reminders:
        after_id = 0
        while batch := reminder_due_coupons(reminder=reminder, now=now, after_id=after_id):
            for coupon in batch:
                delivery = _claim(reminder, coupon)
                if delivery is None:
                    continue
                coupon.series = reminder.series
                outcome = _deliver(reminder=reminder, coupon=coupon, delivery=delivery)
                if outcome == CouponReminderDelivery.Status.SENT:
                    result.sent += 1
                elif outcome == CouponReminderDelivery.Status.FAILED:
                    result.failed += 1
                else:
                    result.skipped += 1
            after_id = batch[-1].pk
    if result.sent or result.failed or result.skipped:
        logger.info("Coupon expiry reminders at %s: %s", now.isoformat(), result.as_dict())
    return result
