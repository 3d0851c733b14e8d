"""Customer merge: the two ledgers stay distinct; balances move per the merge rule."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ledger import services
from ledger.exceptions import (
    CustomerAlreadyMergedError,
    InsufficientPointsError,
    MergeSameCustomerError,
)
from ledger.models import EntryType, EventName, LedgerEntry, PointsAccount
from members.exceptions import CustomerMergedError
from members.models import PointsCategory
from tests.ledger.factories import (
    ProgramEnrollmentFactory,
    assert_consistent,
    balance,
    earn,
    key,
    lots_of,
    member,
    snapshot,
)
from tests.members.factories import CustomerFactory


def merge(victim, survivor, till, **kwargs):
    return services.ledger_customer_merge(
        victim=victim,
        survivor=survivor,
        actor=till,
        idempotency_key=kwargs.pop("idempotency_key", None) or key(),
    )


def last_entry(customer, program, category=PointsCategory.REGULAR) -> LedgerEntry:
    return (
        LedgerEntry.objects.filter(
            account__customer=customer, account__program=program, account__category=category
        )
        .order_by("-sequence")
        .first()
    )


@pytest.mark.django_db
def test_positive_balance_moves_to_the_survivor(org, program, customer, other_customer, till):
    expires = timezone.localdate() + datetime.timedelta(days=9)
    earn(customer, program, 120, actor=till, expires_at=expires)
    earn(other_customer, program, 30, actor=till)

    result = merge(customer, other_customer, till)

    customer.refresh_from_db()
    assert customer.merged_into == other_customer
    victim_event, survivor_event = result.victim_event, result.survivor_event
    assert victim_event.event_name == survivor_event.event_name == EventName.MERGE_CUSTOMER
    assert victim_event.customer == customer and survivor_event.customer == other_customer
    assert victim_event.related_event == survivor_event
    # the victim's last entry is the debit of its balance; the survivor gets the credit
    victim_last = last_entry(customer, program)
    assert (victim_last.entry_type, victim_last.points, victim_last.closing_balance) == (
        EntryType.DEBIT,
        120,
        0,
    )
    assert victim_last.event == victim_event
    assert [(e.entry_type, e.points) for e in survivor_event.entries.all()] == [
        (EntryType.CREDIT, 120)
    ]
    assert balance(other_customer, program) == 150
    # the moved points keep their expiry
    assert (
        lots_of(other_customer, program)[-1].expires_at == lots_of(customer, program)[0].expires_at
    )
    assert_consistent(org)


def indebted(org, program, amount):
    """A customer whose ledger was back-filled from a negative legacy balance."""
    customer = CustomerFactory(org=org)
    ProgramEnrollmentFactory(customer=customer, program=program)
    services.ledger_backfill_owner(
        customer=customer, balances={(program.pk, PointsCategory.REGULAR): amount}
    )
    return customer


@pytest.mark.django_db
def test_negative_victim_balance_goes_the_other_way(org, program, till):
    # given a victim owing 40 points and a survivor holding 100
    victim = indebted(org, program, -40)
    survivor = member(org, [program])
    earn(survivor, program, 100, actor=till)

    # when they merge
    result = merge(victim, survivor, till)

    # then the victim gets the credit and the survivor the debit
    assert [(e.entry_type, e.points) for e in result.victim_event.entries.all()] == [
        (EntryType.CREDIT, 40)
    ]
    assert [(e.entry_type, e.points) for e in result.survivor_event.entries.all()] == [
        (EntryType.DEBIT, 40)
    ]
    assert balance(victim, program) == 0
    assert balance(survivor, program) == 60
    assert_consistent(org)


@pytest.mark.django_db
def test_survivor_may_go_negative_only_by_merge(org, program, till):
    survivor = member(org, [program])
    earn(survivor, program, 10, actor=till)
    victim = indebted(org, program, -25)

    merge(victim, survivor, till)

    assert balance(survivor, program) == -15
    account = PointsAccount.objects.get(
        customer=survivor, program=program, category=PointsCategory.REGULAR
    )
    assert account.allows_negative_balance
    assert lots_of(survivor, program)[0].remaining_points == 0
    # nothing can be redeemed from a negative balance
    with pytest.raises(InsufficientPointsError):
        services.points_redeem(
            customer=survivor, program=program, points=1, actor=till, idempotency_key=key()
        )
    # a credit first pays the debt back; only the rest forms a lot
    earn(survivor, program, 20, actor=till)
    assert balance(survivor, program) == 5
    assert sum(lot.remaining_points for lot in lots_of(survivor, program)) == 5
    assert_consistent(org)


@pytest.mark.django_db
def test_nothing_can_be_posted_to_the_victim_after(org, program, customer, other_customer, till):
    earn(customer, program, 50, actor=till)
    merge(customer, other_customer, till)
    before = snapshot(org)

    with pytest.raises(CustomerMergedError) as error:
        services.points_redeem(
            customer=customer, program=program, points=1, actor=till, idempotency_key=key()
        )
    with pytest.raises(CustomerMergedError):
        earn(customer, program, 1, actor=till)

    assert error.value.code == 8069
    assert snapshot(org) == before


@pytest.mark.django_db
def test_merge_errors_change_nothing(org, program, customer, other_customer, till):
    third = member(org, [program])
    merge(customer, other_customer, till)
    before = snapshot(org)

    with pytest.raises(MergeSameCustomerError):
        merge(third, third, till)
    with pytest.raises(CustomerAlreadyMergedError):
        merge(customer, third, till)
    with pytest.raises(CustomerMergedError):
        merge(third, customer, till)

    assert snapshot(org) == before


@pytest.mark.django_db
def test_merge_replay(org, program, customer, other_customer, till):
    earn(customer, program, 50, actor=till)
    first = merge(customer, other_customer, till, idempotency_key="m-1")

    again = merge(customer, other_customer, till, idempotency_key="m-1")

    assert again.is_replay and again.victim_event.pk == first.victim_event.pk
    assert balance(other_customer, program) == 50
