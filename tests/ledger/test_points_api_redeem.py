"""Points check, validation codes and v1.1 / v2 redemptions through the HTTP API (§11.6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import services
from ledger.models import EventName, LedgerEvent, PointsRedemption
from loyalty_site.core import sms
from members.models import ExchangeRate
from tests.ledger.factories import assert_consistent, balance, earn, member, snapshot
from tests.ledger.points_api import (
    example,
    keys_of,
    last_code,
    sent_codes,
    url,
    v2_codes,
)
from tests.members.factories import CustomerFactory, ProgramFactory

ISREDEEMABLE = "/v1.1/points/isredeemable"
VALIDATION_CODE = "/v1.1/points/validationcode"
REDEEM = "/v1.1/points/redeem"


@pytest.fixture(autouse=True)
def _no_sms_yet():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def rich(org, program, till):
    """A member with 500 points and the mobile of the redeem sample."""
    customer = member(org, [program], mobile="919777788221")
    earn(customer, program, 500, actor=till)
    return customer


def redeem_body(customer, points, **fields) -> dict:
    item = {"points_redeemed": points, "customer": {"mobile": customer.mobile}, **fields}
    return {"root": {"redeem": [item]}}


def issue_code(client, customer, points) -> str:
    response = client.get(url(VALIDATION_CODE, mobile=customer.mobile, points=points))
    assert response.status_code == 200, response.content
    return last_code(customer.mobile)


def redeemed_item(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()["response"]["responses"]["points"]


# isredeemable -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_isredeemable_says_yes_in_the_sample_shape(api_client, rich, program):
    # given
    sample = example("points_v11_isredeemable_response.json")
    sample_item = sample["response"]["responses"]["points"]["response"]["points"]["redeemable"]

    # when
    response = api_client.get(url(ISREDEEMABLE, mobile=rich.mobile, points=100))

    # then
    assert response.status_code == 200
    body = response.json()["response"]
    assert body["status"] == {"success": "true", "code": "200", "message": "SUCCESS"}
    item = body["points"]["redeemable"]
    assert keys_of(sample_item) <= keys_of(item)
    assert item["is_redeemable"] == "true"
    assert item["points"] == "100"
    assert item["item_status"]["code"] == "800"
    assert item["item_status"]["message"] == "Points can be redeemed"
    assert item["points_redeem_value"] == 100 and item["points_currency_ratio"] == "1"
    assert item["user_id"] == str(rich.pk)


@pytest.mark.django_db
def test_isredeemable_converts_the_value_into_the_store_currency(
    api_client, rich, program, till, org
):
    # given a till in a EUR store of an INR org, 1 EUR = 90 INR, 1 point = 0.5 INR
    till.store.currency = "EUR"
    till.store.save()
    ExchangeRate.objects.create(org=org, currency="EUR", rate_to_base=Decimal("90"))
    program.points_to_currency_ratio = Decimal("0.5")
    program.save()

    # when
    response = api_client.get(url(ISREDEEMABLE, mobile=rich.mobile, points=180))

    # then
    item = response.json()["response"]["points"]["redeemable"]
    assert item["points_redeem_value"] == 90
    assert item["points_redeem_local_value"] == 1
    assert item["points_currency_ratio"] == "0.5"


@pytest.mark.django_db
def test_isredeemable_reports_every_failed_rule(api_client, org, program, till):
    # given a customer with 50 points in the default program, and a program launched since
    customer = member(org, [program])
    earn(customer, program, 50, actor=till)
    second = ProgramFactory(org=org, name="Second")

    # when
    response = api_client.get(
        url(ISREDEEMABLE, mobile=customer.mobile, points=100, program_id=second.pk)
    )

    # then
    assert response.status_code == 200
    body = response.json()["response"]
    assert body["status"]["success"] == "false"
    item = body["points"]["redeemable"]
    assert item["is_redeemable"] == "false"
    assert [error["code"] for error in item["errors"]] == [1218, 803]
    assert item["item_status"]["code"] == "1218"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"mobile": "919000000001", "points": 10}, "816"),
        ({"points": 10}, "802"),
        ({"mobile": "12", "points": 10}, "802"),
        ({"card_number": "C-1", "points": 10}, "816"),
    ],
)
@pytest.mark.django_db
def test_isredeemable_customer_errors(api_client, rich, params, code):
    response = api_client.get(url(ISREDEEMABLE, **params))

    assert response.status_code == 200
    item = response.json()["response"]["points"]["redeemable"]
    assert item["is_redeemable"] == "false"
    assert item["item_status"]["code"] == code


@pytest.mark.django_db
def test_isredeemable_bad_points_and_program(api_client, rich):
    bad_points = api_client.get(url(ISREDEEMABLE, mobile=rich.mobile, points="abc"))
    bad_program = api_client.get(
        url(ISREDEEMABLE, mobile=rich.mobile, points=10, program_id=999999)
    )

    assert bad_points.json()["response"]["points"]["redeemable"]["item_status"]["code"] == "801"
    assert bad_program.json()["response"]["points"]["redeemable"]["item_status"]["code"] == "885"


@pytest.mark.parametrize("points", ["1e30", "NaN", "Infinity", "0.0001"])
@pytest.mark.django_db
def test_isredeemable_odd_amounts_are_801(api_client, rich, points):
    response = api_client.get(url(ISREDEEMABLE, mobile=rich.mobile, points=points))

    assert response.status_code == 200
    assert response.json()["response"]["points"]["redeemable"]["item_status"]["code"] == "801"


@pytest.mark.django_db
def test_v2_redeem_odd_program_and_amount_are_clean_errors(api_client, org, rich):
    before = snapshot(org)

    huge_program = api_client.post(
        f"/v2/customers/{rich.pk}/redemptions",
        {"points": 10, "skipValidation": True, "programId": 10**30},
        format="json",
    )
    nan_points = api_client.post(
        f"/v2/customers/{rich.pk}/redemptions",
        {"points": "NaN", "skipValidation": True},
        format="json",
    )
    huge_customer = api_client.post(
        f"/v2/customers/{10**25}/redemptions", {"points": 1}, format="json"
    )

    assert v2_codes(huge_program.json()) == [885]
    assert nan_points.status_code == 400
    assert huge_customer.status_code == 404 and v2_codes(huge_customer.json()) == [8015]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_isredeemable_does_not_see_another_orgs_customer(other_client, rich):
    response = other_client.get(url(ISREDEEMABLE, mobile=rich.mobile, points=10))

    assert response.json()["response"]["points"]["redeemable"]["item_status"]["code"] == "816"


@pytest.mark.django_db
def test_isredeemable_issues_a_code_when_asked(api_client, rich):
    response = api_client.get(url(ISREDEEMABLE, mobile=rich.mobile, points=100, issue_otp="true"))

    assert response.json()["response"]["points"]["redeemable"]["is_redeemable"] == "true"
    assert len(sent_codes(rich.mobile)) == 1


@pytest.mark.django_db
def test_isredeemable_warns_876_when_the_code_cannot_be_sent(api_client, org, program, till):
    # given a customer reachable neither by SMS nor by email
    customer = member(org, [program], mobile=None, email=None, external_id="NO-CONTACT")
    earn(customer, program, 100, actor=till)

    # when
    response = api_client.get(
        url(ISREDEEMABLE, external_id="NO-CONTACT", points=10, issue_otp="true")
    )

    # then the check still passes, with a warning
    item = response.json()["response"]["points"]["redeemable"]
    assert item["is_redeemable"] == "true"
    assert item["item_status"]["warnings"] == {"warning": ["876"]}


@pytest.mark.django_db
def test_isredeemable_checks_a_given_validation_code(api_client, rich):
    code = issue_code(api_client, rich, 100)

    good = api_client.get(url(ISREDEEMABLE, mobile=rich.mobile, points=100, validation_code=code))
    bad = api_client.get(url(ISREDEEMABLE, mobile=rich.mobile, points=100, validation_code="X"))

    assert good.json()["response"]["points"]["redeemable"]["is_redeemable"] == "true"
    assert bad.json()["response"]["points"]["redeemable"]["item_status"]["code"] == "808"


@pytest.mark.django_db
def test_isredeemable_group_redemption_counts_every_program(api_client, org, program, till):
    # given 60 points in each of two programs
    second = ProgramFactory(org=org, name="Second")
    customer = member(org, [program, second])
    earn(customer, program, 60, actor=till)
    earn(customer, second, 60, actor=till)

    # when
    single = api_client.get(url(ISREDEEMABLE, mobile=customer.mobile, points=100))
    group = api_client.get(
        url(ISREDEEMABLE, mobile=customer.mobile, points=100, group_redemption="true")
    )

    # then
    assert single.json()["response"]["points"]["redeemable"]["is_redeemable"] == "false"
    assert group.json()["response"]["points"]["redeemable"]["is_redeemable"] == "true"


# validationcode ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_validation_code_is_texted_in_the_sample_shape(api_client, rich):
    # given
    sample = example("points_v11_validationcode_response.json")

    # when
    response = api_client.get(url(VALIDATION_CODE, mobile=rich.mobile, points=50))

    # then
    assert response.status_code == 200
    body = response.json()["response"]
    assert body["status"] == sample["response"]["status"]
    item = body["validation_code"]["code"]
    assert keys_of(sample["response"]["validation_code"]["code"]) <= keys_of(item)
    assert item["user_id"] == str(rich.pk) and item["points"] == "50"
    assert item["item_status"] == {
        **sample["response"]["validation_code"]["code"]["item_status"],
        "warnings": {"warning": []},
    }
    code = last_code(rich.mobile)
    assert len(code) == 6 and code not in str(body)


@pytest.mark.django_db
def test_validation_code_asked_again_is_the_same_code(api_client, rich):
    first = issue_code(api_client, rich, 50)
    second = issue_code(api_client, rich, 50)
    other_amount = issue_code(api_client, rich, 60)

    assert first == second
    assert len(sent_codes(rich.mobile)) == 3
    assert other_amount  # a code of its own (it may collide by chance, so no inequality)


@pytest.mark.django_db
def test_validation_code_goes_by_email_without_a_mobile(api_client, org, program, mailoutbox):
    customer = member(org, [program], mobile=None, email="no.phone@example.com")

    response = api_client.get(url(VALIDATION_CODE, email=customer.email, points=5))

    assert response.json()["response"]["validation_code"]["code"]["item_status"]["code"] == "200"
    assert len(mailoutbox) == 1 and "validation code" in mailoutbox[0].body


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"mobile": "919000000001", "points": 10}, "816"),
        ({"points": 10}, "802"),
        ({"mobile": "919777788221", "points": "-1"}, "801"),
        ({"mobile": "919777788221", "points": "1e30"}, "801"),
        ({"external_id": "NO-CONTACT", "points": 10}, "860"),
    ],
)
@pytest.mark.django_db
def test_validation_code_errors(api_client, rich, org, program, params, code):
    member(org, [program], mobile=None, email=None, external_id="NO-CONTACT")

    response = api_client.get(url(VALIDATION_CODE, **params))

    assert response.status_code == 200
    body = response.json()["response"]
    assert body["status"]["success"] == "false"
    assert body["validation_code"]["code"]["item_status"]["code"] == code


@pytest.mark.django_db
def test_validation_code_for_another_orgs_customer_is_816(other_client, rich):
    response = other_client.get(url(VALIDATION_CODE, mobile=rich.mobile, points=10))

    assert response.json()["response"]["validation_code"]["code"]["item_status"]["code"] == "816"
    assert sent_codes(rich.mobile) == []


# v1.1 redeem ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_redeem_the_sample_request_with_its_validation_code(api_client, org, rich, program):
    # given the sample body with a code issued for its 1 point
    body = example("points_v11_redeem_request.json")
    sample = example("points_v11_redeem_response.json")
    body["root"]["redeem"][0]["validation_code"] = issue_code(api_client, rich, 1)

    # when
    response = api_client.post(REDEEM, body, format="json")

    # then
    item = redeemed_item(response)
    status = response.json()["response"]["status"]
    assert (status["success"], status["code"], status["message"]) == ("true", 200, "Success")
    assert keys_of(sample["response"]["responses"]["points"]) <= keys_of(item)
    assert item["item_status"] == {
        "success": "true",
        "code": 800,
        "message": "Points Redeemed",
        "warnings": {"warning": []},
    }
    redemption = PointsRedemption.objects.get()
    assert item["redemption_id"] == redemption.code
    assert item["points_redeemed"] == "1" and item["balance"] == 499
    assert item["user_id"] == str(rich.pk) and item["mobile"] == rich.mobile
    effect = item["side_effects"]["effect"][0]
    assert keys_of(sample["response"]["responses"]["points"]["side_effects"]["effect"][0]) <= (
        keys_of(effect)
    )
    assert effect["redeemed_on_bill_number"] == "bilnum100000"
    assert effect["redeemed_on_bill_id"] == -1
    assert redemption.transaction_number == "bilnum100000"
    assert redemption.custom_fields == {"point_transfered_to": "9777788221"}
    assert redemption.validation_code == body["root"]["redeem"][0]["validation_code"]
    assert redemption.notes == "Redeemed to transfer points to the friend"
    assert balance(rich, program) == 499
    assert_consistent(org)


@pytest.mark.django_db
def test_a_validation_code_approves_one_redemption(
    api_client, rich, program, django_capture_on_commit_callbacks
):
    code = issue_code(api_client, rich, 10)
    # The code is forgotten when the redemption commits.
    with django_capture_on_commit_callbacks(execute=True):
        first = api_client.post(REDEEM, redeem_body(rich, 10, validation_code=code), format="json")
    again = api_client.post(REDEEM, redeem_body(rich, 10, validation_code=code), format="json")

    assert redeemed_item(first)["item_status"]["code"] == 800
    assert redeemed_item(again)["item_status"]["code"] == 808
    assert balance(rich, program) == 490


@pytest.mark.parametrize("code", ["WRONG1", ""])
@pytest.mark.django_db
def test_redeem_without_the_right_validation_code_is_808(api_client, org, rich, code):
    # given a code issued for 10 points
    issue_code(api_client, rich, 10)
    before = snapshot(org)

    # when
    response = api_client.post(REDEEM, redeem_body(rich, 10, validation_code=code), format="json")

    # then
    item = redeemed_item(response)
    assert item["item_status"]["code"] == 808
    assert response.json()["response"]["status"]["code"] == 500
    assert snapshot(org) == before


@pytest.mark.django_db
def test_a_code_for_another_amount_is_808(api_client, org, rich):
    code = issue_code(api_client, rich, 10)
    before = snapshot(org)

    response = api_client.post(REDEEM, redeem_body(rich, 11, validation_code=code), format="json")

    assert redeemed_item(response)["item_status"]["code"] == 808
    assert snapshot(org) == before


@pytest.mark.django_db
def test_skip_validation_redeems_without_a_code(api_client, rich, program):
    response = api_client.post(
        url(REDEEM, skip_validation="true"), redeem_body(rich, 25), format="json"
    )

    assert redeemed_item(response)["item_status"]["code"] == 800
    assert balance(rich, program) == 475


@pytest.mark.django_db
def test_validation_type_invalid_skips_the_code(api_client, rich, program):
    response = api_client.post(
        url(REDEEM, validation_type="INVALID"), redeem_body(rich, 25), format="json"
    )

    assert redeemed_item(response)["item_status"]["code"] == 800


@pytest.mark.parametrize(
    ("points", "customer", "code"),
    [
        (600, {"mobile": "919777788221"}, 803),
        ("abc", {"mobile": "919777788221"}, 400),
        ("1e30", {"mobile": "919777788221"}, 400),
        (0, {"mobile": "919777788221"}, 801),
        (10, {"mobile": "919000000009"}, 816),
        (10, {}, 802),
    ],
)
@pytest.mark.django_db
def test_redeem_item_errors_change_nothing(api_client, org, rich, points, customer, code):
    before = snapshot(org)
    body = {"root": {"redeem": [{"points_redeemed": points, "customer": customer}]}}

    response = api_client.post(url(REDEEM, skip_validation="true"), body, format="json")

    assert redeemed_item(response)["item_status"]["code"] == code
    assert snapshot(org) == before


@pytest.mark.django_db
def test_redeem_bad_program_is_885(api_client, org, rich):
    before = snapshot(org)

    response = api_client.post(
        url(REDEEM, skip_validation="true", program_id=424242), redeem_body(rich, 5), format="json"
    )

    assert redeemed_item(response)["item_status"]["code"] == 885
    assert snapshot(org) == before


@pytest.mark.django_db
def test_redeem_replay_by_external_reference_returns_the_first(api_client, org, rich, program):
    body = redeem_body(rich, 40, external_reference_number="EXT-1", transaction_number="B1")
    first = redeemed_item(api_client.post(url(REDEEM, skip_validation="true"), body, format="json"))

    again = redeemed_item(api_client.post(url(REDEEM, skip_validation="true"), body, format="json"))

    assert again["redemption_id"] == first["redemption_id"]
    assert again["item_status"]["code"] == 800
    assert PointsRedemption.objects.count() == 1
    assert balance(rich, program) == 460


@pytest.mark.django_db
def test_a_replay_does_not_need_the_used_validation_code_again(api_client, rich, program):
    code = issue_code(api_client, rich, 40)
    body = redeem_body(rich, 40, validation_code=code, external_reference_number="EXT-9")
    first = redeemed_item(api_client.post(REDEEM, body, format="json"))

    again = redeemed_item(api_client.post(REDEEM, body, format="json"))

    assert again["redemption_id"] == first["redemption_id"]
    assert balance(rich, program) == 460


@pytest.mark.django_db
def test_same_reference_with_other_points_is_a_conflict(api_client, org, rich):
    api_client.post(
        url(REDEEM, skip_validation="true"),
        redeem_body(rich, 40, external_reference_number="EXT-2"),
        format="json",
    )
    before = snapshot(org)

    response = api_client.post(
        url(REDEEM, skip_validation="true"),
        redeem_body(rich, 41, external_reference_number="EXT-2"),
        format="json",
    )

    assert redeemed_item(response)["item_status"]["code"] == 409
    assert snapshot(org) == before


@pytest.mark.django_db
def test_redeem_replay_by_idempotency_key_header(api_client, rich, program):
    body = redeem_body(rich, 15)
    headers = {"HTTP_IDEMPOTENCY_KEY": "redeem-1"}
    first = redeemed_item(
        api_client.post(url(REDEEM, skip_validation="true"), body, format="json", **headers)
    )

    again = redeemed_item(
        api_client.post(url(REDEEM, skip_validation="true"), body, format="json", **headers)
    )

    assert again["redemption_id"] == first["redemption_id"]
    assert balance(rich, program) == 485


@pytest.mark.django_db
def test_redeem_batch_answers_each_item(api_client, rich, program):
    body = {
        "root": {
            "redeem": [
                {"points_redeemed": 10, "customer": {"mobile": rich.mobile}},
                {"points_redeemed": 10000, "customer": {"mobile": rich.mobile}},
            ]
        }
    }

    response = api_client.post(url(REDEEM, skip_validation="true"), body, format="json")

    assert response.status_code == 200
    answer = response.json()["response"]
    assert answer["status"]["code"] == 201
    assert (answer["status"]["total"], answer["status"]["success_count"]) == ("2", "1")
    assert [item["item_status"]["code"] for item in answer["responses"]["points"]] == [800, 803]
    assert balance(rich, program) == 490


@pytest.mark.django_db
def test_redeem_rejects_a_malformed_batch(api_client, rich):
    response = api_client.post(REDEEM, {"root": {"redeem": []}}, format="json")

    assert response.status_code == 400
    assert response.json()["response"]["status"]["success"] == "false"


@pytest.mark.django_db
def test_another_org_cannot_redeem_our_customer(other_client, org, rich):
    before = snapshot(org)

    response = other_client.post(
        url(REDEEM, skip_validation="true"), redeem_body(rich, 10), format="json"
    )

    assert redeemed_item(response)["item_status"]["code"] == 816
    assert snapshot(org) == before


@pytest.mark.django_db
def test_group_redemption_takes_points_across_programs(api_client, org, program, till):
    # given 60 points in each of two programs
    second = ProgramFactory(org=org, name="Second")
    customer = member(org, [program, second])
    earn(customer, program, 60, actor=till)
    earn(customer, second, 60, actor=till)

    # when
    response = api_client.post(
        url(REDEEM, skip_validation="true", group_redemption="true"),
        redeem_body(customer, 100),
        format="json",
    )

    # then
    item = redeemed_item(response)
    assert item["item_status"]["code"] == 800
    assert item["balance"] == 20
    redemption = PointsRedemption.objects.get(code=item["redemption_id"])
    assert redemption.is_group_redemption
    assert balance(customer, program) + balance(customer, second) == 20
    assert_consistent(org)


# v2 redeem --------------------------------------------------------------------------------------
def v2_redeem_url(customer) -> str:
    return f"/v2/customers/{customer.pk}/redemptions"


@pytest.mark.django_db
def test_v2_redeem_the_sample_body(api_client, org, rich, program):
    # given the sample with a real validation code for its 350 points
    body = example("points_v2_redeem_request.json")
    body["validationCode"] = issue_code(api_client, rich, body["points"])

    # when
    response = api_client.post(v2_redeem_url(rich), body, format="json")

    # then
    assert response.status_code == 200, response.content
    data = response.json()
    redemption = PointsRedemption.objects.get()
    assert data["redemptionId"] == redemption.code
    assert (data["pointsRedeemed"], data["balance"], data["committed"]) == (350, 150, True)
    assert data["transactionNumber"] == "TXN-882291"
    assert redemption.external_reference == "TXN-882291"
    assert redemption.event.source == "INSTORE"
    assert balance(rich, program) == 150
    assert_consistent(org)


@pytest.mark.django_db
def test_v2_redeem_replay_by_external_reference(api_client, rich, program):
    body = {"points": 50, "skipValidation": True, "externalReferenceNumber": "R-1"}
    first = api_client.post(v2_redeem_url(rich), body, format="json").json()

    again = api_client.post(v2_redeem_url(rich), body, format="json").json()
    conflict = api_client.post(v2_redeem_url(rich), {**body, "points": 51}, format="json")

    assert again["redemptionId"] == first["redemptionId"]
    assert conflict.status_code == 409 and v2_codes(conflict.json()) == [409]
    assert balance(rich, program) == 450


@pytest.mark.django_db
def test_v2_redeem_with_a_wrong_code_is_808(api_client, org, rich):
    before = snapshot(org)

    response = api_client.post(
        v2_redeem_url(rich), {"points": 50, "validationCode": "NOPE00"}, format="json"
    )

    assert response.status_code == 400
    assert v2_codes(response.json()) == [808]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_v2_redeem_more_than_available_is_803(api_client, org, rich):
    before = snapshot(org)

    response = api_client.post(
        v2_redeem_url(rich), {"points": 501, "skipValidation": True}, format="json"
    )

    assert v2_codes(response.json()) == [803]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_v2_redeem_commit_false_only_checks(api_client, org, rich, program):
    before = snapshot(org)

    ok = api_client.post(v2_redeem_url(rich), {"points": 100, "commit": False}, format="json")
    too_much = api_client.post(
        v2_redeem_url(rich), {"points": 1000, "commit": "false"}, format="json"
    )

    assert ok.status_code == 200
    assert ok.json()["redemptionId"] is None and ok.json()["committed"] is False
    assert too_much.status_code == 400 and v2_codes(too_much.json()) == [803]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_v2_redeem_for_another_orgs_customer_is_8015(other_client, org, rich):
    before = snapshot(org)

    response = other_client.post(
        v2_redeem_url(rich), {"points": 10, "skipValidation": True}, format="json"
    )

    assert response.status_code == 404
    assert v2_codes(response.json()) == [8015]
    assert snapshot(org) == before


@pytest.mark.django_db
def test_v2_redeem_for_a_merged_customer_is_8069(api_client, org, program, till, rich):
    survivor = member(org, [program])
    services.ledger_customer_merge(
        victim=rich, survivor=survivor, actor=till, idempotency_key="merge-1"
    )

    response = api_client.post(
        v2_redeem_url(rich), {"points": 10, "skipValidation": True}, format="json"
    )

    assert v2_codes(response.json()) == [8069]


@pytest.mark.django_db
def test_v2_redeem_validates_the_body(api_client, rich):
    response = api_client.post(v2_redeem_url(rich), {"redemptionType": "COUPON"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["status"] is False


@pytest.mark.django_db
def test_sms_outbox_is_the_console_backend(settings):
    assert settings.SMS_BACKEND == "console"
    assert isinstance(sms.outbox, list)


@pytest.mark.django_db
def test_redemption_event_is_a_points_redemption(api_client, rich):
    api_client.post(url(REDEEM, skip_validation="true"), redeem_body(rich, 5), format="json")

    assert (
        LedgerEvent.objects.filter(customer=rich, event_name=EventName.POINTS_REDEMPTION).count()
        == 1
    )


@pytest.mark.django_db
def test_another_customer_keeps_its_own_points(api_client, org, program, rich, till):
    neighbour = CustomerFactory(org=org)

    api_client.post(url(REDEEM, skip_validation="true"), redeem_body(rich, 5), format="json")

    assert balance(neighbour, program) == 0
