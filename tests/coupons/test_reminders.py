"""Coupon expiry reminders: sent once per coupon at the org's local send time, N local days
before expiry, by SMS or email; redeemed, revoked, expired and unissued coupons skipped; safe
to run twice and concurrently; org time zones and DST days."""

from __future__ import annotations

import datetime
import threading
import zoneinfo

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from coupons.models import CouponExpiryReminder, CouponReminderDelivery, DeliveryMethod
from coupons.services.expiry import end_of_day
from coupons.services.reminders import coupon_expiry_reminders_send
from coupons.tasks import coupon_expiry_reminders_send_task
from loyalty_site.celery import app as celery_app
from loyalty_site.core import sms
from tests.coupons.factories import CouponFactory, CouponSeriesFactory
from tests.coupons.read_factories import IssuedCouponFactory
from tests.members.factories import CustomerFactory, OrgFactory

UTC = datetime.UTC
KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
# 2024-06-10 10:30 in Kolkata (UTC+5:30), 01:00 in New York (UTC-4).
NOW = datetime.datetime(2024, 6, 10, 5, 0, tzinfo=UTC)
MESSAGE = "Hi {{first_name}}, {{voucher_code}} for {{offer_name}} expires on {{valid_till}}"
Status = CouponReminderDelivery.Status


class FailingSmsBackend:
    def send(self, message):
        raise sms.SmsDeliveryError("gateway answered HTTP 503")


