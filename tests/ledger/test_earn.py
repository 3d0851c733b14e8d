"""Credits (allocation, goodwill, referral, imports, bulk awards) and plain debits."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from ledger import services
from ledger.exceptions import (
    InsufficientCurrentPointsError,
    InvalidLedgerRequestError,
    InvalidPointsError,
    InvalidProgramIdError,
    LedgerIdempotencyConflictError,
)
from ledger.models import EntryType, EventName, LedgerEvent, LotConsumption
from members.exceptions import CustomerMergedError
from members.models import PointsCategory, PointsExpiryPolicy
from tests.ledger.factories import assert_consistent, balance, earn, key, lots_of, snapshot
from tests.members.factories import ProgramFactory, TransactionFactory


def local_end_of_day(day: datetime.date, org) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=org.tzinfo)


@pytest.mark.django_db
def test_transaction_add_credit_carries_the_transaction(org, program, customer, till):
    # given a bill of the customer
    bill = TransactionFactory(org=org, customer=customer, till=till, number="BILL-1")

    # when the promotions engine allocates points for it
    event = services.points_allocate(
        customer=customer,
        program=program,
        points=120,
        event_name=EventName.TRANSACTION_ADD,
        actor=till,
        transaction=bill,
        promotion_ref={"id": "77", "identifier": "uuid-1", "name": "Double points"},
        idempotency_key=f"txn:{bill.pk}:points",
    )

    # then the event carries the bill, its till and store, and the promotion
    assert event.event_name == EventName.TRANSACTION_ADD
    assert event.transaction == bill and event.transaction.number == "BILL-1"
    assert (event.till_id, event.store_id) == (bill.till_id, bill.store_id)
    assert event.occurred_at == bill.billed_at
    assert (event.promotion_id, event.promotion_identifier, event.promotion_name) == (
        "77",
        "uuid-1",
        "Double points",
    )
    entry = event.entries.get()
    assert (entry.entry_type, entry.points, entry.closing_balance) == (EntryType.CREDIT, 120, 120)
    assert event.net_points == 120
    assert lots_of(customer, program)[0].transaction == bill
    assert_consistent(org)


@pytest.mark.django_db
def test_allocation_on_registration_after_the_opening_balance(org, program, customer, till):
    event = earn(customer, program, 50, actor=till, event_name=EventName.CUSTOMER_REGISTRATION)

    entries = list(
        event.entries.get()
        .account.entries.order_by("sequence")
        .values_list("entry_type", "closing_balance")
    )
    assert entries == [(EntryType.OPENING_BALANCE, 0), (EntryType.CREDIT, 50)]


@pytest.mark.django_db
def test_days_policy_expires_at_end_of_day_in_org_time_zone(org, customer, till):
    program = ProgramFactory(org=org, expiry_policy=PointsExpiryPolicy.DAYS, expiry_value=30)

    earn(customer, program, 10, actor=till)

    today = timezone.localtime(timezone.now(), org.tzinfo).date()
    expected = local_end_of_day(today + datetime.timedelta(days=30), org)
    assert lots_of(customer, program)[0].expires_at == expected


@pytest.mark.django_db
@pytest.mark.parametrize("month_ends", [1, 3, 12])
def test_month_ends_policy(org, customer, till, month_ends):
    program = ProgramFactory(
        org=org, expiry_policy=PointsExpiryPolicy.MONTH_ENDS, expiry_value=month_ends
    )

    earn(customer, program, 10, actor=till)

    today = timezone.localtime(timezone.now(), org.tzinfo).date()
    index = today.year * 12 + today.month - 1 + month_ends - 1
    year, month = divmod(index, 12)
    first_of_next = datetime.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    expected = local_end_of_day(first_of_next - datetime.timedelta(days=1), org)
    assert lots_of(customer, program)[0].expires_at == expected


@pytest.mark.django_db
def test_no_expiry_policy_and_explicit_expiry(org, program, customer, till):
    in_ten_days = timezone.localdate() + datetime.timedelta(days=10)

    earn(customer, program, 10, actor=till)
    earn(customer, program, 20, actor=till, expires_at=in_ten_days)

    never, explicit = lots_of(customer, program)
    assert never.expires_at is None
    assert explicit.expires_at == local_end_of_day(in_ten_days, org)


@pytest.mark.django_db
def test_goodwill_credit_by_member_care(org, program, customer):
    agent = get_user_model().objects.create_user(username="care1", password="x")

    event = services.points_goodwill_credit(
        customer=customer,
        program=program,
        points=350,
        actor=agent,
        reason="POINTS_ISSUE",
        idempotency_key=key(),
    )

    assert event.event_name == EventName.ALLOCATE_GOODWILL_POINTS
    assert event.reason == "POINTS_ISSUE" and event.created_by_user == agent
    assert balance(customer, program) == 350


@pytest.mark.django_db
def test_goodwill_needs_a_reason(org, program, customer, till):
    before = snapshot(org)
    with pytest.raises(InvalidLedgerRequestError):
        services.points_goodwill_credit(
            customer=customer,
            program=program,
            points=5,
            actor=till,
            reason=" ",
            idempotency_key=key(),
        )
    assert snapshot(org) == before


@pytest.mark.django_db
def test_referral_import_and_bulk_award_credits(org, program, customer, other_customer, till):
    referral = services.points_referral_award(
        customer=customer,
        program=program,
        points=25,
        actor=till,
        idempotency_key=key(),
        referred_customer=other_customer,
    )
    imported = services.points_import_credit(
        customer=customer, program=program, points=30, actor=till, idempotency_key=key()
    )
    bulk = services.points_bulk_award(
        customer=customer,
        program=program,
        points=45,
        actor=till,
        idempotency_key=key(),
        campaign={"id": "c-1", "name": "Summer"},
    )

    assert referral.event_name == EventName.REFERRAL_AWARD
    assert referral.details == {"referredCustomerId": other_customer.pk}
    assert imported.event_name == EventName.POINTS_IMPORT
    assert bulk.event_name == EventName.BULK_POINTS_AWARD and bulk.promotion_name == "Summer"
    assert balance(customer, program) == 100
    assert_consistent(org)


@pytest.mark.django_db
@pytest.mark.parametrize("points", [0, -5, "abc", "1.5", None, True, "1e20"])
def test_invalid_points_change_nothing(org, program, customer, till, points):
    before = snapshot(org)

    with pytest.raises(InvalidPointsError) as error:
        earn(customer, program, points, actor=till)

    assert error.value.code == 801
    assert snapshot(org) == before


@pytest.mark.django_db
def test_decimal_points_follow_the_program(org, customer, till):
    program = ProgramFactory(org=org, points_decimal_places=2)

    earn(customer, program, "12.25", actor=till)

    assert balance(customer, program) == Decimal("12.25")
    with pytest.raises(InvalidPointsError):
        earn(customer, program, "1.125", actor=till)


@pytest.mark.django_db
def test_program_of_another_org_or_inactive_is_885(org, other_org, customer, till):
    before = snapshot(org)

    for bad in (ProgramFactory(org=other_org), ProgramFactory(org=org, is_active=False)):
        with pytest.raises(InvalidProgramIdError) as error:
            earn(customer, bad, 10, actor=till)
        assert error.value.code == 885

    assert snapshot(org) == before


@pytest.mark.django_db
def test_debit_only_event_names_do_not_credit(org, program, customer, till):
    with pytest.raises(InvalidLedgerRequestError):
        earn(customer, program, 10, actor=till, event_name=EventName.POINTS_EXPIRY)
    with pytest.raises(InvalidLedgerRequestError):
        earn(customer, program, 10, actor=till, event_name="NoSuchEvent")


@pytest.mark.django_db
def test_merged_customer_gets_8069(org, program, customer, other_customer, till):
    services.ledger_customer_merge(
        victim=customer, survivor=other_customer, actor=till, idempotency_key=key()
    )
    before = snapshot(org)

    with pytest.raises(CustomerMergedError) as error:
        earn(customer, program, 10, actor=till)

    assert error.value.code == 8069
    assert snapshot(org) == before


@pytest.mark.django_db
def test_replay_returns_the_first_event(org, program, customer, till):
    first = earn(customer, program, 10, actor=till, idempotency_key="bill-9:points")
    after_first = snapshot(org)

    replay = earn(customer, program, 10, actor=till, idempotency_key="bill-9:points")

    assert replay.pk == first.pk and replay.is_replay
    assert snapshot(org) == after_first


@pytest.mark.django_db
def test_same_key_other_content_is_a_conflict(org, program, customer, till):
    earn(customer, program, 10, actor=till, idempotency_key="bill-9:points")
    before = snapshot(org)

    with pytest.raises(LedgerIdempotencyConflictError) as error:
        earn(customer, program, 11, actor=till, idempotency_key="bill-9:points")

    assert error.value.http_status == 409
    assert snapshot(org) == before


@pytest.mark.django_db
def test_idempotency_key_is_required(org, program, customer, till):
    with pytest.raises(InvalidLedgerRequestError):
        services.points_allocate(
            customer=customer,
            program=program,
            points=1,
            event_name=EventName.TRANSACTION_ADD,
            actor=till,
            idempotency_key="  ",
        )


@pytest.mark.django_db
def test_promised_points_need_a_maturity_time(org, program, customer, till):
    with pytest.raises(InvalidLedgerRequestError):
        earn(customer, program, 10, actor=till, category=PointsCategory.PROMISED)
    with pytest.raises(InvalidLedgerRequestError):
        earn(customer, program, 10, actor=till, matures_at=timezone.now())


@pytest.mark.django_db
def test_deduct_takes_nearest_expiry_first(org, program, customer, till):
    soon = timezone.localdate() + datetime.timedelta(days=5)
    later = timezone.localdate() + datetime.timedelta(days=50)
    never = earn(customer, program, 100, actor=till)
    late = earn(customer, program, 100, actor=till, expires_at=later)
    early = earn(customer, program, 100, actor=till, expires_at=soon)

    event = services.points_deduct(
        customer=customer,
        program=program,
        points=150,
        actor=till,
        idempotency_key=key(),
        reason="Manual correction",
    )

    debit = event.entries.get()
    assert (debit.entry_type, debit.points, debit.closing_balance) == (EntryType.DEBIT, 150, 150)
    taken = {
        movement.lot.source_entry.event_id: movement.points
        for movement in LotConsumption.objects.filter(entry=debit)
    }
    assert taken == {early.pk: 100, late.pk: 50}
    assert never.pk not in taken
    assert event.net_points == -150
    assert_consistent(org)


@pytest.mark.django_db
def test_deduct_more_than_held_is_804_and_changes_nothing(org, program, customer, till):
    earn(customer, program, 20, actor=till)
    before = snapshot(org)

    with pytest.raises(InsufficientCurrentPointsError) as error:
        services.points_deduct(
            customer=customer, program=program, points=21, actor=till, idempotency_key=key()
        )

    assert error.value.code == 804
    assert snapshot(org) == before


@pytest.mark.django_db
def test_referral_return_and_import_debit(org, program, customer, till):
    earn(customer, program, 100, actor=till)

    ret = services.points_referral_return(
        customer=customer, program=program, points=25, actor=till, idempotency_key=key()
    )
    imp = services.points_import_debit(
        customer=customer, program=program, points=5, actor=till, idempotency_key=key()
    )

    assert ret.event_name == EventName.REFERRAL_RETURN and ret.net_points == -25
    assert imp.event_name == EventName.POINTS_IMPORT and imp.net_points == -5
    assert balance(customer, program) == 70
    assert LedgerEvent.objects.filter(customer=customer).count() == 4
    assert_consistent(org)
