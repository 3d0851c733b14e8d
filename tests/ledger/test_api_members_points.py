"""Points figures the ledger fills in the members read APIs: userGroup2 expiredPoints and
expirySchedules, customer embed=points (pointsSummary) and embed=mlp (loyaltyProgramDetails)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from ledger import services
from ledger.selectors import points_program_summaries
from members.models import PointsCategory
from tests.ledger.api_helpers import clock, local
from tests.ledger.factories import earn, key, member
from tests.members.factories import CustomerFactory, ProgramFactory, UserGroupFactory

GROUP_URL = "/v2/userGroup2"


@pytest.fixture
def expiring_group(org, program, till):
    """A group whose 10 points lapsed on 10 Jan 2024 (expired by the job), holding 7 points that
    expire on 31 Dec 2099 and 5 more on 30 Jun 2099, plus promised points."""
    group = UserGroupFactory(org=org)
    with clock(local(org.time_zone, 2024, 1, 1, 12)):
        earn(group, program, 10, actor=till, expires_at=datetime.date(2024, 1, 10))
    services.points_expire(user_group=group, as_of=datetime.date(2024, 1, 11), actor=None)
    earn(group, program, 7, actor=till, expires_at=datetime.date(2099, 12, 31))
    earn(group, program, 5, actor=till, expires_at=datetime.date(2099, 6, 30))
    earn(
        group,
        program,
        3,
        actor=till,
        category=PointsCategory.PROMISED,
        matures_at=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC),
        expires_at=datetime.date(2099, 3, 1),
    )
    return group


@pytest.mark.django_db
def test_group_expired_points_and_schedules_when_asked(api_client, program, expiring_group):
    response = api_client.get(
        GROUP_URL,
        {"id": expiring_group.pk, "expiredPoints": "true", "expirySchedules": "true"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["expiredPoints"] == [
        {"points": 10.0, "expiredOn": "2024-01-10", "programId": program.pk}
    ]
    assert body["expirySchedules"] == [
        {"points": 5.0, "expiryDate": "2099-06-30", "programId": program.pk},
        {"points": 7.0, "expiryDate": "2099-12-31", "programId": program.pk},
    ]
    assert body["gapToUpgrade"] == []


@pytest.mark.django_db
def test_group_points_history_is_left_out_unless_asked(api_client, expiring_group):
    response = api_client.get(GROUP_URL, {"id": expiring_group.pk, "expiredPoints": "false"})

    assert response.json()["expiredPoints"] == []
    assert response.json()["expirySchedules"] == []


@pytest.mark.django_db
def test_another_orgs_group_has_no_points_to_show(other_client, expiring_group):
    response = other_client.get(GROUP_URL, {"id": expiring_group.pk, "expiredPoints": "true"})

    assert response.status_code == 404


@pytest.mark.django_db
def test_program_summaries_come_from_stored_balances(org, program, till):
    # given a customer with regular, promised and lapsed points
    customer = member(org, [program])
    with clock(local(org.time_zone, 2024, 1, 1, 12)):
        earn(customer, program, 10, actor=till, expires_at=datetime.date(2024, 1, 10))
    earn(customer, program, 90, actor=till)
    earn(
        customer,
        program,
        4,
        actor=till,
        category=PointsCategory.PROMISED,
        matures_at=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC),
    )
    services.points_redeem(
        customer=customer, program=program, points=20, actor=till, idempotency_key=key()
    )
    other_program = ProgramFactory(org=org)

    summaries = points_program_summaries(customer=customer)

    # then the lapsed 10 (not expired by the job yet) are held but not available
    summary = summaries[program.pk]
    assert summary.regular == Decimal("80")
    assert summary.available == Decimal("70")
    assert summary.promised == Decimal("4")
    assert other_program.pk not in summaries


@pytest.fixture
def points_customer(org, program, till):
    """Regular 80 (of which 10 lapsed, not yet expired by the job) and promised 4 points."""
    customer = member(org, [program])
    with clock(local(org.time_zone, 2024, 1, 1, 12)):
        earn(customer, program, 10, actor=till, expires_at=datetime.date(2024, 1, 10))
    earn(customer, program, 90, actor=till)
    earn(
        customer,
        program,
        4,
        actor=till,
        category=PointsCategory.PROMISED,
        matures_at=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC),
    )
    services.points_redeem(
        customer=customer, program=program, points=20, actor=till, idempotency_key=key()
    )
    return customer


@pytest.mark.django_db
def test_customer_embed_mlp_carries_the_stored_points(api_client, program, points_customer):
    response = api_client.get(f"/v2/customers/{points_customer.pk}", {"embed": "mlp"})

    assert response.status_code == 200, response.content
    (details,) = response.json()["loyaltyProgramDetails"]
    assert details["programId"] == program.pk
    assert details["loyaltyPoints"] == 80
    assert details["totalAvailablePoints"] == 70
    assert details["delayedPoints"] == 4
    assert "pointsSummary" not in response.json()


@pytest.mark.django_db
def test_customer_embed_points_summarises_the_default_program(
    api_client, org, program, points_customer
):
    response = api_client.get(f"/v2/customers/{points_customer.pk}", {"embed": "points,mlp"})

    body = response.json()
    assert body["pointsSummary"] == {
        "loyaltyPoints": 80,
        "cumulativePurchases": 0,
        "currentSlab": None,
        "slabSNo": None,
        "nextSlab": None,
        "nextSlabSerialNumber": None,
        "nextSlabDescription": None,
        "slabExpiryDate": None,
    }
    assert "loyaltyProgramDetails" in body


@pytest.mark.django_db
def test_customer_lookup_embeds_points_too(api_client, points_customer):
    response = api_client.get(
        "/v2/customers/lookup/customerDetails",
        {
            "identifierName": "mobile",
            "identifierValue": points_customer.mobile,
            "source": "INSTORE",
            "embed": "points",
        },
    )

    assert response.status_code == 200, response.content
    assert response.json()["pointsSummary"]["loyaltyPoints"] == 80


@pytest.mark.django_db
def test_customer_without_points_accounts_shows_zero(api_client, org, program):
    customer = CustomerFactory(org=org)

    response = api_client.get(f"/v2/customers/{customer.pk}", {"embed": "points"})

    assert response.json()["pointsSummary"]["loyaltyPoints"] == 0
