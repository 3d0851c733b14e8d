"""The set-wise batch writes under concurrency on PostgreSQL (real threads, row locks): a batch
locks its owners and accounts in the global order, so it neither deadlocks with one-owner writes
nor lets a balance drift."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ledger import services
from ledger.models import EventName, LedgerEvent, PointsLot, PointsRedemption
from ledger.services import CreditRequest
from tests.ledger.factories import assert_consistent, balance, earn, key, member
from tests.ledger.test_concurrency import in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_expiry_batches_racing_redemptions_keep_every_balance(
    postgres_only, org, program, expiring_program, till
):
    # given 12 members, each with 10 points that lapsed two days ago and 50 live points
    today = timezone.localtime(timezone.now(), org.tzinfo).date()
    members = [member(org, [expiring_program]) for _ in range(12)]
    for customer in members:
        lapsed = earn(customer, expiring_program, 10, actor=till)
        PointsLot.objects.filter(source_entry__event=lapsed).update(
            expires_at=timezone.now() - datetime.timedelta(days=2)
        )
        earn(customer, expiring_program, 50, actor=till, expires_at=today + datetime.timedelta(9))
    as_of = today
    ids = [customer.pk for customer in members]

    # when three expiry batches (overlapping, in different orders) race 24 redemptions of 20
    def task(argument):
        kind, value = argument
        if kind == "expire":
            return services.points_expire_many(org=org, customer_ids=value, as_of=as_of)
        return services.points_redeem(
            customer=value,
            program=expiring_program,
            points=20,
            actor=till,
            idempotency_key=key(),
        )

    batches = [ids[:8], list(reversed(ids)), ids[4:]]
    outcomes = in_threads(
        task,
        [("expire", batch) for batch in batches] + [("redeem", c) for c in members * 2],
    )

    # then nothing failed, every lapsed lot expired once, and each member kept 50 - 2 x 20
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == []
    assert sum(isinstance(o, PointsRedemption) for o in outcomes) == 24
    assert all(o.errors == {} for o in outcomes[:3])
    assert LedgerEvent.objects.filter(org=org, event_name=EventName.POINTS_EXPIRY).count() == 12
    assert not PointsLot.objects.filter(
        account__org=org, remaining_points__gt=0, expires_at__lt=timezone.now()
    ).exists()
    assert {balance(customer, expiring_program) for customer in members} == {10}
    assert_consistent(org)


def test_accrual_batches_in_opposite_orders_and_single_credits_all_land(
    postgres_only, org, program, till
):
    # given 10 members
    members = [member(org, [program]) for _ in range(10)]

    def batch(owners, tag):
        return [
            CreditRequest(
                customer=owner,
                program=program,
                points=1,
                event_name=EventName.BULK_POINTS_AWARD,
                idempotency_key=f"{tag}-{index}",
            )
            for index, owner in enumerate(owners)
        ]

    # when two batches over all of them, in opposite orders, race single credits to each
    def task(argument):
        kind, value = argument
        if kind == "batch":
            return services.points_allocate_many(credits=value, actor=till)
        return earn(value, program, 2, actor=till)

    outcomes = in_threads(
        task,
        [("batch", batch(members, "up")), ("batch", batch(list(reversed(members)), "down"))]
        + [("single", owner) for owner in members],
    )

    # then every credit landed exactly once
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert all(o.errors == {} and len(o.events) == 10 for o in outcomes[:2])
    assert {balance(owner, program) for owner in members} == {4}
    assert_consistent(org)
