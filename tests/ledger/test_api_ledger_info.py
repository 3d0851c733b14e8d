"""GET /v2/pointsLedger/getCustomerLedgerInfo (and v2.1): shape, filters, paging and errors."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger import services
from ledger.models import LedgerEvent
from ledger.services import PromotionRef
from members.models import PointsCategory
from tests.conftest import till_client
from tests.ledger.api_helpers import (
    INFO_URL,
    INFO_V21_URL,
    LEDGER_TIME,
    POINTS_TEXT,
    by_mobile,
    clock,
    contract,
    error_code,
    join,
    local,
)
from tests.ledger.factories import earn, key, member
from tests.members.factories import (
    CustomerFactory,
    OrgFactory,
    ProgramFactory,
    StoreFactory,
    TillFactory,
    TransactionFactory,
    UserGroupFactory,
)


@pytest.fixture
def history(org, program, till):
    """Registration, a promotion credit, a bill credit, goodwill and a redemption."""
    customer = member(org, [program])
    earn(
        customer,
        program,
        100,
        actor=till,
        event_name="TargetCompleted",
        promotion_ref=PromotionRef(
            id="1120363", identifier="7c73ef03", name="Target promo", description="Spend more"
        ),
    )
    bill = TransactionFactory(org=org, customer=customer, till=till, gross_amount=1200)
    earn(customer, program, 50, actor=till, transaction=bill)
    services.points_goodwill_credit(
        customer=customer,
        program=program,
        points=25,
        actor=None,
        reason="POINTS_ISSUE",
        idempotency_key=key(),
    )
    services.points_redeem(
        customer=customer, program=program, points=30, actor=till, idempotency_key=key()
    )
    return customer


def _events(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["ledgerEntries"]


def _names(response) -> list[str]:
    return [entry["eventName"] for entry in _events(response)]


# Shape ----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_response_has_the_contract_shape_with_points_as_strings(api_client, history, program):
    # given the contract's sample of a promotion credit
    sample = contract("ledger_info_target_completed_response.json")
    sample_entry = sample["ledgerEntries"][0]

    # when
    response = api_client.get(INFO_URL, by_mobile(history))

    # then every key of the sample is there, with the same nesting
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == set(sample)
    assert set(body["ledgerDetails"]) == set(sample["ledgerDetails"])
    assert body["ledgerDetails"] == {
        "pageNumber": 0,
        "pageSize": 10,
        "totalEntries": 5,
        "pageCount": 1,
    }
    assert body["customerDetails"] == {
        "firstName": history.first_name,
        "lastName": history.last_name,
        "userId": history.pk,
        "externalId": history.external_id,
        "entityType": "CUSTOMER",
    }
    entries = body["ledgerEntries"]
    assert [e["eventName"] for e in entries] == [
        "PointsRedemption",
        "AllocateGoodwillPoints",
        "TransactionAdd",
        "TargetCompleted",
        "CustomerRegistration",
    ]
    for entry in entries:
        assert set(entry) == set(sample_entry)
        assert LEDGER_TIME.match(entry["ledgerCreatedDate"])
        assert POINTS_TEXT.match(entry["netPointsOnEvent"])
        assert entry["customerId"] == history.pk
        assert entry["orgId"] is None
        for detail in entry["entryDetails"]:
            assert set(detail) == set(sample_entry["entryDetails"][0])
            assert POINTS_TEXT.match(detail["points"])

    redemption, goodwill, bill, target, registration = entries
    assert redemption["netPointsOnEvent"] == "-30.000"
    assert redemption["entryDetails"] == [
        {
            "ledgerEntryType": "DEBIT",
            "points": "30.000",
            "pointsCategory": "Main",
            "programName": program.name,
            "programId": program.pk,
        }
    ]
    assert goodwill["eventDetails"] == {"reason": "POINTS_ISSUE"}
    assert goodwill["transactionDetails"] == {}
    assert target["netPointsOnEvent"] == "100.000"
    assert set(target["eventDetails"]) == set(sample_entry["eventDetails"])
    assert target["eventDetails"]["promotionId"] == 1120363
    assert target["eventDetails"]["promotionName"] == "Target promo"
    assert target["sourceProgramId"] == program.pk
    assert target["sourceProgramName"] == program.name
    assert target["tillCode"] == "acme.till01"
    # the opening balances: one per category, zero, no bill and no event details
    opening_sample = contract("ledger_info_opening_balance_response.json")["ledgerEntries"][0]
    assert set(registration) == set(opening_sample)
    assert registration["netPointsOnEvent"] == "0.000"
    assert registration["transactionDetails"] == {} and registration["eventDetails"] == {}
    assert sorted(d["pointsCategory"] for d in registration["entryDetails"]) == [
        "DelayedAccrualPointCategory",
        "ExternalTriggerBasedPointCategory",
        "Main",
    ]
    assert {d["points"] for d in registration["entryDetails"]} == {"0.000"}
    assert {d["ledgerEntryType"] for d in registration["entryDetails"]} == {"OPENING_BALANCE"}
    assert bill["entryDetails"][0]["points"] == "50.000"


@pytest.mark.django_db
def test_bill_events_carry_transaction_details(api_client, history):
    sample = contract("ledger_info_alternate_currency_response.json")["ledgerEntries"][0]

    response = api_client.get(INFO_URL, by_mobile(history, eventFilter="TransactionAdd"))

    (entry,) = _events(response)
    details = entry["transactionDetails"]
    assert set(details) == set(sample["transactionDetails"])
    assert details["amount"] == 1000.0 and details["grossBillAmount"] == 1200.0
    assert details["source"] == "instore"
    assert LEDGER_TIME.match(details["date"])
    assert set(entry["eventDetails"]) == {"eventDate"}
    assert entry["storeCode"] and entry["store"] and entry["tillCode"] == "acme.till01"


@pytest.mark.django_db
def test_created_date_is_in_the_org_time_zone(api_client, org, program, till):
    # given a credit recorded at 10:00:00.25 UTC (15:30:00.25 in Asia/Kolkata)
    customer = member(org, [program])
    with clock(datetime.datetime(2024, 6, 19, 10, 0, 0, 250_000, tzinfo=datetime.UTC)):
        earn(customer, program, 10, actor=till)

    response = api_client.get(INFO_URL, by_mobile(customer, ledgerEntryType="CREDIT"))

    assert _events(response)[0]["ledgerCreatedDate"] == "2024-06-19 15:30:00.2"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, attribute",
    [("mobile", "mobile"), ("email", "email"), ("externalId", "external_id"), ("id", "pk")],
)
def test_every_customer_identifier_finds_the_ledger(api_client, history, name, attribute):
    params = {
        "identifierName": name,
        "identifierValue": getattr(history, attribute),
        "source": "ALL",
    }

    response = api_client.get(INFO_URL, params)

    assert response.status_code == 200, response.content
    assert response.json()["customerDetails"]["userId"] == history.pk


# Identifier errors ----------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, status, code",
    [
        ({"identifierName": ""}, 400, 11013),
        ({"identifierValue": ""}, 400, 11013),
        ({"source": ""}, 400, 11013),
        ({"source": "NOWHERE"}, 400, 8003),
        ({"identifierName": "passport"}, 400, 8013),
        ({"identifierValue": "not-a-mobile"}, 400, 8013),
        ({"identifierValue": "919999999999"}, 404, 8015),
        ({"identifierName": "id", "identifierValue": "abc"}, 400, 8013),
        ({"identifierName": "id", "identifierValue": str(2**64)}, 404, 8015),
        ({"source": "ECOMMERCE"}, 404, 8065),
        ({"type": "SHOP"}, 400, 11001),
    ],
)
def test_identifier_errors(api_client, history, params, status, code):
    sample = contract("ledger_info_v21_error_response.json")

    response = api_client.get(INFO_URL, by_mobile(history, **params))

    assert response.status_code == status, response.content
    body = response.json()
    assert set(sample) <= set(body)
    assert set(body["errors"][0]) == set(sample["errors"][0])
    assert body["errors"][0]["status"] is False
    assert body["errors"][0]["code"] == code


@pytest.mark.django_db
def test_another_orgs_customer_is_not_found(other_client, history):
    response = other_client.get(INFO_URL, by_mobile(history))

    assert response.status_code == 404
    assert error_code(response) == 8015


@pytest.mark.django_db
def test_a_merged_customers_ledger_stays_readable(api_client, org, program, history):
    survivor = member(org, [program])
    services.ledger_customer_merge(
        victim=history, survivor=survivor, actor=None, idempotency_key=key()
    )

    response = api_client.get(INFO_URL, by_mobile(history, limit=1))

    assert _names(response) == ["MergeCustomer"]


# Till and store filters -----------------------------------------------------------------------
@pytest.fixture
def two_tills(org, program, till):
    """A customer with a credit at the API till and one at a till of another store."""
    customer = member(org, [program])
    other_store = StoreFactory(org=org, code="mall")
    other_till = TillFactory(org=org, store=other_store, code="mall.till")
    earn(customer, program, 10, actor=till)
    earn(customer, program, 20, actor=other_till)
    return customer, other_till


def _credits(response) -> list[str]:
    return [entry["netPointsOnEvent"] for entry in _events(response)]


@pytest.mark.django_db
def test_till_and_store_filters(api_client, till, two_tills):
    customer, other_till = two_tills
    credits = {"ledgerEntryType": "CREDIT"}

    by_till = api_client.get(INFO_URL, by_mobile(customer, tillId=till.pk, **credits))
    by_tills = api_client.get(
        INFO_URL, by_mobile(customer, tillIds=f"{till.pk}, {other_till.pk}", **credits)
    )
    by_store = api_client.get(INFO_URL, by_mobile(customer, storeId=other_till.store_id, **credits))
    by_code = api_client.get(INFO_URL, by_mobile(customer, storeCode="mall", **credits))

    assert _credits(by_till) == ["10.000"]
    assert _credits(by_tills) == ["20.000", "10.000"]
    assert _credits(by_store) == ["20.000"]
    assert _credits(by_code) == ["20.000"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, code",
    [
        ({"tillId": "abc"}, 11025),
        ({"tillId": "999999"}, 11004),
        ({"tillIds": "1,x"}, 11027),
        ({"tillIds": "999999"}, 11027),
        ({"storeId": "999999"}, 11026),
        ({"storeId": "x"}, 11026),
        ({"storeCode": "nowhere"}, 11026),
        ({"tillId": "1", "storeCode": "mall"}, 11028),
        ({"tillIds": "1", "storeId": "1"}, 11028),
    ],
)
def test_till_filter_errors(api_client, two_tills, params, code):
    customer, _ = two_tills

    response = api_client.get(INFO_URL, by_mobile(customer, **params))

    assert response.status_code == 400, response.content
    assert error_code(response) == code


@pytest.mark.django_db
def test_another_orgs_till_is_invalid(api_client, two_tills, other_till):
    customer, _ = two_tills

    response = api_client.get(INFO_URL, by_mobile(customer, tillId=other_till.pk))

    assert error_code(response) == 11004


@pytest.mark.django_db
def test_a_store_without_tills_has_no_ledger_view(api_client, org, two_tills):
    customer, _ = two_tills
    empty = StoreFactory(org=org, code="empty")

    response = api_client.get(INFO_URL, by_mobile(customer, storeId=empty.pk))

    assert error_code(response) == 11026


# Program, entry type, category --------------------------------------------------------------
@pytest.mark.django_db
def test_program_filter_and_till_concept_events(api_client, org, program, till):
    second = ProgramFactory(org=org, name="Second")
    customer = member(org, [program, second])
    earn(customer, second, 100, actor=till)
    group_redemption = services.points_group_redeem(
        customer=customer, points=10, actor=till, idempotency_key=key(), source_program=program
    )

    plain = api_client.get(INFO_URL, by_mobile(customer, programId=program.pk))
    concept = api_client.get(
        INFO_URL,
        by_mobile(customer, programId=program.pk, includeTillConceptEvents="true"),
    )
    second_only = api_client.get(INFO_URL, by_mobile(customer, programId=second.pk))

    assert group_redemption.event_id not in [e["eventLogId"] for e in _events(plain)]
    assert group_redemption.event_id in [e["eventLogId"] for e in _events(concept)]
    assert {d["programId"] for e in _events(second_only) for d in e["entryDetails"]} == {second.pk}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, code",
    [
        ({"programId": "999999"}, 11005),
        ({"programId": "abc"}, 11005),
        ({"includeTillConceptEvents": "true"}, 11001),
        ({"includeTillConceptEvents": "maybe"}, 11001),
        ({"ledgerEntryType": "REFUND"}, 11007),
        ({"pointCategoryType": "GOLD"}, 11008),
        ({"sort": "UP"}, 11001),
        ({"sort": "ASC", "order": "DESC"}, 11001),
        ({"eventFilter": "Lottery"}, 11014),
        ({"eventFilter": ",".join(["TransactionAdd"] * 11)}, 11014),
        ({"excludeEvents": "true"}, 11001),
        ({"alternateCurrencyNames": "DocCoin"}, 9005),
        ({"roles": "PRIMARY"}, 11001),
        ({"limit": "101"}, 11029),
        ({"limit": "0"}, 11029),
        ({"limit": "ten"}, 11029),
        ({"offset": "-1"}, 11001),
        ({"offset": "first"}, 11001),
    ],
)
def test_filter_errors(api_client, history, params, code):
    before = LedgerEvent.objects.count()

    response = api_client.get(INFO_URL, by_mobile(history, **params))

    assert response.status_code == 400, response.content
    assert error_code(response) == code
    assert LedgerEvent.objects.count() == before


@pytest.mark.django_db
def test_another_orgs_program_is_invalid(api_client, history, other_org):
    foreign = ProgramFactory(org=other_org)

    response = api_client.get(INFO_URL, by_mobile(history, programId=foreign.pk))

    assert error_code(response) == 11005


@pytest.mark.django_db
def test_entry_type_and_category_filters(api_client, history):
    debits = api_client.get(INFO_URL, by_mobile(history, ledgerEntryType="DEBIT"))
    openings = api_client.get(
        INFO_URL,
        by_mobile(history, ledgerEntryType="OPENING_BALANCE", pointCategoryType="PROMISED"),
    )
    credits_and_debits = api_client.get(
        INFO_URL, by_mobile(history, ledgerEntryType="credit,debit")
    )
    trigger = api_client.get(
        INFO_URL, by_mobile(history, pointCategoryType="EXTERNAL_TRIGGER_BASED")
    )

    assert _names(debits) == ["PointsRedemption"]
    (opening,) = _events(openings)
    assert [d["pointsCategory"] for d in opening["entryDetails"]] == ["DelayedAccrualPointCategory"]
    assert len(_events(credits_and_debits)) == 4
    assert [d["pointsCategory"] for e in _events(trigger) for d in e["entryDetails"]] == [
        "ExternalTriggerBasedPointCategory"
    ]


@pytest.mark.django_db
def test_event_filter_keeps_or_excludes_events(api_client, history):
    kept = api_client.get(
        INFO_URL, by_mobile(history, eventFilter="TransactionAdd,allocateGoodwillPoints")
    )
    excluded = api_client.get(
        INFO_URL,
        by_mobile(history, eventFilter="TransactionAdd,CustomerRegistration", excludeEvents="true"),
    )

    assert _names(kept) == ["AllocateGoodwillPoints", "TransactionAdd"]
    assert _names(excluded) == ["PointsRedemption", "AllocateGoodwillPoints", "TargetCompleted"]


@pytest.mark.django_db
def test_alternate_currency_entries_only_is_an_empty_view(api_client, history):
    response = api_client.get(
        INFO_URL,
        by_mobile(history, includeAlternateCurrencies="true", excludePointCategories="true"),
    )
    with_currencies = api_client.get(
        INFO_URL, by_mobile(history, includeAlternateCurrencies="true")
    )

    assert response.status_code == 404 and error_code(response) == 11003
    assert len(_events(with_currencies)) == 5


# Sorting and paging ---------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("param", ["sort", "sortOrder", "order"])
def test_sort_ascending(api_client, history, param):
    response = api_client.get(INFO_URL, by_mobile(history, **{param: "asc"}))

    assert _names(response)[0] == "CustomerRegistration"
    assert _names(response)[-1] == "PointsRedemption"


@pytest.mark.django_db
def test_offset_is_a_page_number(api_client, history):
    first = api_client.get(INFO_URL, by_mobile(history, limit=2))
    second = api_client.get(INFO_URL, by_mobile(history, limit=2, offset=1))
    last = api_client.get(INFO_URL, by_mobile(history, limit=2, offset=2))
    beyond = api_client.get(INFO_URL, by_mobile(history, limit=2, offset=3))

    assert _names(first) == ["PointsRedemption", "AllocateGoodwillPoints"]
    assert _names(second) == ["TransactionAdd", "TargetCompleted"]
    assert _names(last) == ["CustomerRegistration"]
    assert second.json()["ledgerDetails"] == {
        "pageNumber": 1,
        "pageSize": 2,
        "totalEntries": 5,
        "pageCount": 3,
    }
    assert beyond.status_code == 404 and error_code(beyond) == 11003


@pytest.mark.django_db
def test_limit_up_to_100(api_client, org, program, till):
    customer = member(org, [program])
    for _ in range(11):
        earn(customer, program, 1, actor=till)

    default = api_client.get(INFO_URL, by_mobile(customer))
    hundred = api_client.get(INFO_URL, by_mobile(customer, limit=100))

    assert len(_events(default)) == 10
    assert len(_events(hundred)) == 12


@pytest.mark.django_db
def test_a_customer_without_ledger_is_11003(api_client, org):
    customer = CustomerFactory(org=org)

    response = api_client.get(INFO_URL, by_mobile(customer))

    assert response.status_code == 404
    assert error_code(response) == 11003


@pytest.mark.django_db
def test_a_page_costs_the_same_queries_however_long_the_ledger(api_client, org, program, till):
    # given two customers, one with 3 events and one with 30
    short = member(org, [program])
    long = member(org, [program])
    for _ in range(2):
        earn(short, program, 1, actor=till)
    for _ in range(29):
        bill = TransactionFactory(org=org, customer=long, till=till)
        earn(long, program, 1, actor=till, transaction=bill)

    # when each reads a page of up to 100
    with CaptureQueriesContext(connection) as few:
        assert api_client.get(INFO_URL, by_mobile(short, limit=100)).status_code == 200
    with CaptureQueriesContext(connection) as many:
        assert api_client.get(INFO_URL, by_mobile(long, limit=100)).status_code == 200

    # then the query count does not grow with the events, and nothing sums entries
    assert len(many.captured_queries) == len(few.captured_queries)
    assert not [q for q in many.captured_queries if "SUM(" in q["sql"].upper()]


# Dates ------------------------------------------------------------------------------------------
@pytest.fixture
def dated(org, program, till):
    """Credits of 1, 2, 3, 4 points on 1 Jan, 1 Mar, 1 Jun and 1 Dec 2024 at noon (Kolkata)."""
    with clock(local(org.time_zone, 2023, 12, 1, 9)):
        customer = member(org, [program])
    for points, month in ((1, 1), (2, 3), (3, 6), (4, 12)):
        with clock(local(org.time_zone, 2024, month, 1, 12)):
            earn(customer, program, points, actor=till)
    return customer


def _dated(api_client, customer, **params) -> list[str]:
    response = api_client.get(INFO_URL, by_mobile(customer, ledgerEntryType="CREDIT", **params))
    if response.status_code == 404:
        return []
    return _credits(response)


@pytest.mark.django_db
def test_date_range_in_the_org_time_zone(api_client, dated):
    # noon in Kolkata: a range ending 11:59:59 leaves the credit out, one ending 12:00:00 keeps it
    assert (
        _dated(api_client, dated, startDate="2024-02-01T00:00:00", endDate="2024-03-01T11:59:59")
        == []
    )
    assert _dated(
        api_client, dated, startDate="2024-02-01T00:00:00", endDate="2024-03-01T12:00:00"
    ) == ["2.000"]


@pytest.mark.django_db
def test_one_date_opens_a_90_day_window_or_a_year(api_client, dated):
    # 1 Jan + 90 days reaches 1 Mar; 90 days before 30 May starts on 1 Mar
    assert _dated(api_client, dated, startDate="2024-01-01T00:00:00") == ["2.000", "1.000"]
    assert _dated(api_client, dated, endDate="2024-05-30T00:00:00") == ["2.000"]
    assert _dated(api_client, dated, endDate="2024-12-01T23:00:00") == ["4.000"]
    assert _dated(
        api_client, dated, startDate="2024-01-01T00:00:00", includeLastOneYearData="true"
    ) == ["4.000", "3.000", "2.000", "1.000"]
    assert _dated(
        api_client, dated, endDate="2024-12-01T23:00:00", includeLastOneYearData="true"
    ) == ["4.000", "3.000", "2.000", "1.000"]


@pytest.mark.django_db
def test_no_dates_or_date_filter_off_is_the_full_history(api_client, dated):
    everything = ["4.000", "3.000", "2.000", "1.000"]

    assert _dated(api_client, dated) == everything
    assert (
        _dated(
            api_client,
            dated,
            isFilterBasedOnDate="false",
            startDate="2024-01-01T00:00:00",
            endDate="garbage",
        )
        == everything
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, code",
    [
        ({"startDate": "2024-01-01"}, 11011),
        ({"endDate": "01/03/2024 10:00"}, 11011),
        ({"startDate": "2024-02-30T00:00:00"}, 11011),
        ({"startDate": "2024-03-01T00:00:00", "endDate": "2024-02-01T00:00:00"}, 11009),
        ({"startDate": "2024-01-01T00:00:00", "endDate": "2024-04-01T00:00:01"}, 11010),
        ({"isFilterBasedOnDate": "sometimes"}, 11001),
    ],
)
def test_date_errors(api_client, dated, params, code):
    response = api_client.get(INFO_URL, by_mobile(dated, **params))

    assert response.status_code == 400, response.content
    assert error_code(response) == code


@pytest.mark.django_db
def test_a_90_day_range_is_allowed(api_client, dated):
    assert _dated(
        api_client, dated, startDate="2024-01-01T00:00:00", endDate="2024-03-31T00:00:00"
    ) == ["2.000", "1.000"]


# User groups ----------------------------------------------------------------------------------
@pytest.fixture
def fleet(org, program, till):
    group = UserGroupFactory(org=org, external_id="fleet-7")
    primary = member(org, [program])
    secondary = member(org, [program])
    join(group, primary, is_primary=True)
    join(group, secondary)
    services.points_goodwill_credit(
        user_group=group,
        program=program,
        points=350,
        actor=till,
        reason="POINTS_ISSUE",
        idempotency_key=key(),
    )
    earn(group, program, 100, actor=till, triggered_by=secondary)
    return group, primary, secondary


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["groupId", "id", "externalId", "primaryUserId"])
def test_group_ledger_by_each_identifier(api_client, fleet, name):
    group, primary, _ = fleet
    value = {
        "groupId": group.pk,
        "id": group.pk,
        "externalId": group.external_id,
        "primaryUserId": primary.pk,
    }[name]

    response = api_client.get(
        INFO_URL,
        {"type": "USERGROUP2", "identifierName": name, "identifierValue": value, "source": "ALL"},
    )

    assert response.status_code == 200, response.content
    assert response.json()["customerDetails"] == {
        "userId": group.pk,
        "externalId": "fleet-7",
        "entityType": "USERGROUP2",
    }


@pytest.mark.django_db
def test_group_ledger_shape_and_triggering_member(api_client, fleet, program):
    group, _, secondary = fleet
    sample = contract("ledger_info_usergroup_response.json")["ledgerEntries"][0]

    response = api_client.get(
        INFO_URL,
        {
            "type": "FLEET",
            "identifierName": "groupId",
            "identifierValue": group.pk,
            "source": "INSTORE",
        },
    )

    entries = _events(response)
    assert response.json()["customerDetails"]["entityType"] == "FLEET"
    assert [e["eventName"] for e in entries] == [
        "TransactionAdd",
        "AllocateGoodwillPoints",
        "CustomerUpdate",
    ]
    for entry in entries:
        assert set(sample) <= set(entry)
        assert entry["customerId"] == -group.pk
    credit, goodwill, _ = entries
    assert goodwill["eventDetails"] == {"reason": "POINTS_ISSUE"}
    assert goodwill["netPointsOnEvent"] == "350.000" and goodwill["customerDetails"] is None
    assert credit["customerDetails"] == {
        "firstName": secondary.first_name,
        "lastName": secondary.last_name,
        "identifier": {"type": "mobile", "value": secondary.mobile, "role": "SECONDARY"},
        "userId": secondary.pk,
    }


@pytest.mark.django_db
def test_another_orgs_group_is_not_found(other_client, fleet):
    group, _, _ = fleet

    response = other_client.get(
        INFO_URL,
        {
            "type": "USERGROUP2",
            "identifierName": "groupId",
            "identifierValue": group.pk,
            "source": "ALL",
        },
    )

    assert response.status_code == 404
    assert error_code(response) == 1632


@pytest.mark.django_db
def test_group_identifier_errors(api_client, fleet):
    base = {"type": "USERGROUP2", "source": "ALL"}

    bad_name = api_client.get(INFO_URL, {**base, "identifierName": "mobile", "identifierValue": 1})
    bad_id = api_client.get(INFO_URL, {**base, "identifierName": "groupId", "identifierValue": "x"})

    assert error_code(bad_name) == 8013
    assert error_code(bad_id) == 8013


# Connected orgs (v2.1) ------------------------------------------------------------------------
@pytest.fixture
def family(program):
    parent = OrgFactory(name="Parent brand")
    child = OrgFactory(name="Child brand", parent=parent)
    parent_till = TillFactory(org=parent, code="parent.till")
    child_program = ProgramFactory(org=child, name="Child program")
    child_till = TillFactory(org=child, code="child.till")
    customer = member(child, [child_program])
    earn(customer, child_program, 100, actor=child_till)
    return parent_till, child, customer


@pytest.mark.django_db
def test_connected_org_read_carries_org_id_and_closing_balances(family):
    parent_till, child, customer = family
    sample = contract("ledger_info_v21_connected_org_response.json")

    response = till_client(parent_till).get(
        INFO_V21_URL,
        by_mobile(customer, identifierName="externalid", identifierValue=customer.external_id),
        HTTP_DATA_SCOPE="ALL",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == set(sample)
    assert set(body["ledgerDetails"]) == set(sample["ledgerDetails"])
    assert {entry["orgId"] for entry in body["ledgerEntries"]} == {child.pk}
    for entry in body["ledgerEntries"]:
        assert set(entry) == set(sample["ledgerEntries"][0])
    balances = {
        b["pointsCategory"]: b["closingBalance"]
        for b in body["ledgerDetails"]["ledgerClosingBalance"]
    }
    assert balances == {
        "Main": "100.000",
        "DelayedAccrualPointCategory": "0.000",
        "ExternalTriggerBasedPointCategory": "0.000",
    }


@pytest.mark.django_db
def test_connected_org_read_with_other_scope(family):
    parent_till, child, customer = family

    response = till_client(parent_till).get(
        INFO_V21_URL,
        by_mobile(customer),
        HTTP_DATA_SCOPE="OTHER",
        HTTP_DATA_SCOPE_ORG=str(child.pk),
    )

    assert response.status_code == 200, response.content
    assert response.json()["ledgerEntries"][0]["orgId"] == child.pk


@pytest.mark.django_db
def test_v21_needs_the_data_scope_header(family):
    parent_till, _, customer = family

    response = till_client(parent_till).get(INFO_V21_URL, by_mobile(customer))

    assert response.status_code == 400
    assert error_code(response) == 1064


@pytest.mark.django_db
def test_child_customer_is_invisible_in_the_parents_own_scope(family):
    parent_till, _, customer = family

    v2 = till_client(parent_till).get(INFO_URL, by_mobile(customer))
    v21 = till_client(parent_till).get(INFO_V21_URL, by_mobile(customer), HTTP_DATA_SCOPE="SELF")

    assert error_code(v2) == 8015
    assert error_code(v21) == 8015


@pytest.mark.django_db
def test_own_scope_entries_have_null_org_id(api_client, history):
    response = api_client.get(INFO_V21_URL, by_mobile(history), HTTP_DATA_SCOPE="SELF")

    assert {entry["orgId"] for entry in _events(response)} == {None}


@pytest.mark.django_db
def test_promised_points_show_in_their_category(api_client, org, program, till):
    customer = member(org, [program])
    earn(
        customer,
        program,
        40,
        actor=till,
        category=PointsCategory.PROMISED,
        matures_at=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC),
    )

    response = api_client.get(INFO_URL, by_mobile(customer, pointCategoryType="PROMISED"))

    newest = _events(response)[0]
    assert newest["entryDetails"][0]["pointsCategory"] == "DelayedAccrualPointCategory"
    assert newest["entryDetails"][0]["points"] == "40.000"
