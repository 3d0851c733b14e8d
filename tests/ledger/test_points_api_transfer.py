"""Points transfers through the HTTP API: checks, OTP, customer and group transfers, history
(§11.7)."""

from __future__ import annotations

import pytest

from ledger import services
from ledger.models import EventName, LedgerEvent
from loyalty_site.core import sms
from members.models import UserGroupMembership
from tests.ledger.factories import assert_consistent, balance, earn, key, member, snapshot
from tests.ledger.points_api import (
    example,
    keys_of,
    last_code,
    sent_codes,
    url,
    v2_codes,
)
from tests.members.factories import ProgramFactory, UserGroupFactory

IS_TRANSFERRABLE = "/v2/points/isTransferrable"
TRANSFER = "/v2/points/transfer"
GROUP_IS_TRANSFERRABLE = "/v2/points/userGroup2/isTransferrable"
GROUP_TRANSFER = "/v2/points/userGroup2/transfer"


@pytest.fixture(autouse=True)
def _no_sms_yet():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def sender(org, program, till):
    customer = member(org, [program], mobile="917799000000", first_name="Tom")
    earn(customer, program, 500, actor=till)
    return customer


@pytest.fixture
def receiver(org, program):
    return member(org, [program], first_name="James", last_name="Thomas")


def transfer_body(sample: str, sender, receiver, program, **changes) -> dict:
    body = example(sample)
    body["programId"] = program.pk
    body["fromCustomerIdentifier"]["value"] = sender.mobile
    body["toCustomerIdentifier"]["value"] = str(receiver.pk)
    body.pop("code", None)
    body.update(changes)
    return body


# isTransferrable --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_is_transferrable_with_the_sample_body(api_client, sender, receiver, program):
    # given
    sample = example("points_v2_is_transferrable_response.json")
    body = transfer_body("points_v2_is_transferrable_request.json", sender, receiver, program)

    # when
    response = api_client.post(IS_TRANSFERRABLE, body, format="json")

    # then
    assert response.status_code == 200, response.content
    data = response.json()
    assert keys_of(sample) <= keys_of(data)
    item = data["data"][0]
    assert keys_of(sample["data"][0]) <= keys_of(item)
    assert item["transferrable"] is True and item["pointsTobeTransferred"] == 10
    assert item["transferFrom"]["id"] == sender.pk and item["transferTo"]["id"] == receiver.pk
    assert keys_of(sample["data"][0]["transferFrom"]) <= keys_of(item["transferFrom"])
    assert data["errors"] == [] and data["warnings"] == []
    # issueOtp: the sender got a code
    assert len(sent_codes(sender.mobile)) == 1


@pytest.mark.django_db
def test_is_transferrable_reports_every_failed_rule(api_client, org, program, sender, till):
    # given the receiver is merged away and the amount is more than the sender has
    receiver = member(org, [program])
    survivor = member(org, [program])
    services.ledger_customer_merge(
        victim=receiver, survivor=survivor, actor=till, idempotency_key=key()
    )
    body = transfer_body(
        "points_v2_is_transferrable_request.json",
        sender,
        receiver,
        program,
        pointsTobeTransferred=501,
    )

    # when
    response = api_client.post(IS_TRANSFERRABLE, body, format="json")

    # then no code is sent and both rules are listed
    data = response.json()
    assert response.status_code == 200
    assert data["data"][0]["transferrable"] is False
    assert v2_codes(data) == [419, 803]
    assert sent_codes(sender.mobile) == []


@pytest.mark.django_db
def test_is_transferrable_to_self_is_418(api_client, sender, program):
    body = transfer_body("points_v2_is_transferrable_request.json", sender, sender, program)

    response = api_client.post(IS_TRANSFERRABLE, body, format="json")

    assert v2_codes(response.json()) == [418]


@pytest.mark.parametrize(
    ("changes", "code", "status"),
    [
        ({"toCustomerIdentifier": {"type": "ID", "value": "99999999"}}, 8015, 404),
        ({"toCustomerIdentifier": {"type": "CARD", "value": "1"}}, 8013, 400),
        ({"programId": 999999}, 885, 400),
    ],
)
@pytest.mark.django_db
def test_is_transferrable_lookup_errors(
    api_client, sender, receiver, program, changes, code, status
):
    body = transfer_body("points_v2_is_transferrable_request.json", sender, receiver, program)
    body.update(changes)

    response = api_client.post(IS_TRANSFERRABLE, body, format="json")

    assert response.status_code == status
    assert v2_codes(response.json()) == [code]


