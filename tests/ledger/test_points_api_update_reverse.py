"""PUT /v2/points/updateRedemption and POST /v2/points/reverse (§11.6)."""

from __future__ import annotations

import pytest

from ledger import services
from ledger.models import EventName, LedgerEvent, PointsRedemption
from tests.ledger.factories import assert_consistent, balance, earn, key, member, snapshot
from tests.ledger.points_api import example, keys_of, v2_codes
from tests.members.factories import UserGroupFactory

UPDATE = "/v2/points/updateRedemption"
REVERSE = "/v2/points/reverse"


@pytest.fixture
def customer(org, program, till):
    customer = member(org, [program], mobile="919731013853")
    earn(customer, program, 500, actor=till)
    return customer


@pytest.fixture
def redemption(customer, program, till):
    return services.points_redeem(
        customer=customer,
        program=program,
        points=100,
        actor=till,
        idempotency_key=key(),
        transaction_number="B-1",
        external_reference="ACR-1",
        notes="Redemption by SMS",
    )


def update_body(redemption, customer, **changes) -> dict:
    body = example("points_v2_update_redemption_request.json")
    body["redemptionId"] = redemption.code
    body["entity"]["identifierValue"] = customer.mobile
    body.update(changes)
    return body


# updateRedemption -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_update_redemption_with_the_sample_body(api_client, customer, redemption, program, till):
    # given
    sample = example("points_v2_update_redemption_response.json")

    # when
    response = api_client.put(UPDATE, update_body(redemption, customer), format="json")

    # then
    assert response.status_code == 200, response.content
    data = response.json()
    assert keys_of(sample) <= keys_of(data)
    assert data["redemptionId"] == redemption.code
    assert (data["billNumber"], data["redemptionPurpose"]) == (
        "txn-79",
        "Update redemption details",
    )
    assert data["pointsRedeemed"] == 100 and data["programId"] == program.pk
    assert data["customerId"] == customer.pk and data["tillId"] == till.pk
    assert data["externalReferenceNumber"] == "ACR-1"
    assert data["pointDeductionList"] == [{"programId": program.pk, "deductedPoints": 100}]
    assert isinstance(data["redemptionTime"], int) and data["redemptionDate"].endswith("Z")
    redemption.refresh_from_db()
    assert redemption.transaction_number == "txn-79"
    assert redemption.custom_fields == {"card_number": "123456"}
    assert redemption.points == 100
    assert balance(customer, program) == 400


@pytest.mark.django_db
def test_update_redemption_by_external_reference_and_bill_id(api_client, customer, redemption):
    body = {
        "externalReferenceNumber": "ACR-1",
        "billId": "1234567890123456789",
        "entity": {"type": "CUSTOMER", "identifierType": "id", "identifierValue": customer.pk},
    }

    response = api_client.put(UPDATE, body, format="json")
    again = api_client.put(UPDATE, body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["billId"] == 1234567890123456789
    assert again.json() == response.json() | {"redemptionTime": again.json()["redemptionTime"]}
    redemption.refresh_from_db()
    assert redemption.bill_id == 1234567890123456789


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"externalReferenceNumber": "ACR-1"}, 749),
        ({"redemptionId": ""}, 749),
        ({"billNumber": "", "purpose": "", "customFields": {}}, 748),
        ({"entity": {"type": "STORE", "identifierType": "mobile", "identifierValue": "1"}}, 1212),
        ({"entity": None}, 1219),
        ({"entity": {"type": "CUSTOMER", "identifierType": "mobile", "identifierValue": ""}}, 1219),
        ({"redemptionId": "ZZZZZZ"}, 902),
        ({"redemptionId": "not a code!"}, 901),
    ],
)
@pytest.mark.django_db
def test_update_redemption_errors_change_nothing(api_client, customer, redemption, changes, code):
    before = PointsRedemption.objects.values().get(pk=redemption.pk)

    response = api_client.put(UPDATE, update_body(redemption, customer, **changes), format="json")

    assert response.status_code in (400, 404)
    assert v2_codes(response.json()) == [code]
    assert PointsRedemption.objects.values().get(pk=redemption.pk) == before


@pytest.mark.django_db
def test_update_by_an_ambiguous_external_reference_is_750(
    api_client, customer, program, till, redemption
):
    # given a second redemption with the same external reference number
    services.points_redeem(
        customer=customer,
        program=program,
        points=5,
        actor=till,
        idempotency_key=key(),
        external_reference="ACR-1",
    )
    body = {
        "externalReferenceNumber": "ACR-1",
        "purpose": "which one?",
        "entity": {
            "type": "CUSTOMER",
            "identifierType": "mobile",
            "identifierValue": (customer.mobile),
        },
    }

    # when
    response = api_client.put(UPDATE, body, format="json")

    # then
    assert response.status_code == 400
    assert v2_codes(response.json()) == [750]
    assert not PointsRedemption.objects.filter(purpose="which one?").exists()


@pytest.mark.django_db
def test_update_redemption_of_another_customer_is_1219(api_client, org, program, redemption):
    other = member(org, [program])
    before = PointsRedemption.objects.values().get(pk=redemption.pk)

    response = api_client.put(UPDATE, update_body(redemption, other), format="json")

    assert v2_codes(response.json()) == [1219]
    assert PointsRedemption.objects.values().get(pk=redemption.pk) == before


