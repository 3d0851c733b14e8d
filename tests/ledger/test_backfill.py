"""The ledger back-fill in batches (LedgerBackfillJob -> ledger_backfill_customers) writes exactly
the rows of the one-customer-at-a-time paths, with a fixed number of statements per batch, and
stays safe against a concurrent registration, a re-run and a crash."""

from __future__ import annotations

import datetime
import json
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ledger import jobs as ledger_jobs
from ledger import services
from ledger.exceptions import ConcurrentLedgerUpdateError
from ledger.jobs import BACKFILL_KIND
from ledger.models import (
    EntryType,
    EventName,
    LedgerEntry,
    LedgerEvent,
    PointsAccount,
    PointsLot,
)
from ledger.services import OpeningBalance
from ledger.services import accounts as account_services
from ledger.services.posting import accounts_open, lock_for_write
from loyalty_site.core.jobs import job_create, job_retry
from loyalty_site.core.models import Job
from members.models import Customer, PointsCategory
from tests.ledger.factories import assert_consistent, snapshot
from tests.members.factories import CustomerFactory, ProgramFactory

TIMESTAMPS = {"id", "created_at", "updated_at"}


def _fields(instance, *, skip: set[str] = frozenset()) -> tuple:
    """Every stored value of a row except its id and timestamps (and `skip`), comparable."""
    values = []
    for model_field in instance._meta.concrete_fields:
        name = model_field.attname
        if name in TIMESTAMPS or name in skip:
            continue
        value = getattr(instance, name)
        values.append(
            (name, json.dumps(value, sort_keys=True) if isinstance(value, dict) else value)
        )
    return tuple(values)


def _ledger_rows(org) -> dict[str, Any]:
    """The org's ledger without ids and timestamps: rows point at each other by natural keys
    (an account by owner/program/category, an event by owner/name, an entry by account/seq)."""
    accounts = {account.pk: account for account in PointsAccount.objects.filter(org=org)}
    events = {event.pk: event for event in LedgerEvent.objects.filter(org=org)}
    entries = {entry.pk: entry for entry in LedgerEntry.objects.filter(account__org=org)}

    def account_key(account_id):
        account = accounts[account_id]
        return (account.customer_id, account.user_group_id, account.program_id, account.category)

    def event_key(event_id):
        return (events[event_id].customer_id, events[event_id].event_name)

    def entry_key(entry_id):
        return (account_key(entries[entry_id].account_id), entries[entry_id].sequence)

    order: dict[int, list] = {}
    for pk in sorted(accounts):
        order.setdefault(accounts[pk].customer_id, []).append(account_key(pk))
    return {
        "accounts": sorted(_fields(account) for account in accounts.values()),
        # accounts are numbered in the same order (program, then category) for each owner
        "account_order": order,
        "events": sorted(_fields(event, skip={"occurred_at"}) for event in events.values()),
        "entries": sorted(
            (account_key(entry.account_id), event_key(entry.event_id))
            + _fields(entry, skip={"account_id", "event_id"})
            for entry in entries.values()
        ),
        "lots": sorted(
            (account_key(lot.account_id), entry_key(lot.source_entry_id))
            + _fields(lot, skip={"account_id", "source_entry_id"})
            for lot in PointsLot.objects.filter(account__org=org)
        ),
    }


