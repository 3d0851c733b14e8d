"""GET /v2/pointsLedger/getCustomerLedgerBalance: current and as-of closing balances."""

from __future__ import annotations

import datetime

import pytest

from ledger import services
from members.models import PointsCategory
from tests.ledger.api_helpers import (
    BALANCE_URL,
    POINTS_TEXT,
    by_mobile,
    clock,
    contract,
    error_code,
    local,
)
from tests.ledger.factories import earn, key, member
from tests.members.factories import ProgramFactory, TillFactory, UserGroupFactory


def _balances(response) -> dict[tuple[int, str], str]:
    assert response.status_code == 200, response.content
    return {
        (row["programId"], row["pointsCategory"]): row["closingBalance"]
        for row in response.json()["ledgerDetails"]["ledgerClosingBalance"]
    }


@pytest.fixture
def timeline(org, program, till):
    """+100 on 1 Mar, -30 on 2 Mar, +50 at another till on 3 Mar, promised 40 on 4 Mar."""
    other_till = TillFactory(org=org, code="mall.till")
    with clock(local(org.time_zone, 2024, 2, 1, 9)):
        customer = member(org, [program])
    with clock(local(org.time_zone, 2024, 3, 1, 12)):
        earn(customer, program, 100, actor=till)
    with clock(local(org.time_zone, 2024, 3, 2, 12)):
        services.points_redeem(
            customer=customer, program=program, points=30, actor=till, idempotency_key=key()
        )
    with clock(local(org.time_zone, 2024, 3, 3, 12)):
        earn(customer, program, 50, actor=other_till)
    with clock(local(org.time_zone, 2024, 3, 4, 12)):
        earn(
            customer,
            program,
            40,
            actor=till,
            category=PointsCategory.PROMISED,
            matures_at=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC),
        )
    return customer, other_till


@pytest.mark.django_db
def test_current_balance_per_program_and_category(api_client, org, program, timeline):
    customer, _ = timeline
    sample = contract("ledger_balance_response.json")

    response = api_client.get(BALANCE_URL, by_mobile(customer))

    body = response.json()
    assert set(body) == set(sample)
    assert set(body["ledgerDetails"]) == set(sample["ledgerDetails"])
    rows = body["ledgerDetails"]["ledgerClosingBalance"]
    for row in rows:
        assert set(row) == set(sample["ledgerDetails"]["ledgerClosingBalance"][0])
        assert POINTS_TEXT.match(row["closingBalance"])
        assert row["programName"] == program.name
    assert _balances(response) == {
        (program.pk, "Main"): "120.000",
        (program.pk, "DelayedAccrualPointCategory"): "40.000",
        (program.pk, "ExternalTriggerBasedPointCategory"): "0.000",
    }
    assert body["customerDetails"]["entityType"] == "CUSTOMER"
    assert body["ledgerDetails"]["totalEntries"] == 5
    assert body["ledgerDetails"]["pageCount"] == 1


@pytest.mark.django_db
def test_balance_as_of_an_end_date(api_client, org, program, timeline):
    customer, _ = timeline

    after_redemption = api_client.get(
        BALANCE_URL, by_mobile(customer, endDate="2024-03-02T23:59:59")
    )
    before_redemption = api_client.get(
        BALANCE_URL, by_mobile(customer, endDate="2024-03-02T11:59:59")
    )

    assert _balances(after_redemption)[(program.pk, "Main")] == "70.000"
    assert _balances(after_redemption)[(program.pk, "DelayedAccrualPointCategory")] == "0.000"
    assert _balances(before_redemption)[(program.pk, "Main")] == "100.000"
    assert after_redemption.json()["ledgerDetails"]["totalEntries"] == 3


@pytest.mark.django_db
def test_balance_of_a_filtered_view_is_its_last_entrys(api_client, org, program, timeline):
    customer, other_till = timeline

    debits = api_client.get(BALANCE_URL, by_mobile(customer, ledgerEntryType="DEBIT"))
    at_till = api_client.get(BALANCE_URL, by_mobile(customer, tillId=other_till.pk))
    promised = api_client.get(BALANCE_URL, by_mobile(customer, pointCategoryType="PROMISED"))

    # the view's last debit left 70 on the main account; the other till's credit left 120
    assert _balances(debits) == {(program.pk, "Main"): "70.000"}
    assert _balances(at_till) == {(program.pk, "Main"): "120.000"}
    assert _balances(promised) == {(program.pk, "DelayedAccrualPointCategory"): "40.000"}


@pytest.mark.django_db
def test_balance_per_program(api_client, org, program, till, timeline):
    customer, _ = timeline
    second = ProgramFactory(org=org, name="Second")
    earn(customer, second, 7, actor=till)

    response = api_client.get(BALANCE_URL, by_mobile(customer, programId=second.pk))

    # a program added after registration has only the accounts that were written to
    assert _balances(response) == {(second.pk, "Main"): "7.000"}


@pytest.mark.django_db
def test_group_balance(api_client, org, program, till):
    group = UserGroupFactory(org=org)
    earn(group, program, 350, actor=till)

    response = api_client.get(
        BALANCE_URL,
        {
            "type": "USERGROUP2",
            "identifierName": "externalId",
            "identifierValue": group.external_id,
            "source": "ALL",
            "pointCategoryType": "REGULAR",
        },
    )

    assert _balances(response) == {(program.pk, "Main"): "350.000"}
    assert response.json()["customerDetails"]["entityType"] == "USERGROUP2"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, code",
    [
        ({"limit": "11"}, 11006),
        ({"endDate": "2024-03-02"}, 11011),
        ({"ledgerEntryType": "X"}, 11007),
        ({"pointCategoryType": "X"}, 11008),
        ({"programId": "424242"}, 11005),
        ({"includeTillConceptEvents": "true"}, 11001),
        ({"tillId": "x"}, 11025),
        ({"source": ""}, 11013),
    ],
)
def test_balance_errors(api_client, timeline, params, code):
    customer, _ = timeline

    response = api_client.get(BALANCE_URL, by_mobile(customer, **params))

    assert response.status_code == 400, response.content
    assert error_code(response) == code


@pytest.mark.django_db
def test_balance_of_another_orgs_customer_is_not_found(other_client, timeline):
    customer, _ = timeline

    response = other_client.get(BALANCE_URL, by_mobile(customer))

    assert response.status_code == 404
    assert error_code(response) == 8015
