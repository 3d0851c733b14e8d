"""Redemptions (single and group across programs) and their reversal."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ledger import services
from ledger.exceptions import (
    InsufficientPointsError,
    InvalidRedemptionIdError,
    NotEnrolledError,
    RedemptionAlreadyReversedError,
    RedemptionNotFoundError,
    RevertPointsMismatchError,
)
from ledger.models import EntryType, EventName, LotConsumption, PointsLot, PointsRedemption
from tests.ledger.factories import assert_consistent, balance, earn, key, lots_of, member, snapshot
from tests.members.factories import CustomerFactory, ProgramFactory


def redeem(customer, program, points, till, **kwargs):
    return services.points_redeem(
        customer=customer,
        program=program,
        points=points,
        actor=till,
        idempotency_key=kwargs.pop("idempotency_key", None) or key(),
        **kwargs,
    )


def in_days(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


@pytest.mark.django_db
def test_redeem_debits_nearest_expiry_first_and_records_the_lots(org, program, customer, till):
    late = earn(customer, program, 100, actor=till, expires_at=in_days(60))
    early = earn(customer, program, 50, actor=till, expires_at=in_days(5))

    redemption = redeem(customer, program, 80, till, transaction_number="B-1")

    event = redemption.event
    assert event.event_name == EventName.POINTS_REDEMPTION
    assert len(redemption.code) == 6 and redemption.code.isalnum()
    assert redemption.points == 80 and redemption.transaction_number == "B-1"
    debit = event.entries.get()
    assert (debit.entry_type, debit.points, debit.closing_balance) == (EntryType.DEBIT, 80, 70)
    assert event.net_points == -80
    movements = {
        m.lot.source_entry.event_id: m.points for m in LotConsumption.objects.filter(entry=debit)
    }
    assert movements == {early.pk: 50, late.pk: 30}
    assert [lot.remaining_points for lot in lots_of(customer, program)] == [70, 0]
    assert_consistent(org)


@pytest.mark.django_db
def test_redeem_more_than_available_is_803_and_changes_nothing(org, program, customer, till):
    earn(customer, program, 100, actor=till)
    before = snapshot(org)

    with pytest.raises(InsufficientPointsError) as error:
        redeem(customer, program, 101, till)

    assert error.value.code == 803
    assert snapshot(org) == before
    assert not PointsRedemption.objects.exists()


@pytest.mark.django_db
def test_points_past_expiry_are_not_redeemable_before_the_job(org, program, customer, till):
    earn(customer, program, 100, actor=till)
    lapsed = earn(customer, program, 40, actor=till, expires_at=in_days(3))
    PointsLot.objects.filter(source_entry__event=lapsed).update(
        expires_at=timezone.now() - datetime.timedelta(hours=1)
    )

    with pytest.raises(InsufficientPointsError):
        redeem(customer, program, 101, till)
    redeem(customer, program, 100, till)

    assert balance(customer, program) == 40


@pytest.mark.django_db
def test_not_enrolled_is_1218(org, program, till):
    stranger = CustomerFactory(org=org)
    with pytest.raises(NotEnrolledError) as error:
        redeem(stranger, program, 1, till)
    assert error.value.code == 1218


@pytest.mark.django_db
def test_redeem_replay_returns_the_same_redemption(org, program, customer, till):
    earn(customer, program, 100, actor=till)
    first = redeem(customer, program, 30, till, idempotency_key="r-1")

    again = redeem(customer, program, 30, till, idempotency_key="r-1")

    assert again.pk == first.pk
    assert balance(customer, program) == 70


@pytest.mark.django_db
def test_group_redemption_across_programs(org, program, till):
    second = ProgramFactory(org=org)
    customer = member(org, [program, second])
    earn(customer, program, 100, actor=till, expires_at=in_days(40))
    earn(customer, second, 100, actor=till, expires_at=in_days(10))

    redemption = services.points_group_redeem(
        customer=customer, points=150, actor=till, idempotency_key=key(), source_program=program
    )

    event = redemption.event
    assert redemption.is_group_redemption
    assert event.net_points == -150
    assert event.source_program == program
    debits = {e.account.program_id: e.points for e in event.entries.all()}
    assert debits == {second.pk: 100, program.pk: 50}
    assert balance(customer, program) == 50 and balance(customer, second) == 0
    assert_consistent(org)


@pytest.mark.django_db
def test_group_redemption_beyond_the_pool_changes_nothing(org, program, till):
    second = ProgramFactory(org=org)
    customer = member(org, [program, second])
    earn(customer, program, 10, actor=till)
    earn(customer, second, 10, actor=till)
    before = snapshot(org)

    with pytest.raises(InsufficientPointsError):
        services.points_group_redeem(
            customer=customer, points=21, actor=till, idempotency_key=key()
        )

    assert snapshot(org) == before


@pytest.mark.django_db
def test_reversal_credits_back_into_the_consumed_lots(org, program, customer, till):
    earn(customer, program, 100, actor=till, expires_at=in_days(30))
    redemption = redeem(customer, program, 60, till)

    event = services.points_redemption_reverse(
        org=org, redemption_id=redemption.code, actor=till, idempotency_key=key()
    )

    assert event.event_name == EventName.POINTS_REDEMPTION_REVERSAL
    assert event.corrects == redemption.event
    credit = event.entries.get()
    assert (credit.entry_type, credit.points, credit.closing_balance) == (
        EntryType.CREDIT,
        60,
        100,
    )
    assert [lot.remaining_points for lot in lots_of(customer, program)] == [100]
    restore = LotConsumption.objects.get(entry=credit)
    assert restore.kind == LotConsumption.Kind.RESTORE and restore.points == 60
    redemption.refresh_from_db()
    assert redemption.reversed_points == 60
    assert_consistent(org)


@pytest.mark.django_db
def test_reversal_of_expired_lots_makes_new_lots(org, program, customer, till):
    earn(customer, program, 50, actor=till, expires_at=in_days(2))
    earn(customer, program, 50, actor=till, expires_at=in_days(20))
    redemption = redeem(customer, program, 80, till)
    expired_lot = lots_of(customer, program)[0]
    PointsLot.objects.filter(pk=expired_lot.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )

    services.points_redemption_reverse(
        org=org, redemption_id=redemption.code, actor=till, idempotency_key=key()
    )

    first, second, fresh = lots_of(customer, program)
    assert first.remaining_points == 0  # expired: not refilled
    assert second.remaining_points == 50  # live: refilled with its 30
    assert fresh.original_points == 50 and fresh.remaining_points == 50
    assert balance(customer, program) == 100
    assert_consistent(org)


@pytest.mark.django_db
def test_partial_reversals_then_already_reversed(org, program, customer, till):
    earn(customer, program, 100, actor=till)
    redemption = redeem(customer, program, 100, till)

    services.points_redemption_reverse(
        org=org, redemption_id=redemption.code, points=40, actor=till, idempotency_key=key()
    )
    with pytest.raises(RevertPointsMismatchError) as too_many:
        services.points_redemption_reverse(
            org=org, redemption_id=redemption.code, points=61, actor=till, idempotency_key=key()
        )
    services.points_redemption_reverse(
        org=org, redemption_id=redemption.code, points=60, actor=till, idempotency_key=key()
    )
    before = snapshot(org)
    with pytest.raises(RedemptionAlreadyReversedError) as done:
        services.points_redemption_reverse(
            org=org, redemption_id=redemption.code, actor=till, idempotency_key=key()
        )

    assert too_many.value.code == 810
    assert done.value.code == 3802
    assert snapshot(org) == before
    assert balance(customer, program) == 100
    assert_consistent(org)


@pytest.mark.django_db
def test_reversal_replay_returns_the_reversal(org, program, customer, till):
    earn(customer, program, 100, actor=till)
    redemption = redeem(customer, program, 100, till)
    first = services.points_redemption_reverse(
        org=org, redemption_id=redemption.code, actor=till, idempotency_key="rev-1"
    )

    again = services.points_redemption_reverse(
        org=org, redemption_id=redemption.code, actor=till, idempotency_key="rev-1"
    )

    assert again.pk == first.pk


@pytest.mark.django_db
def test_group_redemption_reversal_goes_back_per_program(org, program, till):
    second = ProgramFactory(org=org)
    customer = member(org, [program, second])
    earn(customer, program, 100, actor=till)
    earn(customer, second, 100, actor=till)
    redemption = services.points_group_redeem(
        customer=customer, points=150, actor=till, idempotency_key=key()
    )

    event = services.points_redemption_reverse(
        org=org, redemption_id=redemption.code, actor=till, idempotency_key=key()
    )

    assert event.net_points == 150
    assert balance(customer, program) == 100 and balance(customer, second) == 100
    assert_consistent(org)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("redemption_id", "error", "code"),
    [
        ("", InvalidRedemptionIdError, 901),
        ("no such!", InvalidRedemptionIdError, 901),
        ("zzzzzz", RedemptionNotFoundError, 902),
    ],
)
def test_bad_redemption_ids(org, program, customer, till, redemption_id, error, code):
    with pytest.raises(error) as raised:
        services.points_redemption_reverse(
            org=org, redemption_id=redemption_id, actor=till, idempotency_key=key()
        )
    assert raised.value.code == code


@pytest.mark.django_db
def test_reversal_for_another_customer_is_902(org, program, customer, other_customer, till):
    earn(customer, program, 10, actor=till)
    redemption = redeem(customer, program, 10, till)

    with pytest.raises(RedemptionNotFoundError):
        services.points_redemption_reverse(
            org=org,
            redemption_id=redemption.code,
            customer=other_customer,
            actor=till,
            idempotency_key=key(),
        )


@pytest.mark.django_db
def test_reversal_from_another_org_is_902(org, other_org, program, customer, till):
    earn(customer, program, 10, actor=till)
    redemption = redeem(customer, program, 10, till)

    with pytest.raises(RedemptionNotFoundError):
        services.points_redemption_reverse(
            org=other_org, redemption_id=redemption.code, actor=till, idempotency_key=key()
        )