@pytest.fixture
def legacy_customers(org, program, till):
    """Customers from before the ledger, in every shape the back-fill meets, and their legacy
    balances as the job's params and as the services' OpeningBalance values."""
    second = ProgramFactory(org=org, name="Second", points_decimal_places=2)
    ProgramFactory(org=org, name="Closed", is_active=False)
    expires = (timezone.now() + datetime.timedelta(days=40)).replace(microsecond=0)
    matures = (timezone.now() + datetime.timedelta(days=5)).replace(microsecond=0)
    plain, rich, indebted, partial, merged = (CustomerFactory(org=org) for _ in range(5))
    # `partial` registered before the second program was launched: only its accounts are missing
    with transaction.atomic():
        lock_for_write([partial])
        accounts_open(
            owner=partial,
            keys=[(program.pk, category) for category in PointsCategory.values],
            event_name=EventName.CUSTOMER_REGISTRATION,
        )
    Customer.objects.filter(pk=merged.pk).update(merged_into=plain)
    params = [
        {"customerId": rich.pk, "programId": program.pk, "points": "250", "expiresAt": expires},
        {
            "customerId": rich.pk,
            "programId": program.pk,
            "category": PointsCategory.PROMISED,
            "points": 7,
            "maturesAt": matures,
        },
        {"customerId": rich.pk, "programId": second.pk, "points": "12.50"},
        {
            "customerId": rich.pk,
            "programId": second.pk,
            "category": PointsCategory.TRIGGER_BASED,
            "points": "0",
        },
        {"customerId": indebted.pk, "programId": second.pk, "points": "-40"},
        {"customerId": indebted.pk, "programId": program.pk, "points": "1"},
        # the account exists already: left alone
        {"customerId": partial.pk, "programId": program.pk, "points": "99"},
        {"customerId": partial.pk, "programId": second.pk, "points": "30"},
        {"customerId": merged.pk, "programId": program.pk, "points": "5"},
    ]
    for row in params:
        for name in ("expiresAt", "maturesAt"):
            if name in row:
                row[name] = row[name].isoformat()
    balances: dict[int, dict] = {}
    for row in params:
        key = (row["programId"], row.get("category", PointsCategory.REGULAR))
        balances.setdefault(row["customerId"], {})[key] = OpeningBalance(
            points=Decimal(str(row["points"])),
            expires_at=expires if "expiresAt" in row else None,
            matures_at=matures if "maturesAt" in row else None,
        )
    return {
        "customers": [plain, rich, indebted, partial, merged],
        "programs": [program, second],
        "params": params,
        "balances": balances,
    }


def _run_job(org, params, capture, **extra) -> Job:
    with capture(execute=True):
        job = job_create(kind=BACKFILL_KIND, org=org, params={"balances": params, **extra})
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_batches_write_the_same_rows_as_one_customer_at_a_time(
    org, legacy_customers, django_capture_on_commit_callbacks
):
    customers = legacy_customers["customers"]
    balances = legacy_customers["balances"]
    programs = legacy_customers["programs"]

    # given the ledger as the original per-customer path wrote it (accounts_open + EventWriter)
    with transaction.atomic():
        for customer in customers:
            if Customer.objects.filter(pk=customer.pk, merged_into__isnull=False).exists():
                continue
            opening = account_services._opening_balances(
                owner=customer,
                programs={program.pk: program for program in programs},
                balances=balances.get(customer.pk),
            )
            lock_for_write([customer])
            accounts_open(
                owner=customer,
                keys=[(p.pk, category) for p in programs for category in PointsCategory.values],
                event_name=EventName.POINTS_LEDGER_BULK_JOB,
                opening_balances=opening,
            )
        event_writer_rows = _ledger_rows(org)
        transaction.set_rollback(True)

    # and as ledger_backfill_owner writes it, one customer at a time
    with transaction.atomic():
        for customer in customers:
            services.ledger_backfill_owner(customer=customer, balances=balances.get(customer.pk))
        one_by_one = _ledger_rows(org)
        transaction.set_rollback(True)

    # when the job back-fills the same customers two at a time
    started = timezone.now()
    job = _run_job(
        org, legacy_customers["params"], django_capture_on_commit_callbacks, batch_size=2
    )

    # then it wrote the very same rows
    assert (job.status, job.total, job.processed, job.failed) == (Job.Status.FINISHED, 4, 4, 0)
    in_batches = _ledger_rows(org)
    assert in_batches == one_by_one == event_writer_rows
    # (the scenario covers what it should: lots, a negative balance, a partial ledger)
    assert len(in_batches["lots"]) == 5
    assert any(
        account[-1] == ("allows_negative_balance", True) for account in in_batches["accounts"]
    )
    assert len(in_batches["events"]) == 5
    backfill_events = LedgerEvent.objects.filter(event_name=EventName.POINTS_LEDGER_BULK_JOB)
    assert backfill_events.count() == 4
    assert all(started <= event.occurred_at <= timezone.now() for event in backfill_events)
    assert_consistent(org)


@pytest.mark.django_db
def test_a_batch_takes_the_same_number_of_statements_for_5_or_30_customers(org, program):
    # given two groups of customers from before the ledger, with a balance each (30 keeps every
    # INSERT under SQLite's 999 parameters, past which Django splits it)
    small = [CustomerFactory(org=org) for _ in range(5)]
    large = [CustomerFactory(org=org) for _ in range(30)]

    def backfill(customers) -> int:
        key = (program.pk, PointsCategory.REGULAR)
        with CaptureQueriesContext(connection) as queries:
            result = account_services.ledger_backfill_customers(
                org=org,
                customers=customers,
                balances={customer.pk: {key: 10} for customer in customers},
            )
        assert len(result.events) == len(customers) and result.errors == {}
        return len(queries)

    # then back-filling 30 costs no more statements than 5 (none per customer)
    assert backfill(large) == backfill(small)
    assert PointsLot.objects.filter(account__org=org).count() == 35
    assert_consistent(org)


