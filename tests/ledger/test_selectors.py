"""Ledger reads for the APIs: events with filters and paging, closing balances, indexes."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from ledger import services
from ledger.exceptions import (
    LedgerInvalidCategoryError,
    LedgerInvalidEntryTypeError,
    LedgerInvalidProgramError,
    LedgerLegacyLimitExceededError,
    LedgerLimitExceededError,
    LedgerStartAfterEndError,
    LedgerTooManyTillFiltersError,
    LedgerUnsupportedParamsError,
)
from ledger.models import EntryType, EventName, LedgerEvent
from ledger.selectors import (
    ledger_closing_balances,
    ledger_events_list,
    points_available_get,
    points_expiry_schedules,
    points_redemption_check,
    points_transaction_points,
)
from members.models import PointsCategory
from tests.ledger.factories import earn, key, member
from tests.members.factories import (
    CustomerFactory,
    ProgramFactory,
    TillFactory,
    TransactionFactory,
)


@pytest.fixture
def history(org, program, till):
    """A customer with: registration (3 opening balances), 3 credits, 1 redemption."""
    customer = member(org, [program])
    for points in (10, 20, 30):
        earn(customer, program, points, actor=till)
    services.points_redeem(
        customer=customer, program=program, points=5, actor=till, idempotency_key=key()
    )
    return customer


@pytest.mark.django_db
def test_events_newest_first_with_their_entries(org, program, history):
    page = ledger_events_list(customer=history, page_size=10)

    assert page.total == 5 and page.page_count == 1
    names = [event.event_name for event in page.items]
    assert names == [
        EventName.POINTS_REDEMPTION,
        EventName.TRANSACTION_ADD,
        EventName.TRANSACTION_ADD,
        EventName.TRANSACTION_ADD,
        EventName.CUSTOMER_REGISTRATION,
    ]
    assert [(e.entry_type, e.points) for e in page.items[0].ledger_entries] == [
        (EntryType.DEBIT, 5)
    ]
    assert len(page.items[-1].ledger_entries) == 3
    assert page.page_details() == {
        "pageNumber": 0,
        "pageSize": 10,
        "totalEntries": 5,
        "pageCount": 1,
    }


@pytest.mark.django_db
def test_page_number_paging_and_ascending_sort(org, program, history):
    first = ledger_events_list(customer=history, page_size=2, page_number=0, sort="ASC")
    last = ledger_events_list(customer=history, page_size=2, page_number=2, sort="ASC")

    assert first.items[0].event_name == EventName.CUSTOMER_REGISTRATION
    assert first.page_count == 3
    assert [e.event_name for e in last.items] == [EventName.POINTS_REDEMPTION]


@pytest.mark.django_db
def test_page_size_caps(org, program, history):
    ledger_events_list(customer=history, page_size=100)
    with pytest.raises(LedgerLimitExceededError) as new:
        ledger_events_list(customer=history, page_size=101)
    with pytest.raises(LedgerLegacyLimitExceededError) as old:
        ledger_events_list(customer=history, page_size=11, max_page_size=10)
    assert (new.value.code, old.value.code) == (11029, 11006)


@pytest.mark.django_db
def test_entry_type_and_category_filters(org, program, history):
    debits = ledger_events_list(customer=history, entry_types=["DEBIT"])
    openings = ledger_events_list(
        customer=history,
        entry_types=[EntryType.OPENING_BALANCE],
        categories=[PointsCategory.PROMISED],
    )

    assert [e.event_name for e in debits.items] == [EventName.POINTS_REDEMPTION]
    assert openings.total == 1
    assert [e.account.category for e in openings.items[0].ledger_entries] == [
        PointsCategory.PROMISED
    ]


@pytest.mark.django_db
def test_program_filter_and_till_concept_events(org, program, till):
    second = ProgramFactory(org=org)
    customer = member(org, [program, second])
    earn(customer, second, 100, actor=till)
    group_redemption = services.points_group_redeem(
        customer=customer, points=10, actor=till, idempotency_key=key(), source_program=program
    )

    plain = ledger_events_list(customer=customer, program_id=program.pk)
    with_concept = ledger_events_list(
        customer=customer, program_id=program.pk, include_till_concept_events=True
    )

    assert group_redemption.event_id not in [e.pk for e in plain.items]
    assert group_redemption.event_id in [e.pk for e in with_concept.items]


@pytest.mark.django_db
def test_till_store_source_and_date_filters(org, program, till):
    customer = member(org, [program])
    other_till = TillFactory(org=org)
    earn(customer, program, 10, actor=till)
    middle = timezone.now()
    bill = TransactionFactory(org=org, customer=customer, till=other_till, source="ECOMMERCE")
    earn(customer, program, 20, actor=till, transaction=bill)

    by_till = ledger_events_list(customer=customer, till_ids=[other_till.pk])
    by_store = ledger_events_list(customer=customer, store_ids=[till.store_id])
    by_source = ledger_events_list(customer=customer, sources=["ecommerce"])
    everything = ledger_events_list(customer=customer, sources=["ALL"])
    since = ledger_events_list(customer=customer, start=middle)
    until = ledger_events_list(customer=customer, end=middle)

    assert [e.transaction_id for e in by_till.items] == [bill.pk]
    assert bill.pk not in [e.transaction_id for e in by_store.items]
    assert [e.transaction_id for e in by_source.items] == [bill.pk]
    assert everything.total == 3
    assert [e.transaction_id for e in since.items] == [bill.pk]
    assert until.total == 2


@pytest.mark.django_db
def test_bad_filters_raise_the_contract_codes(org, other_org, program, history):
    foreign = ProgramFactory(org=other_org)
    now = timezone.now()
    cases = [
        (dict(program_id=foreign.pk), LedgerInvalidProgramError, 11005),
        (dict(entry_types=["SIDEWAYS"]), LedgerInvalidEntryTypeError, 11007),
        (dict(categories=["GOLD"]), LedgerInvalidCategoryError, 11008),
        (dict(start=now, end=now - datetime.timedelta(days=1)), LedgerStartAfterEndError, 11009),
        (dict(till_ids=[1], store_ids=[1]), LedgerTooManyTillFiltersError, 11028),
        (dict(include_till_concept_events=True), LedgerUnsupportedParamsError, 11001),
        (dict(sort="UP"), LedgerUnsupportedParamsError, 11001),
    ]
    for params, error, code in cases:
        with pytest.raises(error) as raised:
            ledger_events_list(customer=history, **params)
        assert raised.value.code == code


@pytest.mark.django_db
def test_listing_queries_do_not_grow_with_events(
    org, program, history, till, django_assert_num_queries
):
    # count + events + their entries (with account and program), whatever the page holds
    with django_assert_num_queries(3):
        page = ledger_events_list(customer=history, page_size=10)
        assert [len(e.ledger_entries) for e in page.items]
    for points in range(1, 6):
        earn(history, program, points, actor=till)
    with django_assert_num_queries(3):
        page = ledger_events_list(customer=history, page_size=10)
        assert [e.ledger_entries[0].account.program.name for e in page.items]


@pytest.mark.django_db
def test_closing_balances_from_stored_rows(org, program, history, till):
    balances = {
        (row.program_id, row.category): row.closing_balance
        for row in ledger_closing_balances(customer=history)
    }
    assert balances == {
        (program.pk, PointsCategory.REGULAR): 55,
        (program.pk, PointsCategory.PROMISED): 0,
        (program.pk, PointsCategory.TRIGGER_BASED): 0,
    }
    main = ledger_closing_balances(customer=history, categories=["REGULAR"])[0]
    assert main.category_api_name == "Main" and main.program_name == program.name


@pytest.mark.django_db
def test_closing_balance_as_of_a_date_and_per_till(org, program, till):
    customer = member(org, [program])
    other_till = TillFactory(org=org)
    earn(customer, program, 10, actor=till)
    moment = timezone.now()
    earn(customer, program, 20, actor=other_till)

    as_of = ledger_closing_balances(customer=customer, end=moment, categories=["REGULAR"])
    at_till = ledger_closing_balances(customer=customer, till_ids=[till.pk])
    before_start = ledger_closing_balances(
        customer=customer, end=moment - datetime.timedelta(days=1)
    )

    assert [row.closing_balance for row in as_of] == [10]
    assert [(row.category, row.closing_balance) for row in at_till] == [
        (PointsCategory.REGULAR, 10)
    ]
    assert before_start == []


@pytest.mark.django_db
def test_closing_balances_never_sum_entries(org, program, history, django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        ledger_closing_balances(customer=history)
    assert "SUM(" not in captured.captured_queries[0]["sql"].upper()


@pytest.mark.django_db
def test_redemption_check_lists_every_failed_rule(org, program, till):
    customer = member(org, [program])
    earn(customer, program, 10, actor=till)

    assert points_redemption_check(customer=customer, program=program, points=10) == []
    codes = [
        error.code
        for error in points_redemption_check(customer=customer, program=program, points=11)
    ]
    assert codes == [803]
    assert points_available_get(customer=customer, program=program) == 10


@pytest.mark.django_db
def test_expiry_schedule_and_transaction_points(org, program, till):
    customer = member(org, [program])
    day = timezone.localdate() + datetime.timedelta(days=7)
    bill = TransactionFactory(org=org, customer=customer, till=till)
    earn(customer, program, 10, actor=till, expires_at=day, transaction=bill)
    earn(customer, program, 5, actor=till, expires_at=day)

    schedule = points_expiry_schedules(customer=customer)

    assert [(row.expires_on, row.points) for row in schedule] == [(day, 15)]
    assert points_transaction_points(transaction=bill) == {(program.pk, PointsCategory.REGULAR): 10}


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A near-empty table makes any plan cheap; forbid the alternatives to show that the
            # index serves both the filter and the order.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


@pytest.mark.django_db
def test_newest_events_of_a_customer_walk_the_index(org, program, history):
    newest = LedgerEvent.objects.filter(customer=history).order_by("-created_at", "-id")[:10]
    sql, params = newest.query.sql_with_params()

    plan = _plan(sql, params)

    assert "ledger_event_customer_recent" in plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan.upper()


@pytest.mark.django_db
@pytest.mark.parametrize(("sort", "page_size", "page_number"), [("DESC", 2, 0), ("ASC", 2, 1)])
def test_whole_ledger_page_reads_what_the_filtered_path_reads(
    org, program, history, sort, page_size, page_number
):
    """The unfiltered page (compiled statements) and a filter that keeps every event (the
    queryset path) give the same events, entries, totals and related rows."""
    kwargs = {"customer": history, "sort": sort, "page_size": page_size, "page_number": page_number}
    whole = ledger_events_list(**kwargs)
    filtered = ledger_events_list(**kwargs, start=timezone.now() - datetime.timedelta(days=3650))

    assert whole.total == filtered.total == 5
    assert [event.pk for event in whole.items] == [event.pk for event in filtered.items]
    for mine, theirs in zip(whole.items, filtered.items, strict=True):
        assert [(e.pk, e.points, e.closing_balance) for e in mine.ledger_entries] == [
            (e.pk, e.points, e.closing_balance) for e in theirs.ledger_entries
        ]
        assert [e.account.program.name for e in mine.ledger_entries] == [
            e.account.program.name for e in theirs.ledger_entries
        ]
        assert (mine.till_id, mine.customer) == (theirs.till_id, theirs.customer)


@pytest.mark.django_db
def test_whole_ledger_page_of_an_owner_without_events(org, program):
    customer = CustomerFactory(org=org)  # no ledger opened
    page = ledger_events_list(customer=customer, page_size=10)
    assert (page.total, page.items) == (0, [])