# transfer ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_transfer_with_the_sample_body_and_its_otp(
    api_client, org, sender, receiver, program, django_capture_on_commit_callbacks
):
    # given a code issued by isTransferrable for the sample's 123 points
    sample = example("points_v2_transfer_response.json")
    check = transfer_body(
        "points_v2_is_transferrable_request.json",
        sender,
        receiver,
        program,
        pointsTobeTransferred=123,
    )
    api_client.post(IS_TRANSFERRABLE, check, format="json")
    body = transfer_body("points_v2_transfer_request.json", sender, receiver, program)
    body["code"] = last_code(sender.mobile)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(TRANSFER, body, format="json")

    # then
    assert response.status_code == 200, response.content
    item = response.json()["data"][0]
    assert keys_of(sample["data"][0]) <= keys_of(item)
    assert item["pointsTransferred"] == 123 and item["transferType"] == "DEDUCTION"
    assert item["transferredFrom"] == {
        "userId": sender.pk,
        "firstName": "Tom",
        "lastName": (sender.last_name),
    }
    assert item["transferredTo"]["userId"] == receiver.pk
    assert item["notes"] == "Transferred on 16th July 2021"
    assert item["programName"] == program.name
    assert LedgerEvent.objects.get(pk=item["transferId"]).event_name == EventName.POINTS_TRANSFER
    assert (balance(sender, program), balance(receiver, program)) == (377, 123)
    assert_consistent(org)
    # the code was used up
    again = api_client.post(TRANSFER, body, format="json")
    assert v2_codes(again.json()) == [808]


@pytest.mark.parametrize("code", ["WRONG1", None])
@pytest.mark.django_db
def test_transfer_needs_the_pending_code(api_client, org, sender, receiver, program, code):
    # given a code was issued for 10 points
    check = transfer_body("points_v2_is_transferrable_request.json", sender, receiver, program)
    api_client.post(IS_TRANSFERRABLE, check, format="json")
    before = snapshot(org)
    body = transfer_body(
        "points_v2_transfer_request.json", sender, receiver, program, pointsTobeTransferred=10
    )
    if code:
        body["code"] = code

    # when
    response = api_client.post(TRANSFER, body, format="json")

    # then
    assert response.status_code == 400
    assert v2_codes(response.json()) == [808]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_transfer_without_a_pending_code_needs_none(api_client, sender, receiver, program):
    body = transfer_body("points_v2_transfer_request.json", sender, receiver, program)

    response = api_client.post(TRANSFER, body, format="json")

    assert response.status_code == 200, response.content
    assert balance(receiver, program) == 123


@pytest.mark.django_db
def test_a_code_sent_when_none_was_issued_is_808(api_client, org, sender, receiver, program):
    before = snapshot(org)
    body = transfer_body("points_v2_transfer_request.json", sender, receiver, program, code="X1")

    response = api_client.post(TRANSFER, body, format="json")

    assert v2_codes(response.json()) == [808]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_transfer_replay_and_conflict_by_idempotency_key(api_client, sender, receiver, program):
    body = transfer_body("points_v2_transfer_request.json", sender, receiver, program)
    headers = {"HTTP_IDEMPOTENCY_KEY": "transfer-1"}
    first = api_client.post(TRANSFER, body, format="json", **headers).json()

    again = api_client.post(TRANSFER, body, format="json", **headers).json()
    conflict = api_client.post(
        TRANSFER, {**body, "pointsTobeTransferred": 5}, format="json", **headers
    )

    assert again["data"][0]["transferId"] == first["data"][0]["transferId"]
    assert balance(receiver, program) == 123
    assert conflict.status_code == 409 and v2_codes(conflict.json()) == [409]


