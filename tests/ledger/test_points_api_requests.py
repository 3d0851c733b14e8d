"""Member-care requests through the HTTP API: goodwill points and merges (v1.1 request/add,
approve, reject) and the v2 goodwill history (§11.8, §11.9)."""

from __future__ import annotations

import pytest

from ledger.models import EventName, LedgerEvent, PointsRequest
from members.models import Customer
from tests.ledger.factories import assert_consistent, balance, earn, member, snapshot
from tests.ledger.points_api import example, keys_of, url, v2_codes
from tests.members.factories import ProgramFactory

ADD = "/v1.1/request/add"
APPROVE = "/v1.1/request/approve"
REJECT = "/v1.1/request/reject"


@pytest.fixture
def customer(org, program, till):
    customer = member(org, [program])
    earn(customer, program, 100, actor=till)
    return customer


def goodwill_body(who, /, **changes) -> dict:
    body = example("requests_v11_goodwill_points_request.json")
    body["root"]["request"][0]["customer"]["id"] = str(who.pk)
    body["root"]["request"][0].update(changes)
    return body


def merge_body(victim, survivor) -> dict:
    body = example("requests_v11_merge_request.json")
    body["root"]["request"][0]["customer"]["email"] = victim.email
    body["root"]["request"][0]["misc_info"]["target_customer"]["id"] = str(survivor.pk)
    return body


def items(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["response"]["requests"]["request"]


def decision(request_id, **fields) -> dict:
    return {"root": {"request": [{"id": str(request_id), **fields}]}}


# goodwill ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_goodwill_request_with_the_sample_body_is_pending(api_client, org, customer, program):
    # given
    sample = example("requests_v11_goodwill_response.json")
    before = snapshot(org)

    # when
    response = api_client.post(ADD, goodwill_body(customer), format="json")

    # then nothing is credited yet
    item = items(response)[0]
    sample_item = sample["response"]["requests"]["request"][0]
    assert keys_of(sample_item) <= keys_of(item)
    assert keys_of(sample_item["customer"]) <= keys_of(item["customer"])
    assert item["status"] == "PENDING" and item["type"] == "GOODWILL"
    assert item["item_status"] == {
        "success": "true",
        "code": 9100,
        "message": "Goodwill request added successfully",
        "warnings": {"warning": []},
    }
    assert item["customer"]["id"] == customer.pk
    request = PointsRequest.objects.get(pk=int(item["id"]))
    assert (request.points, request.program_id, request.reason) == (
        200,
        program.pk,
        ("Issue Goodwill points"),
    )
    assert snapshot(org) == before


@pytest.mark.django_db
def test_goodwill_auto_approved_credits_at_once(api_client, org, customer, program):
    response = api_client.post(
        url(ADD, client_auto_approve="true"), goodwill_body(customer), format="json"
    )

    item = items(response)[0]
    assert item["status"] == "APPROVED"
    assert item["updated_comments"].endswith("AUTO_APPROVED")
    assert balance(customer, program) == 300
    event = LedgerEvent.objects.get(
        customer=customer, event_name=EventName.ALLOCATE_GOODWILL_POINTS
    )
    assert event.net_points == 200 and event.reason == "Issue Goodwill points"
    assert PointsRequest.objects.get().ledger_event_id == event.pk
    assert_consistent(org)


@pytest.mark.django_db
def test_approve_a_goodwill_request_credits_the_approved_points(api_client, customer, program):
    request_id = items(api_client.post(ADD, goodwill_body(customer), format="json"))[0]["id"]

    response = api_client.post(
        APPROVE,
        decision(request_id, type="GOODWILL", base_type="POINTS", points="150"),
        format="json",
    )

    item = items(response)[0]
    assert item["status"] == "APPROVED" and item["item_status"]["code"] == 9000
    assert item["approved_value"] == "150"
    assert balance(customer, program) == 250


@pytest.mark.django_db
def test_reject_credits_nothing_and_a_decided_request_is_9052(api_client, org, customer):
    request_id = items(api_client.post(ADD, goodwill_body(customer), format="json"))[0]["id"]
    before = snapshot(org)

    rejected = items(api_client.post(REJECT, decision(request_id), format="json"))[0]
    approve_after = items(api_client.post(APPROVE, decision(request_id), format="json"))[0]

    assert rejected["status"] == "REJECTED"
    assert approve_after["item_status"]["code"] == 9052
    assert snapshot(org) == before


@pytest.mark.django_db
def test_approve_twice_credits_once(api_client, customer, program):
    request_id = items(api_client.post(ADD, goodwill_body(customer), format="json"))[0]["id"]
    items(api_client.post(APPROVE, decision(request_id), format="json"))

    again = items(api_client.post(APPROVE, decision(request_id), format="json"))[0]

    assert again["item_status"]["code"] == 9052
    assert balance(customer, program) == 300


@pytest.mark.django_db
def test_approve_replay_with_the_same_key_returns_the_request(api_client, customer, program):
    request_id = items(api_client.post(ADD, goodwill_body(customer), format="json"))[0]["id"]
    headers = {"HTTP_IDEMPOTENCY_KEY": "approve-1"}
    items(api_client.post(APPROVE, decision(request_id), format="json", **headers))

    again = items(api_client.post(APPROVE, decision(request_id), format="json", **headers))[0]
    reject_with_key = items(
        api_client.post(REJECT, decision(request_id), format="json", **headers)
    )[0]

    assert again["status"] == "APPROVED" and again["item_status"]["code"] == 9000
    assert reject_with_key["item_status"]["code"] == 9052
    assert balance(customer, program) == 300


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"id": "999999"}, 9013),
        ({"id": "not-a-number"}, 9013),
        ({"type": "CHANGE_IDENTIFIER"}, 9006),
        ({"base_type": "MERGE"}, 9008),
    ],
)
@pytest.mark.django_db
def test_decision_errors_change_nothing(api_client, org, customer, fields, code):
    request_id = items(api_client.post(ADD, goodwill_body(customer), format="json"))[0]["id"]
    before = snapshot(org)

    response = api_client.post(
        APPROVE, {"root": {"request": [{"id": request_id, **fields}]}}, format="json"
    )

    assert items(response)[0]["item_status"]["code"] == code
    assert snapshot(org) == before
    assert PointsRequest.objects.get().status == "PENDING"