@pytest.mark.django_db
def test_update_redemption_of_a_group(api_client, org, program, till):
    group = UserGroupFactory(org=org)
    earn(group, program, 50, actor=till)
    redemption = services.points_redeem(
        user_group=group, program=program, points=20, actor=till, idempotency_key=key()
    )
    body = {
        "redemptionId": redemption.code,
        "purpose": "fleet fuel",
        "entity": {"type": "USERGROUP2", "identifierType": "id", "identifierValue": group.pk},
    }

    response = api_client.put(UPDATE, body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["userGroup2Id"] == group.pk
    assert response.json()["customerId"] is None


@pytest.mark.django_db
def test_another_org_cannot_update_our_redemption(other_client, customer, redemption):
    before = PointsRedemption.objects.values().get(pk=redemption.pk)

    response = other_client.put(UPDATE, update_body(redemption, customer), format="json")

    # The other org finds neither the customer nor the redemption.
    assert v2_codes(response.json()) == [1219]
    assert PointsRedemption.objects.values().get(pk=redemption.pk) == before


@pytest.mark.django_db
def test_update_redemption_bad_bill_id_is_400(api_client, customer, redemption):
    response = api_client.put(
        UPDATE, update_body(redemption, customer, billId="12345678901234567890"), format="json"
    )

    assert response.status_code == 400


# reverse ----------------------------------------------------------------------------------------
def reverse_body(redemption, customer, **changes) -> dict:
    body = example("points_v2_reverse_request.json")
    body["redemptionId"] = redemption.code
    body["identifier"]["value"] = customer.mobile
    body.update(changes)
    return body


@pytest.mark.django_db
def test_reverse_with_the_sample_body(api_client, org, customer, redemption, program):
    # given
    sample = example("points_v2_reverse_response.json")

    # when
    response = api_client.post(REVERSE, reverse_body(redemption, customer), format="json")

    # then
    assert response.status_code == 200, response.content
    data = response.json()
    assert keys_of(sample) <= keys_of(data)
    assert data["redemptionId"] == redemption.code
    assert (data["pointsToBeReversed"], data["pointsReversed"]) == (10, 10)
    assert data["orgId"] == org.pk and data["customerId"] == customer.pk
    assert data["identifier"] == {"type": "mobile", "value": customer.mobile}
    event = LedgerEvent.objects.get(pk=int(data["reversalId"]))
    assert event.event_name == EventName.POINTS_REDEMPTION_REVERSAL
    assert event.corrects_id == redemption.event_id
    assert balance(customer, program) == 410
    assert_consistent(org)


@pytest.mark.django_db
def test_reverse_everything_that_is_left_then_3802(api_client, org, customer, redemption, program):
    body = {"redemptionId": redemption.code}
    full = api_client.post(REVERSE, body, format="json")
    before = snapshot(org)

    again = api_client.post(REVERSE, body, format="json")

    assert full.json()["pointsReversed"] == 100
    assert balance(customer, program) == 500
    assert v2_codes(again.json()) == [3802]
    assert snapshot(org) == before


@pytest.mark.parametrize(
    ("changes", "code", "status"),
    [
        ({"redemptionId": "bad id!"}, 901, 400),
        ({"redemptionId": "ZZZZZZ"}, 902, 404),
        ({"pointsToBeReversed": 101}, 810, 400),
        ({"pointsToBeReversed": 0}, 801, 400),
        ({"identifier": {"type": "mobile", "value": "919000000055"}}, 8015, 404),
        ({"identifier": {"type": "card", "value": "1"}}, 8013, 400),
    ],
)
@pytest.mark.django_db
def test_reverse_errors_change_nothing(
    api_client, org, customer, redemption, changes, code, status
):
    before = snapshot(org)

    response = api_client.post(
        REVERSE, reverse_body(redemption, customer, **changes), format="json"
    )

    assert response.status_code == status
    assert v2_codes(response.json()) == [code]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_reverse_with_another_customers_identifier_is_902(
    api_client, org, program, customer, redemption
):
    other = member(org, [program])
    before = snapshot(org)

    response = api_client.post(REVERSE, reverse_body(redemption, other), format="json")

    assert v2_codes(response.json()) == [902]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_reverse_replay_by_idempotency_key(api_client, customer, redemption, program):
    body = {"redemptionId": redemption.code, "pointsToBeReversed": 30}
    headers = {"HTTP_IDEMPOTENCY_KEY": "reverse-1"}
    first = api_client.post(REVERSE, body, format="json", **headers).json()

    again = api_client.post(REVERSE, body, format="json", **headers).json()
    conflict = api_client.post(
        REVERSE, {**body, "pointsToBeReversed": 31}, format="json", **headers
    )

    assert again["reversalId"] == first["reversalId"]
    assert balance(customer, program) == 430
    assert conflict.status_code == 409 and v2_codes(conflict.json()) == [409]


@pytest.mark.django_db
def test_another_org_cannot_reverse_our_redemption(other_client, org, redemption):
    before = snapshot(org)

    response = other_client.post(REVERSE, {"redemptionId": redemption.code}, format="json")

    assert v2_codes(response.json()) == [902]
    assert snapshot(org) == before
