"""v2 coupon series API (CONTRACT.md §2.1): the contract's samples, shapes, errors and scope."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coupons.models import CodeType, CouponSeries, ExpiryStrategy

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "contract"
SERIES_URL = "/v2/coupon/series"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def create(client, body, **headers):
    return client.post(SERIES_URL, body, format="json", **headers)


def first_error(response) -> dict:
    return response.json()["errors"][0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("request_file", "response_file"),
    [
        (
            "coupons_v2_series_create_current_request.json",
            "coupons_v2_series_create_current_response.json",
        ),
        ("coupons_v2_series_create_request.json", "coupons_v2_series_create_response.json"),
    ],
)
def test_contract_samples_are_accepted_in_the_contract_shape(
    api_client, org, request_file, response_file
):
    # given the contract's create request
    body = example(request_file)

    # when it is posted
    response = create(api_client, body)

    # then the series is created and answered with every key of the contract's response
    assert response.status_code == 200, response.json()
    data = response.json()
    assert set(example(response_file)) <= set(data)
    series = CouponSeries.objects.get(pk=data["id"])
    sent = body["CouponSeriesV2"]
    assert data["orgId"] == org.pk
    for key in (
        "description",
        "discountCode",
        "maxCreate",
        "maxRedeem",
        "anyUser",
        "isMultipleVouchersPerUserAllowed",
        "doNotResendExistingVoucher",
        "maxVouchersPerUser",
        "minDaysBetweenVouchers",
        "discountValue",
        "minBillAmount",
        "maxBillAmount",
        "maxRedemptionsInSeriesPerUser",
        "minDaysBetweenRedemption",
        "redemptionValidAfterDays",
        "alphaNumeric",
        "randomCodeLength",
        "resendMessageEnabled",
        "clientHandlingType",
        "expiryStrategyType",
        "discountType",
        "smsTemplate",
        "info",
        "isValidWithDiscountedItem",
        "targetUserDetails",
        "customPropertyMap",
        "mutualExclusiveSeriesIds",
    ):
        assert data[key] == sent[key], key
    assert json.loads(data["redemptionRange"]) == {"dom": [1], "dow": [1], "hours": [1]}
    assert data["productInfo"] == sent["productInfo"]
    assert data["redemptionOrgEntityDetails"] == sent["redemptionOrgEntityDetails"]
    assert data["termsAndConditions"] == "terms and condtion"
    assert (series.code_type, series.expiry_strategy) == (CodeType.UNIQUE, "SERIES_EXPIRY")
    assert isinstance(data["warnings"], list)


@pytest.mark.django_db
def test_current_sample_stores_its_settings(api_client):
    response = create(api_client, example("coupons_v2_series_create_current_request.json"))

    series = CouponSeries.objects.get(pk=response.json()["id"])
    assert series.past_issual_series_ids == [10]
    assert series.max_per_customer == 11 and series.min_days_between_issuals == 23
    assert series.resends_existing_coupon is False
    assert series.redemption_range == {"dom": [1], "dow": [1], "hours": [1]}
    assert series.target_max_transactions == 1
    assert response.json()["storeIdsJson"] == "[40]"
    # the excluded offer 10 is not an offer of this org: a warning, not an error
    assert any("10" in warning["message"] for warning in response.json()["warnings"])


@pytest.mark.django_db
def test_old_sample_with_an_ended_offer_warns(api_client):
    response = create(api_client, example("coupons_v2_series_create_request.json"))

    assert response.status_code == 200
    assert any("ended" in warning["message"] for warning in response.json()["warnings"])


@pytest.mark.django_db
def test_get_by_ids(api_client, other_client):
    created = create(api_client, example("coupons_v2_series_create_current_request.json")).json()

    response = api_client.get(SERIES_URL, {"ids": [created["id"], 999999]})

    assert response.status_code == 200
    data = response.json()
    assert [item["id"] for item in data["entity"]] == [created["id"]]
    assert data["entity"][0]["description"] == "DIWALI 100% OFF"
    assert "warnings" not in data["entity"][0]
    assert data["warnings"][0]["code"] == 707

    # another org sees nothing: 404 with 707
    foreign = other_client.get(SERIES_URL, {"ids": created["id"]})
    assert foreign.status_code == 404 and first_error(foreign)["code"] == 707


@pytest.mark.django_db
def test_get_needs_ids(api_client):
    response = api_client.get(SERIES_URL)

    assert response.status_code == 400
    assert first_error(response)["code"] == 799


@pytest.mark.django_db
def test_update(api_client, other_client):
    created = create(api_client, example("coupons_v2_series_create_current_request.json")).json()
    body = {
        "CouponSeriesV2": {
            "description": "DIWALI 20% OFF",
            "discountCode": "XYZ124",
            "discountType": "PERC",
            "discountValue": 20,
            "discountUpto": 300,
            "expiryStrategyType": "DAYS",
            "expiryStrategyValue": 30,
            "maxCreate": 1000,
        }
    }

    response = api_client.put(f"{SERIES_URL}/{created['id']}", body, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["description"], data["discountType"], data["discountUpto"]) == (
        "DIWALI 20% OFF",
        "PERC",
        300,
    )
    assert (data["expiryStrategyType"], data["maxCreate"]) == ("DAYS", 1000)
    # fields left out keep their values
    assert data["maxVouchersPerUser"] == 11 and data["smsTemplate"] == created["smsTemplate"]
    series = CouponSeries.objects.get(pk=created["id"])
    assert series.expiry_strategy == ExpiryStrategy.DAYS

    # another org's series is a 404
    foreign = other_client.put(f"{SERIES_URL}/{created['id']}", body, format="json")
    assert foreign.status_code == 404 and first_error(foreign)["code"] == 707


@pytest.mark.django_db
def test_update_accepts_a_bare_object_and_needs_its_required_fields(api_client):
    created = create(api_client, example("coupons_v2_series_create_current_request.json")).json()
    url = f"{SERIES_URL}/{created['id']}"

    missing = api_client.put(url, {"description": "Only a name"}, format="json")
    bare = api_client.put(
        url,
        {"description": "Bare", "discountCode": "B1", "discountType": "ABS", "numIssued": 99},
        format="json",
    )

    assert missing.status_code == 400 and first_error(missing)["code"] == 799
    assert "discountCode" in first_error(missing)["message"]
    assert bare.status_code == 200 and bare.json()["description"] == "Bare"
    assert bare.json()["numIssued"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"discountType": "PERC", "discountValue": 150}, "percentage"),
        ({"clientHandlingType": "GENERIC"}, "common code"),
        ({"clientHandlingType": "RANDOMIZED_GENERIC"}, "clientHandlingType"),
        ({"discountValue": "lots"}, "discountValue"),
        ({"maxCreate": -5}, "maxCreate"),
        ({"redemptionRange": '{"dow": [9]}'}, "redemptionRange"),
        ({"smsTemplate": "Hi {{nickname}}"}, "nickname"),
        ({"productInfo": [{"productType": "SIZE", "productIds": [1]}]}, "productType"),
    ],
)
def test_invalid_bodies_answer_799_and_write_nothing(api_client, change, text):
    body = example("coupons_v2_series_create_current_request.json")
    body["CouponSeriesV2"].update(change)

    response = create(api_client, body)

    assert response.status_code == 400
    error = first_error(response)
    assert error["code"] == 799 and text in error["message"], error
    assert not CouponSeries.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [[], "text", {"CouponSeriesV2": []}])
def test_malformed_body(api_client, body):
    response = create(api_client, body)

    assert response.status_code == 400
    assert response.json()["warnings"] == []


@pytest.mark.django_db
def test_common_code_series_and_extensions(api_client):
    body = {
        "CouponSeriesV2": {
            "description": "Welcome",
            "discountType": "ABS",
            "discountValue": 5,
            "clientHandlingType": "GENERIC",
            "genericCode": "welcome5",
            "validTillDate": "2099-01-01T00:00:00Z",
            "expiryStrategyType": "MONTHS_END",
            "expiryStrategyValue": 1,
            "maxCreate": 100,
            "issualLimitNotificationThreshold": 10,
            "restrictToAudience": True,
            "expiryReminders": [
                {
                    "daysBeforeExpiry": 2,
                    "channel": "SMS",
                    "time": "10:00",
                    "message": "{{coupon_code}} ends {{valid_till}}",
                }
            ],
        }
    }

    response = create(api_client, body)

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["genericCode"] == "WELCOME5" and data["clientHandlingType"] == "GENERIC"
    assert data["issualLimitNotificationThreshold"] == 10 and data["restrictToAudience"]
    assert data["expiryReminders"] == body["CouponSeriesV2"]["expiryReminders"]


@pytest.mark.django_db
def test_third_party_series_ignores_issual_settings_with_a_warning(api_client):
    body = example("coupons_v2_series_create_current_request.json")
    body["CouponSeriesV2"]["externalIssual"] = True

    response = create(api_client, body)

    data = response.json()
    assert response.status_code == 200
    assert data["externalIssual"] and data["anyUser"]
    assert data["maxVouchersPerUser"] == -1 and data["mutualExclusiveSeriesIds"] == "[]"
    assert any("Third-party" in warning["message"] for warning in data["warnings"])


@pytest.mark.django_db
def test_create_replay_with_idempotency_key(api_client):
    body = example("coupons_v2_series_create_current_request.json")

    first = create(api_client, body, HTTP_IDEMPOTENCY_KEY="series-1")
    replay = create(api_client, body, HTTP_IDEMPOTENCY_KEY="series-1")
    body["CouponSeriesV2"]["description"] = "Something else"
    conflict = create(api_client, body, HTTP_IDEMPOTENCY_KEY="series-1")

    assert first.json()["id"] == replay.json()["id"]
    assert conflict.status_code == 409
    assert CouponSeries.objects.count() == 1


@pytest.mark.django_db
def test_needs_authentication(client):
    response = client.post(SERIES_URL, {}, content_type="application/json")

    assert response.status_code == 401