@pytest.mark.django_db
def test_goodwill_replay_by_reference_id(api_client, customer, program):
    body = goodwill_body(customer, reference_id="GW-1")
    first = items(api_client.post(url(ADD, client_auto_approve="true"), body, format="json"))[0]

    again = items(api_client.post(url(ADD, client_auto_approve="true"), body, format="json"))[0]
    conflict = items(
        api_client.post(
            url(ADD, client_auto_approve="true"),
            goodwill_body(customer, reference_id="GW-1", points="300"),
            format="json",
        )
    )[0]

    assert again["id"] == first["id"] and again["reference_id"] == "GW-1"
    assert conflict["item_status"]["code"] == 409
    assert PointsRequest.objects.count() == 1
    assert balance(customer, program) == 300


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"type": "RETRO"}, 9006),
        ({"base_type": "COUPON"}, 9008),
        ({"points": "-5"}, 801),
        ({"points": "0"}, 801),
        ({"customer": {"id": "", "mobile": "", "email": "", "external_id": ""}}, 9019),
        ({"customer": {"mobile": "919000000077"}}, 816),
        ({"customer": {"mobile": "12"}}, 802),
        ({"reason": "", "comments": ""}, 400),
    ],
)
@pytest.mark.django_db
def test_goodwill_add_errors_change_nothing(api_client, org, customer, changes, code):
    before = snapshot(org)

    response = api_client.post(
        url(ADD, client_auto_approve="true"), goodwill_body(customer, **changes), format="json"
    )

    item = items(response)[0]
    assert item["item_status"]["code"] == code
    assert response.json()["response"]["status"]["code"] == 500
    assert PointsRequest.objects.count() == 0
    assert snapshot(org) == before


