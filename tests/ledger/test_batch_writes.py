"""Set-wise batch writes: points_allocate_many (bulk accrual), points_expire_many and
points_promised_mature_many (the jobs' batches). They write what the one-owner services write."""

from __future__ import annotations

import datetime
from dataclasses import replace
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from ledger import services
from ledger.exceptions import (
    ConcurrentLedgerUpdateError,
    InsufficientCurrentPointsError,
    InvalidLedgerRequestError,
    InvalidPointsError,
    LedgerIdempotencyConflictError,
)
from ledger.jobs import EXPIRY_KIND
from ledger.models import (
    EventName,
    LedgerEvent,
    LotConsumption,
    PointsAccount,
    PointsLot,
)
from ledger.services import CreditRequest, PromotionRef
from ledger.services.bulk import (
    ACCOUNT_STATE_FIELDS,
    AccountState,
    EventRows,
    event_for_owner,
    event_rows_write,
)
from ledger.services.posting import CreditPart
from loyalty_site.core.jobs import job_create
from loyalty_site.core.models import Job
from members.exceptions import CustomerMergedError
from members.models import PointsCategory
from tests.ledger.factories import assert_consistent, balance, earn, key, lots_of, member, snapshot
from tests.members.factories import (
    CustomerFactory,
    TransactionFactory,
    UserGroupFactory,
)

PROMISED = PointsCategory.PROMISED


def local_today(org) -> datetime.date:
    return timezone.localtime(timezone.now(), org.tzinfo).date()


def ledger_rows(owner) -> dict:
    """An owner's ledger as comparable rows (no ids, keys or times of writing)."""
    field = "customer" if owner.__class__.__name__ == "Customer" else "user_group"
    events = LedgerEvent.objects.filter(**{field: owner}).order_by("id")
    return {
        "events": [
            (
                e.event_name,
                e.net_points,
                e.source,
                e.till_id,
                e.store_id,
                e.transaction_id is not None,
                e.source_program_id,
                e.promotion_id,
                e.promotion_name,
                e.reason,
                e.notes,
                e.details,
                e.created_by_user_id,
                [
                    (n.account.program_id, n.account.category, n.entry_type, n.sequence)
                    + (n.points, n.closing_balance)
                    for n in e.entries.select_related("account").order_by("id")
                ],
            )
            for e in events
        ],
        "lots": list(
            PointsLot.objects.filter(**{f"account__{field}": owner})
            .order_by("id")
            .values_list(
                "account__program_id",
                "account__category",
                "original_points",
                "remaining_points",
                "expires_at",
                "matures_at",
            )
        ),
        "accounts": sorted(
            PointsAccount.objects.filter(**{field: owner}).values_list(
                "program_id", "category", "balance", "last_sequence", "allows_negative_balance"
            )
        ),
    }


# Batch accrual -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_allocate_many_writes_what_points_allocate_writes(org, program, expiring_program, till):
    # given two members of two programs, and the same five credits for each
    one, two = (member(org, [program, expiring_program]) for _ in range(2))
    later = local_today(org) + datetime.timedelta(days=10)
    matures = timezone.now() + datetime.timedelta(days=3)

    def credits(owner):
        bill = TransactionFactory(org=org, customer=owner, till=till, source="ECOMMERCE")
        return [
            dict(program=program, points=10, event_name=EventName.TRANSACTION_ADD),
            dict(program=expiring_program, points=2, event_name=EventName.TRANSACTION_ADD),
            dict(
                program=program,
                points=7,
                event_name=EventName.BULK_POINTS_AWARD,
                promotion_ref=PromotionRef(id="42", name="Summer"),
                expires_at=later,
                reason="campaign",
                notes="n",
                details={"wave": 1},
            ),
            dict(program=program, points=3, event_name=EventName.TRANSACTION_ADD, transaction=bill),
            dict(
                program=program,
                points=5,
                event_name=EventName.TRANSACTION_ADD,
                category=PROMISED,
                matures_at=matures,
            ),
        ]

    # when the first gets them one call each and the second in one batch
    for credit in credits(one):
        services.points_allocate(customer=one, actor=till, idempotency_key=key(), **credit)
    result = services.points_allocate_many(
        credits=[CreditRequest(customer=two, idempotency_key=key(), **c) for c in credits(two)],
        actor=till,
    )

    # then both ledgers hold the same rows
    assert result.errors == {} and sorted(result.events) == [0, 1, 2, 3, 4]
    assert all(not getattr(event, "is_replay", False) for event in result.events.values())
    assert ledger_rows(two) == ledger_rows(one)
    assert balance(two, program) == Decimal("20.000")
    assert_consistent(org)


