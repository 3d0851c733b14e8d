"""What the database itself enforces, whatever the code above it does."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, InternalError, connection, transaction
from django.utils import timezone

from ledger.models import EventName, LedgerEntry, LedgerEvent, PointsLot
from tests.ledger.factories import earn, lots_of, member
from tests.members.factories import ProgramFactory


@pytest.mark.django_db
@pytest.mark.parametrize("remaining", [-1, 101])
def test_lot_remainder_stays_between_zero_and_original(org, program, customer, till, remaining):
    earn(customer, program, 100, actor=till)
    lot = lots_of(customer, program)[0]

    with pytest.raises(IntegrityError), transaction.atomic():
        PointsLot.objects.filter(pk=lot.pk).update(remaining_points=remaining)


@pytest.mark.django_db
def test_idempotency_keys_are_unique_per_org(org, other_org, customer, till):
    stranger = member(other_org, [ProgramFactory(org=other_org)])
    fields = {"event_name": EventName.GENERIC_EVENT, "occurred_at": timezone.now()}
    LedgerEvent.objects.create(org=org, customer=customer, idempotency_key="k", **fields)

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEvent.objects.create(org=org, customer=customer, idempotency_key="k", **fields)
    LedgerEvent.objects.create(org=other_org, customer=stranger, idempotency_key="k", **fields)


@pytest.mark.django_db
def test_an_event_has_exactly_one_owner(org, customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEvent.objects.create(
            org=org, event_name=EventName.GENERIC_EVENT, occurred_at=timezone.now()
        )


@pytest.mark.django_db
def test_postgres_refuses_to_change_or_delete_entries(postgres_only, org, program, customer, till):
    entry = earn(customer, program, 10, actor=till).entries.get()

    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(points=11)
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM ledger_ledgerentry WHERE id = %s", [entry.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["1e30", "123456789012345678", "-1e40"])
def test_huge_points_amounts_are_a_clear_801_not_a_crash(value):
    from ledger.exceptions import InvalidPointsError
    from ledger.services.posting import to_points

    with pytest.raises(InvalidPointsError) as error:
        to_points(value, allow_negative=True)

    assert error.value.code == 801