@pytest.mark.django_db
def test_goodwill_sample_for_coupons_is_9008(api_client, org, customer):
    body = example("requests_v11_goodwill_coupon_request.json")
    body["root"]["request"][0]["customer"]["mobile"] = customer.mobile

    response = api_client.post(ADD, body, format="json")

    assert items(response)[0]["item_status"]["code"] == 9008


@pytest.mark.django_db
def test_goodwill_bad_program_is_885(api_client, customer):
    response = api_client.post(url(ADD, program_id=999999), goodwill_body(customer), format="json")

    assert items(response)[0]["item_status"]["code"] == 885


@pytest.mark.django_db
def test_goodwill_for_another_orgs_customer_is_816(other_client, org, customer):
    before = snapshot(org)

    response = other_client.post(
        url(ADD, client_auto_approve="true"), goodwill_body(customer), format="json"
    )

    assert items(response)[0]["item_status"]["code"] == 816
    assert snapshot(org) == before


@pytest.mark.django_db
def test_another_org_cannot_approve_our_request(api_client, other_client, org, customer):
    request_id = items(api_client.post(ADD, goodwill_body(customer), format="json"))[0]["id"]
    before = snapshot(org)

    response = other_client.post(APPROVE, decision(request_id), format="json")

    assert items(response)[0]["item_status"]["code"] == 9013
    assert snapshot(org) == before


# merges -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_merge_request_with_the_sample_body_is_pending(api_client, org, program, customer):
    # given
    survivor = member(org, [program])
    sample = example("requests_v11_merge_response.json")
    before = snapshot(org)

    # when
    response = api_client.post(ADD, merge_body(customer, survivor), format="json")

    # then
    item = items(response)[0]
    assert keys_of(sample["response"]["requests"]["request"][0]) <= keys_of(item)
    assert (item["status"], item["type"], item["base_type"]) == (
        "PENDING",
        "CHANGE_IDENTIFIER",
        "MERGE",
    )
    assert (item["old_value"], item["new_value"]) == (str(customer.pk), str(survivor.pk))
    assert item["item_status"]["code"] == 9000
    assert item["item_status"]["message"] == "Change Identifier request added successfully"
    assert snapshot(org) == before


@pytest.mark.django_db
def test_merge_auto_approved_moves_the_points(api_client, org, program, customer):
    survivor = member(org, [program])

    response = api_client.post(
        url(ADD, client_auto_approve="true"), merge_body(customer, survivor), format="json"
    )

    assert items(response)[0]["status"] == "APPROVED"
    assert Customer.objects.get(pk=customer.pk).merged_into_id == survivor.pk
    assert (balance(customer, program), balance(survivor, program)) == (0, 100)
    assert_consistent(org)


@pytest.mark.django_db
def test_approve_a_merge_request(api_client, org, program, customer):
    survivor = member(org, [program])
    request_id = items(api_client.post(ADD, merge_body(customer, survivor), format="json"))[0]["id"]

    response = api_client.post(
        APPROVE, decision(request_id, type="CHANGE_IDENTIFIER", base_type="MERGE"), format="json"
    )

    assert items(response)[0]["status"] == "APPROVED"
    assert Customer.objects.get(pk=customer.pk).merged_into_id == survivor.pk


@pytest.mark.django_db
def test_a_second_pending_merge_for_the_victim_is_9018(api_client, org, program, customer):
    survivor = member(org, [program])
    api_client.post(ADD, merge_body(customer, survivor), format="json")

    response = api_client.post(ADD, merge_body(customer, survivor), format="json")

    assert items(response)[0]["item_status"]["code"] == 9018
    assert PointsRequest.objects.count() == 1