@pytest.mark.django_db
def test_allocate_many_credits_one_account_in_the_order_given(org, program, customer, till):
    result = services.points_allocate_many(
        credits=[
            CreditRequest(
                customer=customer,
                program=program,
                points=points,
                event_name=EventName.TRANSACTION_ADD,
                idempotency_key=key(),
            )
            for points in (1, 2, 3)
        ],
        actor=till,
    )

    entries = [result.events[index].entries.get() for index in range(3)]
    assert [(e.sequence, e.points, e.closing_balance) for e in entries] == [
        (2, 1, 1),
        (3, 2, 3),
        (4, 3, 6),
    ]
    assert [e.net_points for e in result.events.values()] == [1, 2, 3]
    assert balance(customer, program) == 6
    assert_consistent(org)


@pytest.mark.django_db
def test_allocate_many_replays_and_refuses_credit_by_credit(
    org, program, customer, other_customer, till
):
    # given a credit already posted with key "first", and a merged-away customer
    first = earn(customer, program, 10, actor=till, idempotency_key="first")
    merged = member(org, [program])
    services.ledger_customer_merge(
        victim=merged, survivor=other_customer, actor=till, idempotency_key=key()
    )

    def credit(owner, points, idempotency_key):
        return CreditRequest(
            customer=owner,
            program=program,
            points=points,
            event_name=EventName.TRANSACTION_ADD,
            idempotency_key=idempotency_key,
        )

    # when a batch repeats it, reuses keys and has bad credits
    result = services.points_allocate_many(
        credits=[
            credit(customer, 10, "first"),  # 0: replay of the earlier call
            credit(customer, 11, "first"),  # 1: same key, other content
            credit(other_customer, 5, "new"),  # 2: written
            credit(other_customer, 5, "new"),  # 3: replay of 2
            credit(other_customer, 6, "new"),  # 4: same key as 2, other content
            credit(customer, "-1", "bad"),  # 5: 801
            credit(merged, 5, "merged"),  # 6: 8069
        ],
        actor=till,
    )

    assert sorted(result.events) == [0, 2, 3]
    assert result.events[0].pk == first.pk and result.events[0].is_replay
    assert result.events[3].pk == result.events[2].pk and result.events[3].is_replay
    assert not getattr(result.events[2], "is_replay", False)
    assert {index: type(error) for index, error in result.errors.items()} == {
        1: LedgerIdempotencyConflictError,
        4: LedgerIdempotencyConflictError,
        5: InvalidPointsError,
        6: CustomerMergedError,
    }
    assert balance(customer, program) == 10
    assert balance(other_customer, program) == 5
    assert LedgerEvent.objects.filter(org=org, idempotency_key="new").count() == 1
    assert_consistent(org)


@pytest.mark.django_db
def test_allocate_many_opens_missing_accounts_as_one_call_does(org, program, till):
    # given two customers without any account (registered before the ledger existed)
    one, two = CustomerFactory(org=org), CustomerFactory(org=org)

    services.points_allocate(
        customer=one,
        program=program,
        points=4,
        event_name="TransactionAdd",
        actor=till,
        idempotency_key=key(),
    )
    result = services.points_allocate_many(
        credits=[
            CreditRequest(
                customer=two,
                program=program,
                points=4,
                event_name=EventName.TRANSACTION_ADD,
                idempotency_key=key(),
            )
        ],
        actor=till,
    )

    assert result.errors == {}
    assert ledger_rows(two) == ledger_rows(one)
    assert [e[0] for e in ledger_rows(two)["events"]] == [
        EventName.CUSTOMER_UPDATE,
        EventName.TRANSACTION_ADD,
    ]
    assert_consistent(org)


@pytest.mark.django_db
def test_allocate_many_with_nothing_valid_writes_nothing(org, program, customer, till):
    before = snapshot(org)

    result = services.points_allocate_many(
        credits=[
            CreditRequest(
                customer=customer,
                program=program,
                points=0,
                event_name=EventName.TRANSACTION_ADD,
                idempotency_key=key(),
            )
        ],
        actor=till,
    )

    assert result.events == {} and isinstance(result.errors[0], InvalidPointsError)
    assert snapshot(org) == before


