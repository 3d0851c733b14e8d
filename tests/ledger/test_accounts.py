"""Accounts start with exactly one opening balance: at registration, on demand, or back-filled."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger import services
from ledger.exceptions import InvalidProgramIdError
from ledger.jobs import BACKFILL_KIND
from ledger.models import EntryType, EventName, LedgerEntry, LedgerEvent, PointsAccount
from ledger.services import OpeningBalance
from loyalty_site.core.jobs import job_create
from loyalty_site.core.models import Job
from members.models import PointsCategory
from members.services.customers import customer_register
from members.services.pipeline import run_pipeline
from tests.ledger.factories import assert_consistent, balance, earn, lots_of, snapshot
from tests.members.factories import CustomerFactory, ProgramFactory, UserGroupFactory


@pytest.mark.django_db
def test_registration_opens_every_program_and_category_with_zero(org, till):
    # given an org with five programs (one inactive program is ignored)
    programs = [ProgramFactory(org=org) for _ in range(5)]
    ProgramFactory(org=org, is_active=False)
    customer = CustomerFactory(org=org)

    # when the registration pipeline runs (as customer_register does)
    effects = run_pipeline(
        "CUSTOMER_REGISTRATION_PIPELINE",
        customer=customer,
        actor=till,
        context={"source": "INSTORE", "registered_at": customer.registered_at},
    )

    # then one CustomerRegistration event holds 15 zero opening balances
    assert effects == []
    event = LedgerEvent.objects.get(customer=customer)
    assert event.event_name == EventName.CUSTOMER_REGISTRATION
    assert event.till == till and event.store_id == till.store_id and event.source == "INSTORE"
    entries = list(event.entries.all())
    assert len(entries) == 15
    assert {(e.account.program_id, e.account.category) for e in entries} == {
        (p.pk, c) for p in programs for c in PointsCategory.values
    }
    assert all(e.entry_type == EntryType.OPENING_BALANCE for e in entries)
    assert all(e.points == 0 and e.closing_balance == 0 and e.sequence == 1 for e in entries)
    assert event.net_points == 0
    assert_consistent(org)


@pytest.mark.django_db
def test_registration_step_twice_opens_nothing_more(org, program, till):
    customer = CustomerFactory(org=org)
    services.ledger_open_accounts_on_registration(customer=customer, actor=till, context={})

    services.ledger_open_accounts_on_registration(customer=customer, actor=till, context={})

    assert PointsAccount.objects.filter(customer=customer).count() == 3
    assert LedgerEvent.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_customer_register_service_runs_the_ledger_step(org, program, till):
    # when a customer registers
    result = customer_register(org=org, actor=till, source="INSTORE", mobile="919812345678")

    # then their ledger starts with zero opening balances
    customer = result.customer
    assert PointsAccount.objects.filter(customer=customer).count() == 3
    assert LedgerEvent.objects.get(customer=customer).event_name == EventName.CUSTOMER_REGISTRATION


@pytest.mark.django_db
def test_posting_to_an_unopened_account_opens_it_first(org, program, till):
    # given a customer from before the ledger (no accounts)
    customer = CustomerFactory(org=org)

    # when points are credited
    event = earn(customer, program, 100, actor=till)

    # then a zero opening balance came first, in its own earlier event
    account = PointsAccount.objects.get(
        customer=customer, program=program, category=PointsCategory.REGULAR
    )
    entries = list(account.entries.order_by("sequence"))
    assert [(e.entry_type, e.points, e.closing_balance) for e in entries] == [
        (EntryType.OPENING_BALANCE, 0, 0),
        (EntryType.CREDIT, 100, 100),
    ]
    opening_event = entries[0].event
    assert opening_event.event_name == EventName.CUSTOMER_UPDATE
    assert opening_event.pk < event.pk
    assert_consistent(org)


@pytest.mark.django_db
def test_a_new_program_is_opened_on_first_posting(org, program, customer, till):
    # given a program launched after the customer registered
    new_program = ProgramFactory(org=org)

    earn(customer, new_program, 10, actor=till)

    assert balance(customer, new_program) == 10
    assert (
        LedgerEntry.objects.filter(
            account__customer=customer,
            account__program=new_program,
            entry_type=EntryType.OPENING_BALANCE,
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_backfill_opens_with_the_given_balance(org, program, till):
    # given a customer with 250 points from before the ledger
    customer = CustomerFactory(org=org)

    # when the ledger is back-filled
    event = services.ledger_backfill_owner(
        customer=customer,
        balances={(program.pk, PointsCategory.REGULAR): Decimal("250")},
    )

    # then the opening balance carries the balance and a lot holds it
    assert event.event_name == EventName.POINTS_LEDGER_BULK_JOB
    assert event.entries.count() == 3
    regular = event.entries.get(account__category=PointsCategory.REGULAR)
    assert (regular.entry_type, regular.points, regular.closing_balance) == (
        EntryType.OPENING_BALANCE,
        250,
        250,
    )
    assert balance(customer, program) == 250
    assert [lot.remaining_points for lot in lots_of(customer, program)] == [250]
    assert_consistent(org)


@pytest.mark.django_db
def test_backfill_twice_changes_nothing(org, program):
    customer = CustomerFactory(org=org)
    services.ledger_backfill_owner(
        customer=customer, balances={(program.pk, PointsCategory.REGULAR): 40}
    )
    before = snapshot(org)

    again = services.ledger_backfill_owner(
        customer=customer, balances={(program.pk, PointsCategory.REGULAR): 999}
    )

    assert again is None
    assert snapshot(org) == before


@pytest.mark.django_db
def test_backfill_with_expiry_and_promised_maturity(org, program):
    customer = CustomerFactory(org=org)
    expires = timezone.now() + datetime.timedelta(days=10)
    matures = timezone.now() + datetime.timedelta(days=3)

    services.ledger_backfill_owner(
        customer=customer,
        balances={
            (program.pk, PointsCategory.REGULAR): OpeningBalance(points=5, expires_at=expires),
            (program.pk, PointsCategory.PROMISED): OpeningBalance(points=7, matures_at=matures),
        },
    )

    assert lots_of(customer, program)[0].expires_at == expires
    assert lots_of(customer, program, PointsCategory.PROMISED)[0].matures_at == matures


@pytest.mark.django_db
def test_backfill_for_a_program_of_another_org_fails_and_changes_nothing(org, other_org):
    customer = CustomerFactory(org=org)
    foreign = ProgramFactory(org=other_org)
    before = snapshot(org)

    with pytest.raises(InvalidProgramIdError) as error:
        services.ledger_backfill_owner(
            customer=customer, balances={(foreign.pk, PointsCategory.REGULAR): 5}
        )

    assert error.value.code == 885
    assert snapshot(org) == before


@pytest.mark.django_db
def test_user_group_ledger(org, program, till):
    group = UserGroupFactory(org=org)

    services.points_accounts_open(user_group=group, actor=till)
    earn(group, program, 350, actor=till, event_name=EventName.ALLOCATE_GOODWILL_POINTS)

    assert balance(group, program) == 350
    assert LedgerEvent.objects.filter(user_group=group).count() == 2
    assert_consistent(org)


@pytest.mark.django_db
def test_database_refuses_a_second_opening_balance(org, program, customer):
    account = PointsAccount.objects.filter(customer=customer).first()
    event = LedgerEvent.objects.filter(customer=customer).first()

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            event=event,
            account=account,
            entry_type=EntryType.OPENING_BALANCE,
            sequence=1,
            points=0,
            closing_balance=0,
        )


@pytest.mark.django_db
def test_database_refuses_an_entry_before_the_opening_balance(org, program):
    customer = CustomerFactory(org=org)
    account = PointsAccount.objects.create(
        org=org, customer=customer, program=program, category=PointsCategory.REGULAR
    )
    event = LedgerEvent.objects.create(
        org=org, customer=customer, event_name=EventName.TRANSACTION_ADD, occurred_at=timezone.now()
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            event=event,
            account=account,
            entry_type=EntryType.CREDIT,
            sequence=1,
            points=5,
            closing_balance=5,
        )


@pytest.mark.django_db
def test_database_refuses_a_negative_balance(org, program, customer):
    account = PointsAccount.objects.filter(customer=customer).first()

    with pytest.raises(IntegrityError), transaction.atomic():
        PointsAccount.objects.filter(pk=account.pk).update(balance=-1)

    # the merge rule's flag allows it
    PointsAccount.objects.filter(pk=account.pk).update(balance=-1, allows_negative_balance=True)


@pytest.mark.django_db
def test_entries_are_append_only(org, program, customer, till):
    event = earn(customer, program, 10, actor=till)
    entry = event.entries.get()

    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


@pytest.mark.django_db
def test_backfill_job_opens_old_customers_in_batches(
    org, program, till, django_capture_on_commit_callbacks
):
    # given three customers from before the ledger, one of them with a balance, and one
    # customer who already has a ledger
    old = [CustomerFactory(org=org) for _ in range(3)]
    current = CustomerFactory(org=org)
    services.ledger_open_accounts_on_registration(customer=current, actor=till, context={})
    params = {
        "batch_size": 2,
        "balances": [{"customerId": old[1].pk, "programId": program.pk, "points": "75"}],
    }

    # when the back-fill job runs (twice)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind=BACKFILL_KIND, org=org, params=params)
    with django_capture_on_commit_callbacks(execute=True):
        second = job_create(kind=BACKFILL_KIND, org=org, params=params)

    # then every old customer got one back-fill event, the balance where given
    job.refresh_from_db()
    second.refresh_from_db()
    assert (job.status, job.total, job.processed, job.failed) == (Job.Status.FINISHED, 3, 3, 0)
    assert (second.status, second.total, second.processed) == (Job.Status.FINISHED, 0, 0)
    for customer in old:
        assert (
            LedgerEvent.objects.get(customer=customer).event_name
            == EventName.POINTS_LEDGER_BULK_JOB
        )
    assert [balance(c, program) for c in old] == [0, 75, 0]
    assert LedgerEvent.objects.filter(customer=current).count() == 1
    assert_consistent(org)


@pytest.mark.django_db
def test_backfill_job_reports_bad_rows(org, program, django_capture_on_commit_callbacks):
    customer = CustomerFactory(org=org)
    params = {"balances": [{"customerId": customer.pk, "programId": program.pk, "points": "x"}]}

    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind=BACKFILL_KIND, org=org, params=params)

    job.refresh_from_db()
    assert (job.status, job.processed, job.failed) == (Job.Status.FINISHED, 1, 1)
    assert job.row_errors.get().code == "801"
    assert not PointsAccount.objects.filter(customer=customer).exists()


@pytest.mark.django_db
def test_backfill_of_a_negative_balance_flags_the_account(org, program):
    customer = CustomerFactory(org=org)

    services.ledger_backfill_owner(
        customer=customer, balances={(program.pk, PointsCategory.REGULAR): "-40"}
    )

    account = PointsAccount.objects.get(
        customer=customer, program=program, category=PointsCategory.REGULAR
    )
    assert account.balance == -40 and account.allows_negative_balance
    assert lots_of(customer, program) == []
    assert_consistent(org)
