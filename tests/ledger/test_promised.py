"""Promised points mature into regular points (job); trigger-based points convert on a trigger."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ledger import services
from ledger.exceptions import InsufficientCurrentPointsError
from ledger.jobs import MATURITY_KIND
from ledger.models import EntryType, EventName, LedgerEvent
from loyalty_site.core.jobs import job_create
from loyalty_site.core.models import Job
from members.models import PointsCategory
from tests.ledger.factories import assert_consistent, balance, earn, key, lots_of, snapshot
from tests.members.factories import TransactionFactory

PROMISED = PointsCategory.PROMISED
TRIGGER = PointsCategory.TRIGGER_BASED


@pytest.mark.django_db
def test_promised_points_convert_at_maturity_in_one_event(org, program, customer, till):
    # given 80 promised points maturing in 14 days and 20 maturing in 30
    matures = timezone.now() + datetime.timedelta(days=14)
    bill = TransactionFactory(org=org, customer=customer, till=till)
    earn(customer, program, 80, actor=till, category=PROMISED, matures_at=matures, transaction=bill)
    earn(
        customer,
        program,
        20,
        actor=till,
        category=PROMISED,
        matures_at=matures + datetime.timedelta(days=16),
    )
    assert balance(customer, program, PROMISED) == 100

    # when the maturity runs as of the first maturity date
    event = services.points_promised_mature(customer=customer, as_of=matures)

    # then one DelayedAccrual event: debit PROMISED, credit REGULAR, net zero
    assert event.event_name == EventName.DELAYED_ACCRUAL
    entries = {(e.account.category, e.entry_type): e.points for e in event.entries.all()}
    assert entries == {
        (PROMISED, EntryType.DEBIT): 80,
        (PointsCategory.REGULAR, EntryType.CREDIT): 80,
    }
    assert event.net_points == 0
    assert balance(customer, program, PROMISED) == 20
    assert balance(customer, program) == 80
    # the regular lot still knows its bill
    assert lots_of(customer, program)[0].transaction == bill
    assert_consistent(org)


@pytest.mark.django_db
def test_maturity_before_time_and_twice_does_nothing(org, program, customer, till):
    matures = timezone.now() + datetime.timedelta(days=14)
    earn(customer, program, 80, actor=till, category=PROMISED, matures_at=matures)

    assert services.points_promised_mature(customer=customer) is None
    services.points_promised_mature(customer=customer, as_of=matures)
    before = snapshot(org)
    assert services.points_promised_mature(customer=customer, as_of=matures) is None
    assert snapshot(org) == before


@pytest.mark.django_db
def test_maturity_job_converts_for_the_org(
    org, program, customer, other_customer, till, django_capture_on_commit_callbacks
):
    soon = timezone.now() + datetime.timedelta(seconds=1)
    for owner in (customer, other_customer):
        earn(owner, program, 15, actor=till, category=PROMISED, matures_at=soon)
    later = (soon + datetime.timedelta(minutes=1)).isoformat()

    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind=MATURITY_KIND, org=org, params={"as_of": later, "batch_size": 1})

    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED and job.processed == 2 and job.failed == 0
    assert balance(customer, program) == 15 and balance(other_customer, program) == 15
    assert LedgerEvent.objects.filter(event_name=EventName.DELAYED_ACCRUAL).count() == 2
    assert_consistent(org)


@pytest.mark.django_db
def test_trigger_based_points_convert_on_the_trigger(org, program, customer, till):
    bill = TransactionFactory(org=org, customer=customer, till=till)
    earn(customer, program, 50, actor=till, category=TRIGGER, transaction=bill)
    earn(customer, program, 30, actor=till, category=TRIGGER)

    event = services.points_trigger_convert(
        customer=customer, program=program, actor=till, idempotency_key=key(), transaction=bill
    )

    assert event.event_name == EventName.TRIGGER_BASED_ACCRUAL and event.net_points == 0
    assert balance(customer, program, TRIGGER) == 30
    assert balance(customer, program) == 50
    assert_consistent(org)


@pytest.mark.django_db
def test_trigger_conversion_of_more_than_waiting_changes_nothing(org, program, customer, till):
    earn(customer, program, 30, actor=till, category=TRIGGER)
    before = snapshot(org)

    with pytest.raises(InsufficientCurrentPointsError):
        services.points_trigger_convert(
            customer=customer, program=program, actor=till, idempotency_key=key(), points=31
        )

    assert snapshot(org) == before
