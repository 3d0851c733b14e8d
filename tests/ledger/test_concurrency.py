"""Concurrency on PostgreSQL (real threads, row locks). SQLite serialises writers, so these skip
there with the reason given by the postgres_only fixture."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from ledger import services
from ledger.exceptions import InsufficientPointsError, TransferMergedCustomerError
from ledger.models import EntryType, EventName, LedgerEntry, LedgerEvent, PointsRedemption
from members.exceptions import CustomerMergedError
from members.models import PointsCategory
from tests.ledger.factories import assert_consistent, balance, earn, key, member

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

# Other suites share the server (max_connections 100): keep the pool well below that.
WORKERS = 25


def in_threads(task, arguments, workers=WORKERS):
    """Run task(argument) for every argument on `workers` threads; return results/exceptions."""
    start = threading.Barrier(min(workers, len(arguments)))

    def run(argument):
        try:
            try:
                start.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            return task(argument)
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, arguments))


def test_100_concurrent_redemptions_of_30_from_1000(postgres_only, org, program, till):
    # given 1,000 points
    customer = member(org, [program])
    earn(customer, program, 1000, actor=till)

    # when 100 redemptions of 30 race
    outcomes = in_threads(
        lambda index: services.points_redeem(
            customer=customer,
            program=program,
            points=30,
            actor=till,
            idempotency_key=f"race-{index}",
        ),
        range(100),
    )

    # then exactly 33 succeed, 10 points are left, every failure is "insufficient points"
    succeeded = [o for o in outcomes if isinstance(o, PointsRedemption)]
    failed = [o for o in outcomes if not isinstance(o, PointsRedemption)]
    assert len(succeeded) == 33
    assert all(isinstance(o, InsufficientPointsError) and o.code == 803 for o in failed), {
        type(o).__name__ for o in failed
    }
    assert balance(customer, program) == 10
    assert PointsRedemption.objects.filter(customer=customer).count() == 33
    assert_consistent(org)


def test_20_concurrent_calls_with_one_idempotency_key_write_one_event(
    postgres_only, org, program, till
):
    customer = member(org, [program])

    outcomes = in_threads(
        lambda _: earn(customer, program, 50, actor=till, idempotency_key="same-key"),
        range(20),
        workers=20,
    )

    assert all(isinstance(o, LedgerEvent) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert LedgerEvent.objects.filter(org=org, idempotency_key="same-key").count() == 1
    assert balance(customer, program) == 50
    assert_consistent(org)


def test_crossing_transfers_do_not_deadlock(postgres_only, org, program, till):
    alice, bob = member(org, [program]), member(org, [program])
    earn(alice, program, 500, actor=till)
    earn(bob, program, 500, actor=till)

    def move(index):
        sender, receiver = (alice, bob) if index % 2 else (bob, alice)
        return services.points_transfer(
            sender=sender,
            receiver=receiver,
            program=program,
            points=10,
            actor=till,
            idempotency_key=f"cross-{index}",
        )

    outcomes = in_threads(move, range(40), workers=10)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert balance(alice, program) + balance(bob, program) == 1000
    assert balance(alice, program) == balance(bob, program) == 500
    assert_consistent(org)


def test_posting_while_merging_never_lands_after_the_merge(postgres_only, org, program, till):
    victim, survivor = member(org, [program]), member(org, [program])
    earn(victim, program, 100, actor=till)

    def act(index):
        if index == 0:
            return services.ledger_customer_merge(
                victim=victim, survivor=survivor, actor=till, idempotency_key="merge"
            )
        return earn(victim, program, 1, actor=till, idempotency_key=f"during-{index}")

    outcomes = in_threads(act, range(12), workers=12)

    errors = Counter(type(o).__name__ for o in outcomes if isinstance(o, Exception))
    assert set(errors) <= {CustomerMergedError.__name__}, outcomes
    last = (
        LedgerEntry.objects.filter(
            account__customer=victim,
            account__program=program,
            account__category=PointsCategory.REGULAR,
        )
        .order_by("-sequence")
        .first()
    )
    assert last.event.event_name == EventName.MERGE_CUSTOMER
    assert last.entry_type == EntryType.DEBIT and last.closing_balance == 0
    assert balance(survivor, program) == 100 + (11 - errors[CustomerMergedError.__name__])
    assert_consistent(org)


def test_merged_sender_cannot_transfer_concurrently(postgres_only, org, program, till):
    sender, receiver, survivor = (member(org, [program]) for _ in range(3))
    earn(sender, program, 100, actor=till)

    def act(index):
        if index == 0:
            return services.ledger_customer_merge(
                victim=sender, survivor=survivor, actor=till, idempotency_key=key()
            )
        return services.points_transfer(
            sender=sender,
            receiver=receiver,
            program=program,
            points=10,
            actor=till,
            idempotency_key=f"t-{index}",
        )

    outcomes = in_threads(act, range(6), workers=6)

    assert all(
        not isinstance(o, Exception) or isinstance(o, TransferMergedCustomerError) for o in outcomes
    ), outcomes
    assert balance(sender, program) == 0
    assert balance(receiver, program) + balance(survivor, program) == 100
    assert_consistent(org)
