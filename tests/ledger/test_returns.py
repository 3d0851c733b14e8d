"""Transaction return: points returned (debit) and reversed redemptions (credit) in ONE event."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ledger import services
from ledger.exceptions import InsufficientCurrentPointsError, RedemptionAlreadyReversedError
from ledger.models import EntryType, EventName, LotConsumption
from ledger.services import ReturnLine
from members.models import PointsCategory, ReturnType, TransactionType
from tests.ledger.factories import assert_consistent, balance, earn, key, lots_of, snapshot
from tests.members.factories import TransactionFactory


@pytest.fixture
def bill(org, customer, till):
    return TransactionFactory(org=org, customer=customer, till=till, number="B-100")


@pytest.fixture
def return_bill(org, customer, till, bill):
    return TransactionFactory(
        org=org,
        customer=customer,
        till=till,
        number="B-100",
        type=TransactionType.RETURN,
        return_type=ReturnType.FULL,
        original=bill,
    )


def allocate_for(bill, program, points, till, **kwargs):
    return earn(bill.customer, program, points, actor=till, transaction=bill, **kwargs)


@pytest.mark.django_db
def test_return_debits_points_and_credits_reversed_redemption_in_one_event(
    org, program, customer, till, bill, return_bill
):
    # given 200 points earned on the bill and 50 redeemed on it
    allocate_for(bill, program, 200, till)
    redemption = services.points_redeem(
        customer=customer, program=program, points=50, actor=till, idempotency_key=key()
    )

    # when the bill is returned
    event = services.points_transaction_return(
        return_transaction=return_bill,
        actor=till,
        idempotency_key=f"return:{return_bill.pk}",
        lines=[ReturnLine(program=program, points=200)],
        redemption_ids=[redemption.code],
    )

    # then one ReturnBill event carries the return transaction, both entries and the net
    assert event.event_name == EventName.RETURN_BILL
    assert event.transaction == return_bill
    kinds = sorted((e.entry_type, e.points) for e in event.entries.all())
    assert kinds == [(EntryType.CREDIT, 50), (EntryType.DEBIT, 200)]
    assert event.net_points == -150
    assert balance(customer, program) == 0
    redemption.refresh_from_db()
    assert redemption.reversed_points == 50
    assert_consistent(org)


@pytest.mark.django_db
def test_return_takes_the_bills_own_lots_first(org, program, customer, till, bill, return_bill):
    soon = timezone.localdate() + datetime.timedelta(days=3)
    earn(customer, program, 100, actor=till, expires_at=soon)  # another source, expiring sooner
    allocate_for(bill, program, 60, till)

    event = services.points_transaction_return(
        return_transaction=return_bill,
        actor=till,
        idempotency_key=key(),
        lines=[ReturnLine(program=program, points=60)],
    )

    movement = LotConsumption.objects.get(entry__event=event)
    assert movement.lot.transaction == bill and movement.points == 60
    assert [lot.remaining_points for lot in lots_of(customer, program)] == [100, 0]


@pytest.mark.django_db
def test_return_more_than_held_is_804_and_changes_nothing(
    org, program, customer, till, bill, return_bill
):
    allocate_for(bill, program, 100, till)
    services.points_redeem(
        customer=customer, program=program, points=90, actor=till, idempotency_key=key()
    )
    before = snapshot(org)

    with pytest.raises(InsufficientCurrentPointsError) as error:
        services.points_transaction_return(
            return_transaction=return_bill,
            actor=till,
            idempotency_key=key(),
            lines=[ReturnLine(program=program, points=100)],
        )

    assert error.value.code == 804
    assert snapshot(org) == before


@pytest.mark.django_db
def test_return_capped_at_available_records_the_shortfall(
    org, program, customer, till, bill, return_bill
):
    allocate_for(bill, program, 100, till)
    services.points_redeem(
        customer=customer, program=program, points=90, actor=till, idempotency_key=key()
    )

    event = services.points_transaction_return(
        return_transaction=return_bill,
        actor=till,
        idempotency_key=key(),
        lines=[ReturnLine(program=program, points=100)],
        cap_at_available=True,
    )

    assert event.net_points == -10
    assert event.details["unrecoveredPoints"] == {str(program.pk): "90.000"}
    assert balance(customer, program) == 0
    assert_consistent(org)


@pytest.mark.django_db
def test_return_before_maturity_voids_promised_points(
    org, program, customer, till, bill, return_bill
):
    matures = timezone.now() + datetime.timedelta(days=14)
    allocate_for(bill, program, 80, till, category=PointsCategory.PROMISED, matures_at=matures)

    event = services.points_transaction_return(
        return_transaction=return_bill,
        actor=till,
        idempotency_key=key(),
        lines=[ReturnLine(program=program, points=80, category=PointsCategory.PROMISED)],
    )

    entry = event.entries.get()
    assert entry.account.category == PointsCategory.PROMISED and entry.points == 80
    assert balance(customer, program, PointsCategory.PROMISED) == 0
    assert balance(customer, program) == 0
    assert_consistent(org)


@pytest.mark.django_db
def test_return_after_maturity_takes_the_converted_points(
    org, program, customer, till, bill, return_bill
):
    matures = timezone.now() + datetime.timedelta(days=1)
    allocate_for(bill, program, 80, till, category=PointsCategory.PROMISED, matures_at=matures)
    services.points_promised_mature(customer=customer, as_of=matures)

    event = services.points_transaction_return(
        return_transaction=return_bill,
        actor=till,
        idempotency_key=key(),
        lines=[ReturnLine(program=program, points=80, category=PointsCategory.PROMISED)],
    )

    entry = event.entries.get()
    assert entry.account.category == PointsCategory.REGULAR and entry.points == 80
    assert balance(customer, program) == 0
    assert_consistent(org)


@pytest.mark.django_db
def test_return_with_an_already_reversed_redemption_changes_nothing(
    org, program, customer, till, bill, return_bill
):
    allocate_for(bill, program, 100, till)
    redemption = services.points_redeem(
        customer=customer, program=program, points=50, actor=till, idempotency_key=key()
    )
    services.points_redemption_reverse(
        org=org, redemption_id=redemption.code, actor=till, idempotency_key=key()
    )
    before = snapshot(org)

    with pytest.raises(RedemptionAlreadyReversedError):
        services.points_transaction_return(
            return_transaction=return_bill,
            actor=till,
            idempotency_key=key(),
            lines=[ReturnLine(program=program, points=100)],
            redemption_ids=[redemption.code],
        )

    assert snapshot(org) == before