@pytest.fixture(autouse=True)
def _outboxes(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "console"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def make_reminder(org, *, days=3, channel="SMS", send_at=datetime.time(10, 0), **series_fields):
    series = CouponSeriesFactory(
        org=org,
        description="Summer sale",
        valid_till=datetime.datetime(2030, 1, 1, tzinfo=UTC),
        **series_fields,
    )
    return CouponExpiryReminder.objects.create(
        series=series,
        days_before_expiry=days,
        channel=channel,
        send_at=send_at,
        message=MESSAGE,
    )


def expiring(reminder, day: datetime.date, **fields):
    """An issued coupon of the reminder's offer expiring at the end of local `day`."""
    tz = reminder.series.org.tzinfo
    fields.setdefault("issued_at", datetime.datetime(2024, 1, 1, tzinfo=UTC))
    fields.setdefault("valid_till", end_of_day(day, tz))
    return IssuedCouponFactory(series=reminder.series, **fields)


@pytest.fixture
def kolkata(db):
    return OrgFactory(name="Kolkata Brand", time_zone="Asia/Kolkata")


# Sending -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_sms_reminder_is_sent_once_with_the_offers_tags(kolkata):
    # given a 3-days-before SMS reminder at 10:00 and a coupon expiring on 13 June (local)
    reminder = make_reminder(kolkata)
    customer = CustomerFactory(org=kolkata, first_name="Asha", mobile="919800000123")
    coupon = expiring(reminder, datetime.date(2024, 6, 13), customer=customer)

    # when the job runs at 10:30 local on 10 June, and again
    first = coupon_expiry_reminders_send(now=NOW)
    second = coupon_expiry_reminders_send(now=NOW + datetime.timedelta(minutes=15))

    # then one SMS went to the customer's mobile, rendered, and is recorded once
    assert first.as_dict() == {"sent": 1, "failed": 0, "skipped": 0}
    assert second.as_dict() == {"sent": 0, "failed": 0, "skipped": 0}
    expected = f"Hi Asha, {coupon.code} for Summer sale expires on 13 Jun 2024"
    assert [(m.to, m.body) for m in sms.outbox] == [("919800000123", expected)]
    delivery = CouponReminderDelivery.objects.get()
    assert (delivery.coupon, delivery.status, delivery.channel) == (coupon, Status.SENT, "SMS")
    assert delivery.recipient == "919800000123"
    assert delivery.message == expected
    assert delivery.sent_at is not None


@pytest.mark.django_db
def test_email_reminder_goes_through_django_email(kolkata):
    reminder = make_reminder(kolkata, channel="EMAIL", allows_unicode_sms=False)
    customer = CustomerFactory(org=kolkata, first_name="Zoë", email="zoe@example.com")
    coupon = expiring(reminder, datetime.date(2024, 6, 13), customer=customer)

    result = coupon_expiry_reminders_send(now=NOW)

    # the email keeps every character (the GSM rule is for SMS only)
    assert result.sent == 1
    [message] = mail.outbox
    assert message.to == ["zoe@example.com"]
    assert message.body == f"Hi Zoë, {coupon.code} for Summer sale expires on 13 Jun 2024"
    assert message.subject == "Your Summer sale coupon expires on 13 Jun 2024"
    assert sms.outbox == []
    delivery = CouponReminderDelivery.objects.get()
    assert (delivery.status, delivery.recipient) == (Status.SENT, "zoe@example.com")


@pytest.mark.django_db
def test_not_sent_before_the_local_send_time(kolkata):
    reminder = make_reminder(kolkata, send_at=datetime.time(11, 0))
    expiring(reminder, datetime.date(2024, 6, 13))

    result = coupon_expiry_reminders_send(now=NOW)  # 10:30 local

    assert result.sent == 0
    assert not CouponReminderDelivery.objects.exists()
    assert coupon_expiry_reminders_send(now=NOW + datetime.timedelta(minutes=30)).sent == 1


@pytest.mark.django_db
def test_skips_redeemed_revoked_expired_unissued_and_other_days(kolkata):
    # given coupons that must not be reminded and one that must
    reminder = make_reminder(kolkata, days=0, send_at=datetime.time(9, 0))
    today = datetime.date(2024, 6, 10)
    due = expiring(reminder, today)
    expiring(reminder, today, redemption_count=1)  # redeemed
    expiring(reminder, today, revoked_at=NOW)  # revoked
    # expired at 10:00 local today, before the 10:30 run
    expiring(reminder, today, valid_till=datetime.datetime(2024, 6, 10, 4, 30, tzinfo=UTC))
    expiring(reminder, today + datetime.timedelta(days=1))  # expires tomorrow
    CouponFactory(series=reminder.series, valid_till=end_of_day(today, KOLKATA))  # unissued

    # when the job runs
    result = coupon_expiry_reminders_send(now=NOW)

    # then only the due coupon got a reminder
    assert result.sent == 1
    assert list(CouponReminderDelivery.objects.values_list("coupon", flat=True)) == [due.pk]


@pytest.mark.django_db
def test_third_party_offers_send_no_reminders(kolkata):
    reminder = make_reminder(kolkata, delivery_method=DeliveryMethod.THIRD_PARTY)
    expiring(reminder, datetime.date(2024, 6, 13))

    assert coupon_expiry_reminders_send(now=NOW).sent == 0


@pytest.mark.django_db
def test_missing_contact_is_recorded_as_skipped(kolkata):
    reminder = make_reminder(kolkata)
    customer = CustomerFactory(org=kolkata, mobile=None, email="only@example.com")
    expiring(reminder, datetime.date(2024, 6, 13), customer=customer)

    result = coupon_expiry_reminders_send(now=NOW)
    again = coupon_expiry_reminders_send(now=NOW)

    assert result.as_dict() == {"sent": 0, "failed": 0, "skipped": 1}
    assert again.skipped == 0
    delivery = CouponReminderDelivery.objects.get()
    assert delivery.status == Status.SKIPPED
    assert "no mobile" in delivery.error
    assert delivery.message.startswith("Hi Tom")
    assert sms.outbox == []


@pytest.mark.django_db
def test_gateway_failure_is_recorded_as_failed_and_not_retried(kolkata, settings):
    settings.SMS_BACKEND = f"{__name__}.FailingSmsBackend"
    reminder = make_reminder(kolkata)
    expiring(reminder, datetime.date(2024, 6, 13))

    result = coupon_expiry_reminders_send(now=NOW)
    again = coupon_expiry_reminders_send(now=NOW)

    assert result.failed == 1 and again.failed == 0
    delivery = CouponReminderDelivery.objects.get()
    assert (delivery.status, delivery.error) == (Status.FAILED, "gateway answered HTTP 503")
    assert delivery.recipient


# Time zones ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_each_org_is_reminded_at_its_own_local_time(kolkata):
    # given the same 10:00 reminder in Kolkata and in New York, coupons expiring 13 June local
    new_york = OrgFactory(name="New York Brand", time_zone="America/New_York")
    in_kolkata = expiring(make_reminder(kolkata), datetime.date(2024, 6, 13))
    in_new_york = expiring(make_reminder(new_york), datetime.date(2024, 6, 13))

    # when the job runs at 05:00 UTC (10:30 Kolkata, 01:00 New York)
    coupon_expiry_reminders_send(now=NOW)
    after_first = set(CouponReminderDelivery.objects.values_list("coupon", flat=True))

    # and again at 14:30 UTC (20:00 Kolkata, 10:30 New York)
    coupon_expiry_reminders_send(now=datetime.datetime(2024, 6, 10, 14, 30, tzinfo=UTC))
    after_second = set(CouponReminderDelivery.objects.values_list("coupon", flat=True))

    # then Kolkata's went out first, New York's at its own 10:00
    assert after_first == {in_kolkata.pk}
    assert after_second == {in_kolkata.pk, in_new_york.pk}


@pytest.mark.django_db
def test_the_local_date_decides_not_the_utc_date(kolkata):
    # given a coupon expiring 13 June 02:00 Kolkata (= 12 June 20:30 UTC)
    reminder = make_reminder(kolkata, send_at=datetime.time(0, 0))
    early = expiring(
        reminder,
        datetime.date(2024, 6, 13),
        valid_till=datetime.datetime(2024, 6, 13, 2, 0, tzinfo=KOLKATA),
    )

    # when the job runs on 10 June local: 13 June is 3 days ahead, so it is reminded
    coupon_expiry_reminders_send(now=NOW)

    assert list(CouponReminderDelivery.objects.values_list("coupon", flat=True)) == [early.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("run_at", "target", "inside", "outside"),
    [
        # spring forward: 10 March 2024 has 23 hours in New York
        (
            datetime.datetime(2024, 3, 9, 15, 30, tzinfo=UTC),  # 10:30 EST on 9 March
            datetime.date(2024, 3, 10),
            [datetime.datetime(2024, 3, 10, 0, 30), datetime.datetime(2024, 3, 10, 23, 30)],
            [datetime.datetime(2024, 3, 9, 23, 30), datetime.datetime(2024, 3, 11, 0, 30)],
        ),
        # fall back: 3 November 2024 has 25 hours in New York
        (
            datetime.datetime(2024, 11, 2, 14, 30, tzinfo=UTC),  # 10:30 EDT on 2 November
            datetime.date(2024, 11, 3),
            [datetime.datetime(2024, 11, 3, 0, 30), datetime.datetime(2024, 11, 3, 23, 30)],
            [datetime.datetime(2024, 11, 2, 23, 30), datetime.datetime(2024, 11, 4, 0, 30)],
        ),
    ],
)
def test_dst_days_are_whole_local_days(run_at, target, inside, outside):
    # given a New York 1-day-before reminder and coupons around a DST day
    new_york = OrgFactory(name="New York Brand", time_zone="America/New_York")
    reminder = make_reminder(new_york, days=1)
    due = [
        expiring(reminder, target, valid_till=moment.replace(tzinfo=NEW_YORK)) for moment in inside
    ]
    for moment in outside:
        expiring(reminder, target, valid_till=moment.replace(tzinfo=NEW_YORK))

    # when the job runs the day before, after 10:00 local
    coupon_expiry_reminders_send(now=run_at)

    # then exactly the coupons expiring on the DST day (local) are reminded
    reminded = set(CouponReminderDelivery.objects.values_list("coupon", flat=True))
    assert reminded == {coupon.pk for coupon in due}


# The task and the schedule -------------------------------------------------------------------
@pytest.mark.django_db
def test_task_sends_what_is_due_now_and_is_safe_twice(kolkata):
    # given a reminder due at any time of day, for coupons expiring tomorrow (local)
    reminder = make_reminder(kolkata, days=1, send_at=datetime.time(0, 0))
    tomorrow = timezone.now().astimezone(KOLKATA).date() + datetime.timedelta(days=1)
    expiring(reminder, tomorrow)

    first = coupon_expiry_reminders_send_task.apply().get()
    second = coupon_expiry_reminders_send_task.apply().get()

    assert first == {"sent": 1, "failed": 0, "skipped": 0}
    assert second["sent"] == 0
    assert len(sms.outbox) == 1


def test_beat_runs_the_reminders_every_15_minutes():
    entry = celery_app.conf.beat_schedule["coupons-expiry-reminders"]

    assert entry["task"] == "coupons.tasks.coupon_expiry_reminders_send_task"
    assert entry["schedule"].minute == {0, 15, 30, 45}


# Concurrency ---------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_each_reminder_once(postgres_only):
    # given 30 coupons due for one reminder
    org = OrgFactory(name="Kolkata Brand", time_zone="Asia/Kolkata")
    reminder = make_reminder(org)
    for _ in range(30):
        expiring(reminder, datetime.date(2024, 6, 13))

    # when four workers run the job at the same moment
    barrier = threading.Barrier(4)
    results: list = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(coupon_expiry_reminders_send(now=NOW))
        except Exception as exc:  # asserted below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then every coupon got exactly one SMS and one delivery row
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.sent for r in results) == 30
    assert len(sms.outbox) == 30
    assert len({m.body for m in sms.outbox}) == 30
    assert CouponReminderDelivery.objects.filter(status=Status.SENT).count() == 30