@pytest.mark.django_db
def test_transfer_to_self_is_418(api_client, org, sender, program):
    before = snapshot(org)
    body = transfer_body("points_v2_transfer_request.json", sender, sender, program)

    response = api_client.post(TRANSFER, body, format="json")

    assert v2_codes(response.json()) == [418]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_transfer_from_a_merged_customer_is_419(api_client, org, program, sender, receiver, till):
    survivor = member(org, [program])
    services.ledger_customer_merge(
        victim=sender, survivor=survivor, actor=till, idempotency_key="m"
    )
    before = snapshot(org)
    body = transfer_body("points_v2_transfer_request.json", sender, receiver, program)

    response = api_client.post(TRANSFER, body, format="json")

    assert v2_codes(response.json()) == [419]
    assert snapshot(org) == before


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"programId": 999999}, 885),
        ({"pointsTobeTransferred": 501}, 803),
        ({"toCustomerIdentifier": {"type": "EMAIL", "value": "nobody@example.com"}}, 8015),
        ({"toCustomerIdentifier": {"type": "PASSPORT", "value": "1"}}, 8013),
    ],
)
@pytest.mark.django_db
def test_transfer_errors_change_nothing(api_client, org, sender, receiver, program, changes, code):
    before = snapshot(org)
    body = transfer_body("points_v2_transfer_request.json", sender, receiver, program, **changes)

    response = api_client.post(TRANSFER, body, format="json")

    assert v2_codes(response.json()) == [code]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_transfer_to_another_orgs_customer_is_8015(api_client, org, other_org, sender, program):
    stranger = member(other_org, [ProgramFactory(org=other_org)])
    before = snapshot(org)
    body = transfer_body("points_v2_transfer_request.json", sender, stranger, program)

    response = api_client.post(TRANSFER, body, format="json")

    assert response.status_code == 404 and v2_codes(response.json()) == [8015]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_another_org_cannot_move_our_points(other_client, org, sender, receiver, program):
    before = snapshot(org)
    body = transfer_body("points_v2_transfer_request.json", sender, receiver, program)
    body.pop("programId")

    response = other_client.post(TRANSFER, body, format="json")

    assert v2_codes(response.json()) == [8015]
    assert snapshot(org) == before


# user groups ------------------------------------------------------------------------------------
@pytest.fixture
def group(org, program, till, sender):
    group = UserGroupFactory(org=org)
    UserGroupMembership.objects.create(
        group=group, customer=sender, is_primary=True, joined_at=sender.registered_at
    )
    earn(group, program, 80, actor=till)
    return group


def group_body(sample: str, group, by, to, program, **changes) -> dict:
    body = example(sample)
    body["programId"] = program.pk
    body["transferredBy"]["identifierValue"] = by.mobile
    body["toEntity"]["identifierValue"] = to.mobile
    body["fromEntity"]["identifierValue"] = str(group.pk)
    body.update(changes)
    return body