# Batch expiry --------------------------------------------------------------------------------
@pytest.fixture
def lapsing(org, program, expiring_program, till):
    """Three owners with points lapsing in 30 days (expiring_program) and 45 days (program, by
    explicit date), some of them redeemed, and one owner whose points never lapse."""
    soon = local_today(org) + datetime.timedelta(days=30)
    later = local_today(org) + datetime.timedelta(days=45)
    ann = member(org, [program, expiring_program])
    earn(ann, expiring_program, 100, actor=till)
    earn(ann, expiring_program, 40, actor=till, expires_at=soon - datetime.timedelta(days=5))
    earn(ann, program, 30, actor=till, expires_at=later)
    earn(ann, program, 20, actor=till)  # never expires (program without a policy)
    services.points_redeem(
        customer=ann, program=expiring_program, points=30, actor=till, idempotency_key=key()
    )
    bob = member(org, [expiring_program])
    earn(bob, expiring_program, 10, actor=till)
    group = UserGroupFactory(org=org)
    earn(group, expiring_program, 7, actor=till)
    steady = member(org, [program])
    earn(steady, program, 5, actor=till)
    return {"ann": ann, "bob": bob, "group": group, "steady": steady}


@pytest.mark.django_db
def test_expire_many_expires_each_owner_in_one_event(org, program, expiring_program, lapsing):
    ann, bob, group, steady = (lapsing[name] for name in ("ann", "bob", "group", "steady"))
    as_of = local_today(org) + datetime.timedelta(days=46)

    result = services.points_expire_many(
        org=org,
        customer_ids=[ann.pk, bob.pk, steady.pk],
        user_group_ids=[group.pk],
        as_of=as_of,
    )

    # then one PointsExpiry event per owner that had lapsed points, none for the others
    assert result.errors == {}
    assert sorted(e.customer_id or -e.user_group_id for e in result.events) == sorted(
        [ann.pk, bob.pk, -group.pk]
    )
    event = next(e for e in result.events if e.customer_id == ann.pk)
    assert event.event_name == EventName.POINTS_EXPIRY and event.details == {
        "asOf": as_of.isoformat()
    }
    assert timezone.localtime(event.occurred_at, org.tzinfo).date() == as_of - datetime.timedelta(
        days=1
    )
    # a debit per account, by program: what is left of 140 after 30 redeemed, and the 30
    debits = list(event.entries.order_by("id").values_list("account__program_id", "points"))
    assert debits == sorted([(expiring_program.pk, Decimal(110)), (program.pk, Decimal(30))])
    assert event.net_points == -140
    # the lots are taken nearest expiry first: the 10 left of the 40, then the 100
    taken = list(
        LotConsumption.objects.filter(entry__event=event, lot__account__program=expiring_program)
        .order_by("id")
        .values_list("lot__expires_at", "points")
    )
    assert [points for _, points in taken] == [10, 100]
    assert taken[0][0] < taken[1][0]
    assert balance(ann, expiring_program) == 0 and balance(ann, program) == 20
    assert balance(bob, expiring_program) == 0 and balance(group, expiring_program) == 0
    assert balance(steady, program) == 5
    assert_consistent(org)

    # and a second run changes nothing
    before = snapshot(org)
    again = services.points_expire_many(
        org=org, customer_ids=[ann.pk, bob.pk], user_group_ids=[group.pk], as_of=as_of
    )
    assert again.events == [] and again.errors == {}
    assert snapshot(org) == before


