"""POST /v2/customers/lookup/negativePointsAdjustment (§11.9)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ledger.models import EventName, LedgerEvent
from members.models import PointsCategory
from tests.ledger.factories import assert_consistent, balance, earn, member, snapshot
from tests.ledger.points_api import example, url, v2_codes
from tests.members.factories import ProgramFactory, TransactionFactory

ADJUST = "/v2/customers/lookup/negativePointsAdjustment"


@pytest.fixture
def customer(org, program, till):
    customer = member(org, [program], external_id="ADJ-1")
    earn(customer, program, 770, actor=till)
    return customer


def adjust_url(customer, name="externalId", value=None, **params) -> str:
    return url(
        ADJUST,
        identifierName=name,
        identifierValue=value if value is not None else customer.external_id,
        source="INSTORE",
        **params,
    )


@pytest.mark.django_db
def test_adjustment_with_the_sample_body(api_client, org, customer, program):
    # given
    body = example("points_v2_negative_adjustment_request.json")

    # when
    response = api_client.post(adjust_url(customer), body, format="json")

    # then the answer is the sample's, to the character
    assert response.status_code == 200, response.content
    assert response.json() == example("points_v2_negative_adjustment_response.json")
    event = LedgerEvent.objects.get(event_name=EventName.MANUAL_POINTS_ADJUSTMENT)
    assert event.customer_id == customer.pk and event.net_points == -100
    assert event.reason == "Extra points were issued"
    assert balance(customer, program) == 670
    assert_consistent(org)


@pytest.mark.django_db
def test_adjustment_by_mobile_and_email(api_client, customer, program):
    body = {"pointsToBeAdjusted": 10, "reasonOfReturn": "Fix"}

    by_mobile = api_client.post(
        adjust_url(customer, "mobile", customer.mobile), body, format="json"
    )
    by_email = api_client.post(adjust_url(customer, "email", customer.email), body, format="json")

    assert by_mobile.json()["pointsAvailable"] == "760.000"
    assert by_email.json()["pointsAvailable"] == "750.000"


@pytest.mark.django_db
def test_adjustment_of_a_bills_points_by_the_award_sample(api_client, org, customer, program, till):
    # given the customer earned 50 points on a bill
    bill = TransactionFactory(org=org, customer=customer, till=till)
    earn(customer, program, 50, actor=till, transaction=bill)
    body = example("points_v2_negative_adjustment_by_award_request.json")
    body["pointsAwardedId"] = bill.pk

    # when
    response = api_client.post(adjust_url(customer), body, format="json")

    # then the bill's own lot paid for it
    assert response.status_code == 200, response.content
    assert response.json()["pointsAvailable"] == "810.000"
    event = LedgerEvent.objects.get(event_name=EventName.MANUAL_POINTS_ADJUSTMENT)
    assert event.details == {"pointsAwardedId": bill.pk, "pointsAwardedRefType": "bill_regular"}
    assert event.entries.get().lot_movements.get().lot.transaction_id == bill.pk


@pytest.mark.django_db
def test_adjustment_by_the_promotion_sample(api_client, customer, program, till):
    body = example("points_v2_negative_adjustment_by_promotion_request.json")
    body["programId"] = program.pk
    earn(
        customer,
        program,
        30,
        actor=till,
        promotion_ref={"id": "7", "identifier": body["promotionIdentifier"], "name": "Promo"},
    )

    response = api_client.post(adjust_url(customer), body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["pointsAvailable"] == "790.000"


@pytest.mark.django_db
def test_adjustment_of_promised_points(api_client, customer, program, till):
    earn(
        customer,
        program,
        40,
        actor=till,
        category=PointsCategory.PROMISED,
        matures_at=timezone.now() + timedelta(days=10),
    )
    body = {
        "pointsToBeAdjusted": "15",
        "reasonOfReturn": "Order cancelled",
        "pointCategoryTypes": "PROMISED",
    }

    response = api_client.post(adjust_url(customer), body, format="json")

    assert response.json()["pointsAvailable"] == "25.000"
    assert balance(customer, program, PointsCategory.PROMISED) == 25
    assert balance(customer, program) == 770


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"reasonOfReturn": ""}, 8882),
        ({"reasonOfReturn": None}, 8882),
        ({"pointsToBeAdjusted": "0"}, 8888),
        ({"pointsToBeAdjusted": "771"}, 8907),
        ({"pointsToBeAdjusted": "1.5"}, 8906),
        ({"pointsToBeAdjusted": "-5"}, 801),
        ({"pointsToBeAdjusted": "ten"}, 801),
        ({"pointsToBeAdjusted": "1e30"}, 801),
        ({"pointsToBeAdjusted": "NaN"}, 801),
        ({"pointsToBeAdjusted": None}, 801),
        ({"programId": 999999}, 885),
        ({"promotionIdentifier": "p-1"}, 8887),
        ({"promotionId": "404"}, 8874),
        ({"pointsAwardedId": 999999, "pointsAwardedRefType": "bill_regular"}, 8877),
        ({"pointsAwardedId": "x1", "pointsAwardedRefType": "bill_regular"}, 8877),
        ({"pointsAwardedId": 1, "pointsAwardedRefType": "coupon"}, 9975),
        ({"valueToBeAdjusted": "10", "alternateCurrencyName": "coins"}, 8911),
        ({"pointCategoryTypes": "GOLD"}, 400),
    ],
)
@pytest.mark.django_db
def test_adjustment_errors_change_nothing(api_client, org, customer, changes, code):
    before = snapshot(org)
    body = {**example("points_v2_negative_adjustment_request.json"), **changes}
    body = {key: value for key, value in body.items() if value is not None}

    response = api_client.post(adjust_url(customer), body, format="json")

    assert response.status_code == 400, response.content
    assert v2_codes(response.json()) == [code]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_adjustment_alternate_currency_sample_is_8911(api_client, org, customer):
    before = snapshot(org)

    response = api_client.post(
        adjust_url(customer),
        example("points_v2_negative_adjustment_alt_currency_request.json"),
        format="json",
    )

    assert v2_codes(response.json()) == [8911]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_adjustment_in_a_program_the_customer_is_not_in_is_1218(api_client, org, customer):
    second = ProgramFactory(org=org, name="Second")
    before = snapshot(org)
    body = {**example("points_v2_negative_adjustment_request.json"), "programId": second.pk}

    response = api_client.post(adjust_url(customer), body, format="json")

    assert v2_codes(response.json()) == [1218]
    assert snapshot(org) == before


@pytest.mark.parametrize(
    ("params", "code", "status"),
    [
        ({"name": "id"}, 8013, 400),
        ({"name": "externalId", "value": "NOBODY"}, 8015, 404),
        ({"name": "mobile", "value": "12"}, 8013, 400),
    ],
)
@pytest.mark.django_db
def test_adjustment_lookup_errors(api_client, org, customer, params, code, status):
    before = snapshot(org)

    response = api_client.post(
        adjust_url(customer, **params),
        example("points_v2_negative_adjustment_request.json"),
        format="json",
    )

    assert response.status_code == status
    assert v2_codes(response.json()) == [code]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_adjustment_with_a_bad_source_is_8003(api_client, org, customer):
    response = api_client.post(
        url(ADJUST, identifierName="externalId", identifierValue="ADJ-1", source="MARS"),
        example("points_v2_negative_adjustment_request.json"),
        format="json",
    )

    assert v2_codes(response.json()) == [8003]


@pytest.mark.django_db
def test_adjustment_replay_by_idempotency_key(api_client, customer, program):
    body = example("points_v2_negative_adjustment_request.json")
    headers = {"HTTP_IDEMPOTENCY_KEY": "adjust-1"}
    first = api_client.post(adjust_url(customer), body, format="json", **headers)

    again = api_client.post(adjust_url(customer), body, format="json", **headers)
    conflict = api_client.post(
        adjust_url(customer), {**body, "pointsToBeAdjusted": "5"}, format="json", **headers
    )

    assert first.json() == again.json()
    assert balance(customer, program) == 670
    assert conflict.status_code == 409 and v2_codes(conflict.json()) == [409]


@pytest.mark.django_db
def test_another_org_cannot_adjust_our_customer(other_client, org, customer):
    before = snapshot(org)

    response = other_client.post(
        adjust_url(customer), example("points_v2_negative_adjustment_request.json"), format="json"
    )

    assert response.status_code == 404 and v2_codes(response.json()) == [8015]
    assert snapshot(org) == before