@pytest.mark.django_db
def test_a_bad_balance_fails_only_its_customer_in_the_batch(
    org, program, other_org, django_capture_on_commit_callbacks
):
    # given a batch with a bad points value and a program of another org among good rows
    good, bad_points, foreign_program = (CustomerFactory(org=org) for _ in range(3))
    foreign = ProgramFactory(org=other_org)
    params = [
        {"customerId": good.pk, "programId": program.pk, "points": "5"},
        {"customerId": bad_points.pk, "programId": program.pk, "points": "1.5"},
        {"customerId": foreign_program.pk, "programId": foreign.pk, "points": "5"},
    ]

    job = _run_job(org, params, django_capture_on_commit_callbacks)

    # then the two bad customers are reported and untouched, the good one is back-filled
    assert (job.status, job.processed, job.failed) == (Job.Status.FINISHED, 3, 2)
    assert sorted(job.row_errors.values_list("row_key", "code")) == sorted(
        [(str(bad_points.pk), "801"), (str(foreign_program.pk), "885")]
    )
    assert not PointsAccount.objects.filter(customer__in=[bad_points, foreign_program]).exists()
    assert PointsAccount.objects.get(customer=good, category=PointsCategory.REGULAR).balance == 5
    assert_consistent(org)


@pytest.mark.django_db
def test_a_customer_of_another_org_is_refused(org, program, other_org):
    stranger = CustomerFactory(org=other_org)
    before = snapshot(other_org)

    result = account_services.ledger_backfill_customers(org=org, customers=[stranger])

    assert result.events == [] and list(result.errors) == [stranger.pk]
    assert snapshot(other_org) == before


@pytest.mark.django_db
def test_the_database_refuses_a_batch_built_on_a_stale_read(org, program):
    # given a customer whose accounts were opened after the batch read "nothing is open"
    customer = CustomerFactory(org=org)
    keys = [(program.pk, category) for category in PointsCategory.values]
    stale = account_services._backfill_rows(
        owner=customer,
        keys=keys,
        existing=set(),
        opening={},
        actor=None,
        occurred_at=timezone.now(),
    )
    services.ledger_backfill_owner(customer=customer)
    before = snapshot(org)

    # when the stale rows are written, the unique constraints refuse them and nothing changes
    with pytest.raises(ConcurrentLedgerUpdateError):
        account_services._backfill_write([stale])
    assert snapshot(org) == before


@pytest.mark.django_db
def test_a_conflicting_batch_is_redone_one_customer_at_a_time(
    org, program, monkeypatch, django_capture_on_commit_callbacks
):
    # given a batch write that hits a conflict
    customers = [CustomerFactory(org=org) for _ in range(3)]

    def conflict(**kwargs):
        raise ConcurrentLedgerUpdateError()

    monkeypatch.setattr(ledger_jobs, "ledger_backfill_customers", conflict)

    # when the job runs
    job = _run_job(org, [], django_capture_on_commit_callbacks)

    # then every customer was back-filled by the per-customer path instead
    assert (job.status, job.processed, job.failed) == (Job.Status.FINISHED, 3, 0)
    for customer in customers:
        event = LedgerEvent.objects.get(customer=customer)
        assert event.event_name == EventName.POINTS_LEDGER_BULK_JOB
        assert event.entries.count() == 3
    assert_consistent(org)