@pytest.mark.django_db
def test_expire_many_leaves_out_an_owner_whose_balance_is_short(
    org, expiring_program, lapsing, django_capture_on_commit_callbacks
):
    # given Bob's cached balance below his lots (a drifted account)
    ann, bob = lapsing["ann"], lapsing["bob"]
    PointsAccount.objects.filter(
        customer=bob, program=expiring_program, category=PointsCategory.REGULAR
    ).update(balance=F("balance") - 4)
    bob_lots = [(lot.pk, lot.remaining_points) for lot in lots_of(bob, expiring_program)]
    as_of = local_today(org) + datetime.timedelta(days=31)

    result = services.points_expire_many(org=org, customer_ids=[ann.pk, bob.pk], as_of=as_of)

    # then Bob alone fails with 804 and nothing of his changed; Ann's points expired
    assert list(result.errors) == [f"customer:{bob.pk}"]
    assert isinstance(result.errors[f"customer:{bob.pk}"], InsufficientCurrentPointsError)
    assert [e.customer_id for e in result.events] == [ann.pk]
    assert [(lot.pk, lot.remaining_points) for lot in lots_of(bob, expiring_program)] == bob_lots
    assert not LedgerEvent.objects.filter(customer=bob, event_name=EventName.POINTS_EXPIRY)
    assert balance(ann, expiring_program) == 0

    # and the job reports him as its failed row
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind=EXPIRY_KIND, org=org, params={"as_of": as_of.isoformat()})
    job.refresh_from_db()
    assert (job.status, job.failed) == (Job.Status.FINISHED, 1)
    assert list(job.row_errors.values_list("row_key", "code")) == [(f"customer:{bob.pk}", "804")]


@pytest.mark.django_db
def test_expire_many_refuses_owners_of_another_org(org, other_org, expiring_program, lapsing):
    stranger = CustomerFactory(org=other_org)
    before = snapshot(org)

    result = services.points_expire_many(
        org=other_org,
        customer_ids=[lapsing["bob"].pk, stranger.pk, 10**9],
        as_of=local_today(org) + datetime.timedelta(days=31),
    )

    assert result.events == []
    assert set(result.errors) == {f"customer:{lapsing['bob'].pk}", "customer:1000000000"}
    assert all(isinstance(e, InvalidLedgerRequestError) for e in result.errors.values())
    assert snapshot(org) == before


# Batch maturity ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_mature_many_converts_each_owner_and_opens_a_missing_regular_account(
    org, expiring_program, till
):
    # given a registered member and a customer whose only account is the promised one
    matures = timezone.now() + datetime.timedelta(days=2)
    later = local_today(org) + datetime.timedelta(days=60)
    registered = member(org, [expiring_program])
    bare = CustomerFactory(org=org)
    bill = TransactionFactory(org=org, customer=registered, till=till)
    earn(registered, expiring_program, 8, actor=till, category=PROMISED, matures_at=matures)
    earn(
        registered,
        expiring_program,
        4,
        actor=till,
        category=PROMISED,
        matures_at=matures,
        expires_at=later,
        transaction=bill,
    )
    earn(bare, expiring_program, 6, actor=till, category=PROMISED, matures_at=matures)
    earn(
        bare,
        expiring_program,
        9,
        actor=till,
        category=PROMISED,
        matures_at=matures + datetime.timedelta(days=30),
    )
    assert not PointsAccount.objects.filter(customer=bare, category=PointsCategory.REGULAR)

    result = services.points_promised_mature_many(
        org=org, customer_ids=[registered.pk, bare.pk], as_of=matures
    )

    # then each has one DelayedAccrual event, net zero, with a debit and a credit
    assert result.errors == {}
    assert len(result.events) == 2 and all(e.net_points == 0 for e in result.events)
    assert balance(registered, expiring_program) == 12
    assert balance(registered, expiring_program, PROMISED) == 0
    assert balance(bare, expiring_program) == 6
    assert balance(bare, expiring_program, PROMISED) == 9
    # the matured lots keep their expiry and bill; the others get the program's from now
    regular = lots_of(registered, expiring_program)
    explicit = [lot for lot in regular if lot.transaction_id == bill.pk]
    assert [lot.original_points for lot in explicit] == [4]
    assert timezone.localtime(explicit[0].expires_at, org.tzinfo).date() == later
    policy = [lot for lot in regular if lot.transaction_id is None]
    assert timezone.localtime(policy[0].expires_at, org.tzinfo).date() == local_today(
        org
    ) + datetime.timedelta(days=30)
    # the bare customer's REGULAR account was opened first, in its own event
    names = list(
        LedgerEvent.objects.filter(customer=bare)
        .order_by("id")
        .values_list("event_name", flat=True)
    )
    assert names[-2:] == [EventName.CUSTOMER_UPDATE, EventName.DELAYED_ACCRUAL]
    assert_consistent(org)

    # and a second run changes nothing
    before = snapshot(org)
    again = services.points_promised_mature_many(
        org=org, customer_ids=[registered.pk, bare.pk], as_of=matures
    )
    assert again.events == [] and snapshot(org) == before


