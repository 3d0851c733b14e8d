"""Transfers: each side's ledger shows only its own entry; two events, linked."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ledger import services
from ledger.exceptions import (
    InsufficientPointsError,
    SameSenderReceiverError,
    TransferMergedCustomerError,
)
from ledger.models import EntryType, EventName, LedgerEvent
from tests.ledger.factories import assert_consistent, balance, earn, key, lots_of, snapshot
from tests.members.factories import UserGroupFactory


def transfer(sender, receiver, program, points, till, **kwargs):
    return services.points_transfer(
        sender=sender,
        receiver=receiver,
        program=program,
        points=points,
        actor=till,
        idempotency_key=kwargs.pop("idempotency_key", None) or key(),
        **kwargs,
    )


@pytest.mark.django_db
def test_transfer_writes_one_event_per_side(org, program, customer, other_customer, till):
    expires = timezone.localdate() + datetime.timedelta(days=15)
    earn(customer, program, 100, actor=till, expires_at=expires)

    result = transfer(customer, other_customer, program, 40, till, notes="gift")

    sender_event, receiver_event = result.sender_event, result.receiver_event
    assert sender_event.customer == customer and receiver_event.customer == other_customer
    assert sender_event.event_name == receiver_event.event_name == EventName.POINTS_TRANSFER
    assert sender_event.related_event == receiver_event
    assert receiver_event.related_event == sender_event
    assert [(e.entry_type, e.points) for e in sender_event.entries.all()] == [(EntryType.DEBIT, 40)]
    assert [(e.entry_type, e.points) for e in receiver_event.entries.all()] == [
        (EntryType.CREDIT, 40)
    ]
    assert sender_event.net_points == -40 and receiver_event.net_points == 40
    assert balance(customer, program) == 60 and balance(other_customer, program) == 40
    # the points keep their expiry on the receiving side
    assert (
        lots_of(other_customer, program)[0].expires_at == lots_of(customer, program)[0].expires_at
    )
    assert_consistent(org)


@pytest.mark.django_db
def test_transfer_replay(org, program, customer, other_customer, till):
    earn(customer, program, 100, actor=till)
    first = transfer(customer, other_customer, program, 40, till, idempotency_key="t-1")

    again = transfer(customer, other_customer, program, 40, till, idempotency_key="t-1")

    assert again.is_replay
    assert (again.sender_event.pk, again.receiver_event.pk) == (
        first.sender_event.pk,
        first.receiver_event.pk,
    )
    assert balance(customer, program) == 60


@pytest.mark.django_db
def test_transfer_to_self_is_418(org, program, customer, till):
    earn(customer, program, 100, actor=till)
    with pytest.raises(SameSenderReceiverError) as error:
        transfer(customer, customer, program, 10, till)
    assert error.value.code == 418


@pytest.mark.django_db
def test_transfer_with_a_merged_customer_is_419(org, program, customer, other_customer, till):
    from tests.ledger.factories import member

    third = member(org, [program])
    earn(customer, program, 100, actor=till)
    services.ledger_customer_merge(
        victim=third, survivor=other_customer, actor=till, idempotency_key=key()
    )
    before = snapshot(org)

    with pytest.raises(TransferMergedCustomerError) as error:
        transfer(customer, third, program, 10, till)

    assert error.value.code == 419
    assert snapshot(org) == before


@pytest.mark.django_db
def test_transfer_more_than_available_changes_nothing(org, program, customer, other_customer, till):
    earn(customer, program, 10, actor=till)
    before = snapshot(org)

    with pytest.raises(InsufficientPointsError):
        transfer(customer, other_customer, program, 11, till)

    assert snapshot(org) == before
    assert not LedgerEvent.objects.filter(event_name=EventName.POINTS_TRANSFER).exists()


@pytest.mark.django_db
def test_transfer_to_a_user_group(org, program, customer, till):
    group = UserGroupFactory(org=org)
    earn(customer, program, 100, actor=till)

    result = transfer(customer, group, program, 70, till)

    assert result.receiver_event.user_group == group
    assert balance(group, program) == 70
    assert_consistent(org)