@pytest.mark.django_db
def test_merge_errors_change_nothing(api_client, org, program, customer, till):
    # given a merged-away customer and a plain one
    survivor = member(org, [program])
    merged = member(org, [program])
    api_client.post(
        url(ADD, client_auto_approve="true"), merge_body(merged, survivor), format="json"
    )
    before = snapshot(org)
    cases = [
        (merge_body(customer, customer), 9029),
        (merge_body(merged, survivor), 9027),
        (merge_body(customer, merged), 9023),
    ]
    no_target = merge_body(customer, survivor)
    no_target["root"]["request"][0]["misc_info"]["target_customer"]["id"] = ""
    cases.append((no_target, 9007))
    unknown_target = merge_body(customer, survivor)
    unknown_target["root"]["request"][0]["misc_info"]["target_customer"]["id"] = "99999999"
    cases.append((unknown_target, 9007))

    for body, code in cases:
        # when
        response = api_client.post(url(ADD, client_auto_approve="true"), body, format="json")

        # then
        assert items(response)[0]["item_status"]["code"] == code, body
    assert snapshot(org) == before


@pytest.mark.django_db
def test_merge_with_another_orgs_survivor_is_9007(api_client, org, other_org, customer):
    stranger = member(other_org, [ProgramFactory(org=other_org)])
    before = snapshot(org)

    response = api_client.post(
        url(ADD, client_auto_approve="true"), merge_body(customer, stranger), format="json"
    )

    assert items(response)[0]["item_status"]["code"] == 9007
    assert snapshot(org) == before


@pytest.mark.django_db
def test_request_batch_answers_each_item(api_client, org, program, customer):
    body = goodwill_body(customer)
    body["root"]["request"].append({"type": "GOODWILL", "base_type": "POINTS", "customer": {}})

    response = api_client.post(ADD, body, format="json")

    answer = response.json()["response"]
    assert answer["status"]["code"] == 201
    assert [item["item_status"]["code"] for item in answer["requests"]["request"]] == [9100, 9019]


# goodwill history (v2) --------------------------------------------------------------------------
@pytest.mark.django_db
def test_goodwill_history_in_the_sample_shape(api_client, customer, till):
    # given one approved (auto) and one pending request
    api_client.post(url(ADD, client_auto_approve="true"), goodwill_body(customer), format="json")
    api_client.post(url(ADD, is_one_step_change="true"), goodwill_body(customer), format="json")
    sample = example("customers_v2_goodwill_requests_response.json")

    # when
    response = api_client.get(f"/v2/customers/{customer.pk}/goodwillRequest")

    # then
    assert response.status_code == 200, response.content
    data = response.json()
    assert keys_of(sample) <= keys_of(data)
    assert data["pagination"] == {"limit": 10, "offset": 0, "total": 2}
    pending, approved = data["data"]
    assert keys_of(sample["data"][0]) <= keys_of(approved)
    assert (approved["goodwillStatus"], approved["approvedValue"]) == ("APPROVED", "200")
    assert approved["updatedComments"].endswith("; AUTO_APPROVED")
    assert approved["addedBy"]["code"] == till.code and approved["addedBy"]["type"] == "TILL"
    assert (pending["goodwillStatus"], pending["oneStep"]) == ("PENDING", True)
    assert approved["userId"] == customer.pk and approved["goodwillType"] == "POINTS"


@pytest.mark.django_db
def test_goodwill_history_filters(api_client, customer):
    first = items(
        api_client.post(
            url(ADD, client_auto_approve="true"), goodwill_body(customer), format="json"
        )
    )[0]
    api_client.post(ADD, goodwill_body(customer), format="json")
    base = f"/v2/customers/{customer.pk}/goodwillRequest"

    by_id = api_client.get(url(base, requestId=first["id"])).json()
    auto = api_client.get(url(base, autoApprove="false")).json()
    page = api_client.get(url(base, limit=1, offset=1)).json()

    assert [item["requestId"] for item in by_id["data"]] == [int(first["id"])]
    assert [item["goodwillStatus"] for item in auto["data"]] == ["PENDING"]
    assert page["pagination"] == {"limit": 1, "offset": 1, "total": 2}
    assert [item["requestId"] for item in page["data"]] == [int(first["id"])]


@pytest.mark.django_db
def test_goodwill_history_of_another_orgs_customer_is_8015(other_client, customer):
    response = other_client.get(f"/v2/customers/{customer.pk}/goodwillRequest")

    assert response.status_code == 404 and v2_codes(response.json()) == [8015]