@pytest.mark.django_db
def test_one_owner_maturity_writes_what_the_batch_writes(org, program, till):
    matures = timezone.now() + datetime.timedelta(days=2)
    one, two = member(org, [program]), member(org, [program])
    for owner in (one, two):
        earn(owner, program, 8, actor=till, category=PROMISED, matures_at=matures)
        earn(owner, program, 3, actor=till)

    services.points_promised_mature(customer=one, as_of=matures)
    services.points_promised_mature_many(org=org, customer_ids=[two.pk], as_of=matures)

    assert ledger_rows(two) == ledger_rows(one)
    assert balance(two, program) == 11 and balance(two, program, PROMISED) == 0
    assert_consistent(org)


# Writes the database refuses -----------------------------------------------------------------
def _stale_credit(org, customer, program, *, sequence_shift: int) -> EventRows:
    """A 5-point credit built from the customer's account as a batch that took no lock might
    have seen it: its last sequence shifted by `sequence_shift`."""
    account = PointsAccount.objects.get(
        customer=customer, program=program, category=PointsCategory.REGULAR
    )
    state = AccountState(
        *PointsAccount.objects.filter(pk=account.pk).values_list(*ACCOUNT_STATE_FIELDS).get()
    )
    stale = replace(state, last_sequence=state.last_sequence + sequence_shift)
    rows = EventRows(
        event=event_for_owner(
            owner_label=f"customer:{customer.pk}",
            org_id=org.pk,
            event_name=EventName.GENERIC_EVENT,
            actor_fields={},
            occurred_at=timezone.now(),
        ),
        base={account.pk: stale},
        now=timezone.now(),
    )
    rows.credit(account.pk, [CreditPart(points=Decimal(5))])
    return rows


@pytest.mark.django_db
def test_batch_whose_entry_the_database_refuses_writes_nothing(org, program, till):
    # given a customer with 10 points, and a credit built from a stale account (the sequence
    # of its entry is taken)
    customer = member(org, [program])
    earn(customer, program, 10, actor=till)
    rows = _stale_credit(org, customer, program, sequence_shift=-1)
    before = snapshot(org)

    # when the batch is written, then it is refused as a concurrent update and nothing of it
    # stays (on PostgreSQL the entry goes in by COPY, whose errors Django does not translate)
    with pytest.raises(ConcurrentLedgerUpdateError):
        event_rows_write([rows])
    assert snapshot(org) == before
    assert balance(customer, program) == 10
    assert_consistent(org)


@pytest.mark.django_db
def test_batch_whose_account_moved_writes_nothing(postgres_only, org, program, till):
    # given a credit built from an account state that is not the account's (a sequence ahead:
    # no entry collides, but the account is not where the batch started from)
    customer = member(org, [program])
    earn(customer, program, 10, actor=till)
    rows = _stale_credit(org, customer, program, sequence_shift=1)
    before = snapshot(org)

    # when the batch is written, then the account update refuses it and nothing stays
    with pytest.raises(ConcurrentLedgerUpdateError):
        event_rows_write([rows])
    assert snapshot(org) == before
    assert_consistent(org)


# Batch helpers -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_allocate_many_replays_keys_that_need_quoting(org, program, customer, till):
    # given credits posted one call each, with keys that array syntax would quote or escape
    keys = ['with "quotes"', "back\\slash", "comma,{braces}", "NULL", "two  spaces", "ünïcode"]
    first = [earn(customer, program, 3, actor=till, idempotency_key=k) for k in keys]

    # when a batch repeats them, then each is a replay of its first event and nothing is added
    result = services.points_allocate_many(
        credits=[
            CreditRequest(
                customer=customer,
                program=program,
                points=3,
                event_name=EventName.TRANSACTION_ADD,
                idempotency_key=k,
            )
            for k in keys
        ],
        actor=till,
    )

    assert result.errors == {}
    assert [result.events[i].pk for i in range(len(keys))] == [e.pk for e in first]
    assert all(event.is_replay for event in result.events.values())
    assert balance(customer, program) == 3 * len(keys)
    assert_consistent(org)


