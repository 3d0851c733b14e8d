"""Points expiry: a job per org debits what expired before the "as of" day (org time zone)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ledger import services
from ledger.jobs import EXPIRY_KIND
from ledger.models import EntryType, EventName, LedgerEvent, LotConsumption
from ledger.services.schedule import points_expiry_jobs_create
from loyalty_site.core.jobs import job_create, job_retry
from loyalty_site.core.models import Job
from tests.ledger.factories import assert_consistent, balance, earn, key, lots_of, member, snapshot
from tests.members.factories import UserGroupFactory


def local_today(org) -> datetime.date:
    return timezone.localtime(timezone.now(), org.tzinfo).date()


@pytest.mark.django_db
def test_expiry_debits_exactly_what_is_left_of_expired_lots(org, expiring_program, till):
    # given 100 points expiring in 30 days (end of day, org time zone), 30 of them redeemed,
    # and 50 more expiring later
    customer = member(org, [expiring_program])
    earn(customer, expiring_program, 100, actor=till)
    later = local_today(org) + datetime.timedelta(days=45)
    earn(customer, expiring_program, 50, actor=till, expires_at=later)
    services.points_redeem(
        customer=customer, program=expiring_program, points=30, actor=till, idempotency_key=key()
    )
    expiry_day = local_today(org) + datetime.timedelta(days=30)

    # when expiry runs for the expiry day itself: nothing has expired yet
    assert services.points_expire(customer=customer, as_of=expiry_day) is None
    started = timezone.now()
    # and for the next day: the remaining 70 of the first lot expire
    event = services.points_expire(customer=customer, as_of=expiry_day + datetime.timedelta(days=1))

    assert event.event_name == EventName.POINTS_EXPIRY
    debit = event.entries.get()
    assert (debit.entry_type, debit.points, debit.closing_balance) == (EntryType.DEBIT, 70, 50)
    assert LotConsumption.objects.get(entry=debit).lot == lots_of(customer, expiring_program)[0]
    # the entry's time is when the job ran; the event date is the end of the expiry day
    assert event.created_at >= started
    assert timezone.localtime(event.occurred_at, org.tzinfo).date() == expiry_day
    assert balance(customer, expiring_program) == 50
    assert_consistent(org)


@pytest.mark.django_db
def test_expiry_twice_expires_once(org, expiring_program, till):
    customer = member(org, [expiring_program])
    earn(customer, expiring_program, 100, actor=till)
    as_of = local_today(org) + datetime.timedelta(days=40)
    services.points_expire(customer=customer, as_of=as_of)
    before = snapshot(org)

    assert services.points_expire(customer=customer, as_of=as_of) is None
    assert snapshot(org) == before


@pytest.mark.django_db
def test_expiry_job_per_org_covers_customers_and_groups(
    org, expiring_program, till, other_org, django_capture_on_commit_callbacks
):
    customers = [member(org, [expiring_program]) for _ in range(3)]
    group = UserGroupFactory(org=org)
    for owner in [*customers, group]:
        earn(owner, expiring_program, 10, actor=till)
    never = member(org, [expiring_program])
    earn(
        never,
        expiring_program,
        10,
        actor=till,
        expires_at=local_today(org) + datetime.timedelta(days=90),
    )
    as_of = (local_today(org) + datetime.timedelta(days=31)).isoformat()

    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind=EXPIRY_KIND, org=org, params={"as_of": as_of, "batch_size": 2})

    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED, job.error_message
    assert job.processed == 4 and job.failed == 0
    assert all(balance(owner, expiring_program) == 0 for owner in [*customers, group])
    assert balance(never, expiring_program) == 10
    assert LedgerEvent.objects.filter(event_name=EventName.POINTS_EXPIRY).count() == 4
    assert_consistent(org)


@pytest.mark.django_db
def test_expiry_job_resumes_after_its_cursor(
    org, expiring_program, till, django_capture_on_commit_callbacks
):
    customers = [member(org, [expiring_program]) for _ in range(3)]
    for owner in customers:
        earn(owner, expiring_program, 10, actor=till)
    as_of = (local_today(org) + datetime.timedelta(days=31)).isoformat()
    # a crashed job that committed the first customer's batch
    services.points_expire(customer=customers[0], as_of=datetime.date.fromisoformat(as_of))
    job = Job.objects.create(
        kind=EXPIRY_KIND,
        org=org,
        params={"as_of": as_of, "batch_size": 1},
        status=Job.Status.FAILED,
        cursor=f"customer:{customers[0].pk}",
        processed=1,
    )

    with django_capture_on_commit_callbacks(execute=True):
        job_retry(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED and job.processed == 3
    assert LedgerEvent.objects.filter(event_name=EventName.POINTS_EXPIRY).count() == 3


@pytest.mark.django_db
def test_daily_schedule_creates_one_job_per_org_and_day(org, other_org):
    first = points_expiry_jobs_create()
    again = points_expiry_jobs_create()

    assert {job.org_id for job in first} == {org.pk, other_org.pk}
    assert again == []
    job = Job.objects.get(kind=EXPIRY_KIND, org=org)
    assert job.params["as_of"] == local_today(org).isoformat()