@pytest.mark.django_db
def test_a_crashed_job_resumes_without_duplicates(
    org, program, monkeypatch, django_capture_on_commit_callbacks
):
    # given a job whose second batch crashes
    customers = [CustomerFactory(org=org) for _ in range(5)]
    real = ledger_jobs.ledger_backfill_customers
    calls = []

    def crash_on_second_batch(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(ledger_jobs, "ledger_backfill_customers", crash_on_second_batch)
    job = _run_job(org, [], django_capture_on_commit_callbacks, batch_size=2)
    assert (job.status, job.processed) == (Job.Status.FAILED, 2)
    assert LedgerEvent.objects.filter(org=org).count() == 2

    # when it is retried
    monkeypatch.setattr(ledger_jobs, "ledger_backfill_customers", real)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_retry(job_id=job.pk)

    # then it resumes after the committed batch and every customer has one back-fill
    job.refresh_from_db()
    assert (job.status, job.processed, job.failed) == (Job.Status.FINISHED, 5, 0)
    for customer in customers:
        assert LedgerEvent.objects.filter(customer=customer).count() == 1
        assert (
            LedgerEntry.objects.filter(
                account__customer=customer, entry_type=EntryType.OPENING_BALANCE
            ).count()
            == 3
        )
    assert_consistent(org)


@pytest.mark.django_db
def test_pending_customers_are_those_missing_some_account(org, program, till):
    # given a customer with no ledger, one with a full ledger and one missing a new program
    fresh, complete, partial = (CustomerFactory(org=org) for _ in range(3))
    services.ledger_open_accounts_on_registration(customer=complete, actor=till, context={})
    services.ledger_open_accounts_on_registration(customer=partial, actor=till, context={})
    ProgramFactory(org=org, name="Launched later")
    services.ledger_open_accounts_on_registration(customer=complete, actor=till, context={})

    pending = account_services.ledger_backfill_customers_pending(org_id=org.pk).order_by("pk")

    assert list(pending.values_list("pk", flat=True)) == [fresh.pk, partial.pk]


# Concurrency (PostgreSQL) ---------------------------------------------------------------------
def _in_thread(target) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run():
        try:
            outcome.append(target())
        except Exception as exc:  # noqa: BLE001 - the test inspects the outcome
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _opening_balances_of(customer) -> list[tuple[int, str]]:
    return sorted(
        LedgerEntry.objects.filter(
            account__customer=customer, entry_type=EntryType.OPENING_BALANCE
        ).values_list("account__program_id", "account__category")
    )


@pytest.mark.django_db(transaction=True)
def test_a_batch_waits_for_a_registration_in_progress(postgres_only, org, program, till):
    # given a registration holding its customer's lock (not committed yet)
    registering = CustomerFactory(org=org)
    other = CustomerFactory(org=org)
    locked, release = threading.Event(), threading.Event()

    def register():
        with transaction.atomic():
            effects = services.ledger_open_accounts_on_registration(
                customer=registering, actor=till, context={}
            )
            locked.set()
            release.wait(timeout=10)
        return effects

    thread, registration = _in_thread(register)
    assert locked.wait(timeout=10)

    # when the batch back-fills that customer meanwhile (it waits for the lock)
    batch_thread, batch = _in_thread(
        lambda: account_services.ledger_backfill_customers(org=org, customers=[registering, other])
    )
    batch_thread.join(timeout=0.5)
    assert batch_thread.is_alive(), "the batch should wait for the registration's lock"
    release.set()
    thread.join(timeout=10)
    batch_thread.join(timeout=10)

    # then the registration's opening balances are the only ones; the other customer is opened
    assert registration == [[]]
    assert [event.customer_id for event in batch[0].events] == [other.pk]
    keys = sorted((program.pk, category) for category in PointsCategory.values)
    assert _opening_balances_of(registering) == keys
    assert list(LedgerEvent.objects.filter(customer=registering).values_list("event_name")) == [
        (EventName.CUSTOMER_REGISTRATION,)
    ]
    assert_consistent(org)


@pytest.mark.django_db(transaction=True)
def test_a_registration_waits_for_a_batch_in_progress(postgres_only, org, program, till):
    # given a batch back-fill holding its customers' locks (not committed yet)
    customer = CustomerFactory(org=org)
    locked, release = threading.Event(), threading.Event()

    def backfill():
        with transaction.atomic():
            result = account_services.ledger_backfill_customers(org=org, customers=[customer])
            locked.set()
            release.wait(timeout=10)
        return result

    thread, batch = _in_thread(backfill)
    assert locked.wait(timeout=10)

    # when the customer's registration step runs meanwhile (it waits for the lock)
    registration_thread, registration = _in_thread(
        lambda: services.ledger_open_accounts_on_registration(
            customer=customer, actor=till, context={}
        )
    )
    registration_thread.join(timeout=0.5)
    assert registration_thread.is_alive(), "the registration should wait for the batch's lock"
    release.set()
    thread.join(timeout=10)
    registration_thread.join(timeout=10)

    # then it finds the accounts open and adds no second opening balance
    assert registration == [[]]
    assert len(batch[0].events) == 1
    keys = sorted((program.pk, category) for category in PointsCategory.values)
    assert _opening_balances_of(customer) == keys
    assert list(LedgerEvent.objects.filter(customer=customer).values_list("event_name")) == [
        (EventName.POINTS_LEDGER_BULK_JOB,)
    ]
    assert_consistent(org)