@pytest.mark.django_db
def test_allocate_many_writes_json_details_as_points_allocate_writes(org, program, till):
    # given details of every JSON kind, and none
    one, two = member(org, [program]), member(org, [program])
    details = [
        {"note": 'é "quoted" \\ ', "list": [1, 2.5, None, True, "x"], "nested": {"empty": {}}},
        {},
        None,
        {"wave": 1},
    ]

    # when the first owner gets them one call each and the second in one batch
    for value in details:
        services.points_allocate(
            customer=one,
            program=program,
            points=2,
            event_name=EventName.TRANSACTION_ADD,
            actor=till,
            idempotency_key=key(),
            details=value,
        )
    result = services.points_allocate_many(
        credits=[
            CreditRequest(
                customer=two,
                program=program,
                points=2,
                event_name=EventName.TRANSACTION_ADD,
                idempotency_key=key(),
                details=value,
            )
            for value in details
        ],
        actor=till,
    )

    # then both ledgers hold the same details, as read back from the database
    assert result.errors == {}
    assert ledger_rows(two) == ledger_rows(one)
    credited = [e[11] for e in ledger_rows(two)["events"] if e[0] == EventName.TRANSACTION_ADD]
    assert credited == [details[0], {}, {}, {"wave": 1}]


@pytest.mark.django_db
@pytest.mark.parametrize("enabled", [True, False])
def test_allocate_many_gives_back_the_garbage_collector_as_it_found_it(
    enabled, org, program, customer, till
):
    import gc

    credit = CreditRequest(
        customer=customer,
        program=program,
        points=1,
        event_name=EventName.TRANSACTION_ADD,
        idempotency_key=key(),
    )
    was_enabled = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        services.points_allocate_many(credits=[credit], actor=till)
        assert gc.isenabled() is enabled
        # also when the batch fails midway (a request that is not one)
        with pytest.raises(AttributeError):
            services.points_allocate_many(credits=[credit, object()], actor=till)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was_enabled else gc.disable)()


def test_overlapping_pauses_in_two_threads_leave_the_collector_on():
    """Batch A pauses, batch B (another thread) pauses, A ends, B ends: the collector stays
    off until B is done and is on afterwards (each restoring its own view would leave it off)."""
    import gc
    import threading

    from ledger.services.bulk import collection_paused

    was_enabled = gc.isenabled()
    gc.enable()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def batch_a():
        with collection_paused():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def batch_b():
        a_in.wait(5)
        with collection_paused():
            b_in.set()
            a_out.wait(5)
            seen["during"] = gc.isenabled()

    threads = [threading.Thread(target=batch_a), threading.Thread(target=batch_b)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert seen == {"during": False}
        assert gc.isenabled()
    finally:
        (gc.enable if was_enabled else gc.disable)()


@pytest.mark.parametrize(
    "payload",
    [
        dict(owner="customer:12", program=3, points=Decimal("10.000"), reason="", promotion=None),
        dict(event_name=EventName.TRANSACTION_ADD, category=PointsCategory.PROMISED, flag=True),
        dict(flag=False, count=-7, big=10**30, text='é "q" \\ \n\t\x00 ✓', key=""),
        dict(
            expires_at=datetime.datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC),
            day=datetime.date(2030, 1, 2),
            time=datetime.time(23, 59),
            promotion=PromotionRef(id="42", name='Sum"mer'),
        ),
        # left to json.dumps
        dict(ratio=1.5, nan=float("nan"), items=[1, "a", None], nested={"b": 1, "a": [2]}),
        dict(owner="group:1", extra=(1, 2), amount=Decimal("1E+3")),
    ],
)
def test_request_fingerprint_keeps_its_stored_form(payload):
    import hashlib
    import json

    from ledger.services.posting import request_fingerprint

    # the form of fingerprints stored by earlier releases: replays must still match them
    text = json.dumps({"operation": "op", **payload}, sort_keys=True, default=str)
    assert request_fingerprint("op", **payload) == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [(10, 0, "10.000"), (7, 2, "7.000"), ("10", 0, "10.000"), (Decimal("1.25"), 2, "1.250")],
)
def test_points_from_ints_and_text_are_the_same_amounts(value, places, expected):
    from types import SimpleNamespace

    from ledger.services.posting import to_points

    program = SimpleNamespace(points_decimal_places=places)
    assert to_points(value, program=program) == Decimal(expected)
    assert str(to_points(value, program=program)) == expected


@pytest.mark.parametrize("value", [0, -5, 10**15, True])
def test_int_points_out_of_range_are_a_clear_801(value):
    from ledger.services.posting import to_points

    with pytest.raises(InvalidPointsError) as error:
        to_points(value)
    assert error.value.code == 801