@pytest.mark.django_db
def test_group_is_transferrable_with_the_sample_body(api_client, group, sender, receiver, program):
    sample = example("points_v2_group_is_transferrable_response.json")
    body = group_body(
        "points_v2_group_is_transferrable_request.json",
        group,
        sender,
        receiver,
        program,
        pointsTobeTransferred=10,
    )

    response = api_client.post(GROUP_IS_TRANSFERRABLE, body, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == sample


@pytest.mark.django_db
def test_group_is_transferrable_more_than_the_group_has(
    api_client, group, sender, receiver, program
):
    body = group_body(
        "points_v2_group_is_transferrable_request.json",
        group,
        sender,
        receiver,
        program,
        pointsTobeTransferred=81,
    )

    response = api_client.post(GROUP_IS_TRANSFERRABLE, body, format="json")

    assert response.json()["data"][0]["transferrable"] is False
    assert v2_codes(response.json()) == [803]


@pytest.mark.django_db
def test_group_transfer_with_the_sample_body(api_client, org, group, sender, receiver, program):
    # given
    sample = example("points_v2_group_transfer_response.json")
    body = group_body(
        "points_v2_group_transfer_request.json",
        group,
        sender,
        receiver,
        program,
        pointsTobeTransferred=10,
    )

    # when
    response = api_client.post(GROUP_TRANSFER, body, format="json")

    # then
    assert response.status_code == 200, response.content
    item = response.json()["data"][0]
    assert keys_of(sample["data"][0]) <= keys_of(item)
    assert (item["fromEntityType"], item["fromEntityId"]) == ("USERGROUP2", group.pk)
    assert (item["toEntityType"], item["toEntityId"]) == ("CUSTOMER", receiver.pk)
    group_data = item["transferredFromUserGroup2"]
    assert keys_of(sample["data"][0]["transferredFromUserGroup2"]) <= keys_of(group_data)
    assert group_data["fleetGroupUsers"][0]["userId"] == sender.pk
    assert item["pointsTransferBreakupByEarningPrograms"] == [
        {"programId": program.pk, "deductedPoints": 10, "programCurrentPoints": 70}
    ]
    assert (balance(group, program), balance(receiver, program)) == (70, 10)
    event = LedgerEvent.objects.get(pk=item["transferId"])
    assert event.user_group_id == group.pk and event.triggered_by_id == sender.pk
    assert_consistent(org)


@pytest.mark.django_db
def test_group_transfer_by_a_non_member_is_1620(api_client, org, group, receiver, program):
    before = snapshot(org)
    body = group_body(
        "points_v2_group_transfer_request.json",
        group,
        receiver,
        receiver,
        program,
        pointsTobeTransferred=10,
    )

    response = api_client.post(GROUP_TRANSFER, body, format="json")

    assert v2_codes(response.json()) == [1620]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_group_transfer_unknown_group_is_1632(api_client, org, group, sender, receiver, program):
    before = snapshot(org)
    body = group_body(
        "points_v2_group_transfer_request.json",
        group,
        sender,
        receiver,
        program,
        pointsTobeTransferred=10,
    )
    body["fromEntity"]["identifierValue"] = "999999"

    response = api_client.post(GROUP_TRANSFER, body, format="json")

    assert v2_codes(response.json()) == [1632]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_customer_to_group_transfer_by_external_id(api_client, group, sender, program):
    body = {
        "pointsTobeTransferred": "20",
        "programId": program.pk,
        "transferredBy": {"identifierType": "mobile", "identifierValue": sender.mobile},
        "fromEntity": {
            "type": "CUSTOMER",
            "identifierType": "mobile",
            "identifierValue": (sender.mobile),
        },
        "toEntity": {
            "type": "USERGROUP2",
            "identifierType": "externalId",
            "identifierValue": (group.external_id),
        },
    }

    response = api_client.post(GROUP_TRANSFER, body, format="json")

    assert response.status_code == 200, response.content
    item = response.json()["data"][0]
    assert item["transferredToUserGroup2"]["id"] == group.pk
    assert balance(group, program) == 100


# history ----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_transfer_history_shows_both_directions(api_client, sender, receiver, program, till):
    # given two transfers: sender -> receiver 30, receiver -> sender 5
    services.points_transfer(
        sender=sender,
        receiver=receiver,
        program=program,
        points=30,
        actor=till,
        idempotency_key=key(),
        notes="first",
    )
    services.points_transfer(
        sender=receiver,
        receiver=sender,
        program=program,
        points=5,
        actor=till,
        idempotency_key=key(),
    )
    sample = example("points_v2_transfer_history_response.json")

    # when
    by_lookup = api_client.get(
        url(TRANSFER, identifierName="mobile", identifierValue=sender.mobile, source="INSTORE")
    )
    summary = api_client.get(f"/v2/customers/{sender.pk}/pointsTransfers")

    # then
    assert by_lookup.status_code == 200, by_lookup.content
    items = by_lookup.json()["data"]
    assert [(i["transferType"], i["pointsTransferred"]) for i in items] == [
        ("ADDITION", 5),
        ("DEDUCTION", 30),
    ]
    assert keys_of(sample["data"][0]) - {"transferredFromUserGroup2"} <= keys_of(items[1])
    assert items[1]["transferredTo"]["userId"] == receiver.pk
    assert summary.json()["data"] == items


@pytest.mark.django_db
def test_group_transfer_history(api_client, group, receiver, sender, program, till):
    services.points_transfer(
        sender=group,
        receiver=receiver,
        program=program,
        points=10,
        actor=till,
        idempotency_key=key(),
        triggered_by=sender,
    )

    response = api_client.get(
        url(TRANSFER, identifierName="id", identifierValue=group.pk, userEntityType="USERGROUP2")
    )

    items = response.json()["data"]
    assert [(i["fromEntityType"], i["transferType"]) for i in items] == [
        ("USERGROUP2", "DEDUCTION")
    ]


@pytest.mark.django_db
def test_another_org_does_not_see_our_transfer_history(other_client, sender):
    response = other_client.get(f"/v2/customers/{sender.pk}/pointsTransfers")

    assert response.status_code == 404 and v2_codes(response.json()) == [8015]


@pytest.mark.django_db
def test_history_filters_by_program(api_client, org, sender, receiver, program, till):
    second = ProgramFactory(org=org, name="Second")
    services.points_transfer(
        sender=sender,
        receiver=receiver,
        program=program,
        points=30,
        actor=till,
        idempotency_key=key(),
    )

    response = api_client.get(f"/v2/customers/{sender.pk}/pointsTransfers?programId={second.pk}")

    assert response.json()["data"] == []
