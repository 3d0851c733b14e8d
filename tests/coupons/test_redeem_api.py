"""Redeem, is-redeemable, reactivate and revoke through the APIs (CONTRACT.md §1.3, §1.4, §1.8,
§2.2, §2.3): the samples' shapes, every rule's code in the envelope, replays, the throttle."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from django.test import override_settings

from coupons.models import Coupon, CouponRedemption, CouponRevocation
from tests.coupons.redeem_helpers import issue, redeem
from tests.coupons.test_issue_api import key_paths, sample
from tests.members.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(org):
    return CustomerFactory(org=org, mobile="447700900000", email="tom.sawyer@example.com")


@pytest.fixture
def series(make_series):
    return make_series(
        discount_type="ABS",
        discount_value=10,
        discount_code="XYZ123",
        allows_multiple_per_customer=True,
        max_per_customer=10,
    )


@pytest.fixture
def coupon(series, customer, till):
    return issue(series, customer, till)


# v1.1 redeem ---------------------------------------------------------------------------------
def test_v11_redeem_accepts_the_sample_and_answers_in_its_shape(api_client, coupon, customer):
    body = sample("coupons_v11_redeem_request.json")
    body["root"]["coupon"][0]["code"] = coupon.code.lower()
    response = api_client.post("/v1.1/coupon/redeem?format=json", body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    expected = sample("coupons_v11_redeem_response.json")
    assert key_paths(expected) <= key_paths(data)
    item = data["coupons"]["coupon"]
    assert item["item_status"]["code"] == 700
    assert item["code"] == coupon.code
    assert item["is_absolute"] == "true" and item["coupon_value"] == "10"
    assert item["transaction"] == {"amount": "1000.00", "number": "bill-110"}
    redemption = CouponRedemption.objects.get()
    assert item["redemptionId"] == str(redemption.pk)
    assert redemption.custom_fields == {"Sport": "Soccer", "custom_field2": "50"}
    # The same coupon on the same bill again: the first redemption, not a second one.
    again = api_client.post("/v1.1/coupon/redeem", body, format="json").json()
    assert again["coupons"]["coupon"]["redemptionId"] == str(redemption.pk)
    assert CouponRedemption.objects.count() == 1


def test_v11_redeem_answers_each_coupon_on_its_own(api_client, coupon, customer):
    body = {
        "root": {
            "coupon": [
                {
                    "code": coupon.code,
                    "customer": {"mobile": customer.mobile},
                    "transaction": [{"number": "B-1", "amount": "100"}],
                },
                {"code": "NOSUCHCODE", "customer": {"mobile": customer.mobile}},
                {"code": coupon.code, "customer": {"mobile": "440000000000"}},
                "not an object",
            ]
        }
    }
    data = api_client.post("/v1.1/coupon/redeem", body, format="json").json()
    codes = [item["item_status"]["code"] for item in data["coupons"]["coupon"]]
    assert codes == [700, 702, 701, 400]
    assert data["status"]["code"] == 201


def test_v11_redeem_bad_amount_and_future_time(api_client, coupon, customer):
    item = {
        "code": coupon.code,
        "customer": {"mobile": customer.mobile},
        "transaction": {"number": "B-1", "amount": "lots"},
    }
    data = api_client.post("/v1.1/coupon/redeem", {"root": {"coupon": item}}, format="json").json()
    assert data["coupons"]["coupon"]["item_status"]["code"] == 733
    item = {
        **item,
        "transaction": {"number": "B-1", "amount": "10"},
        "redemption_time": "2999-01-01 10:00:00",
    }
    data = api_client.post("/v1.1/coupon/redeem", {"root": {"coupon": item}}, format="json").json()
    assert data["coupons"]["coupon"]["item_status"]["code"] == 739
    assert not CouponRedemption.objects.exists()


def test_v11_isredeemable_shape_and_every_failed_rule(api_client, make_series, customer, till):
    series = make_series(min_bill_amount=Decimal("100"), redemption_valid_after_days=3)
    coupon = issue(series, customer, till)
    response = api_client.get(
        f"/v1.1/coupon/isredeemable?mobile={customer.mobile}&code={coupon.code}&details=true&amount=5"
    )
    assert response.status_code == 200
    item = response.json()["response"]["coupons"]["redeemable"]
    assert key_paths(
        sample("coupons_v11_isredeemable_details_response.json")["response"]["coupons"]
    ) <= key_paths({"redeemable": item})
    assert item["is_redeemable"] == "false"
    assert item["item_status"]["code"] == 729
    assert [rule["code"] for rule in item["failed_rules"]] == [729, 733]


def test_v11_isredeemable_ok_in_sample_shape(api_client, coupon, customer):
    data = api_client.get(
        f"/v1.1/coupon/isredeemable?mobile={customer.mobile}&code={coupon.code.lower()}"
        "&coupon_code_case=AS_IT_IS"
    ).json()
    item = data["response"]["coupons"]["redeemable"]
    assert key_paths(sample("coupons_v11_isredeemable_response.json")) <= key_paths(data)
    assert item["is_redeemable"] == "true" and item["redemptions_left"] == 1
    assert item["code"] == coupon.code.lower()


# v2 redeem -----------------------------------------------------------------------------------
def _v2_body(codes, customer, **extra):
    body = copy.deepcopy(sample("coupons_v2_redeem_request.json"))
    body["redemptionRequestList"] = [{"code": code} for code in codes]
    body["user"] = {"mobile": customer.mobile}
    body["redemptionTime"] = ""
    body.update(extra)
    return body


def test_v2_redeem_in_the_samples_shape(api_client, coupon, customer):
    response = api_client.post(
        "/v2/coupon/redeem", _v2_body([coupon.code], customer), format="json"
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert key_paths(sample("coupons_v2_redeem_response.json")) <= key_paths(data)
    item = data["redemption"][0]
    assert item["id"] == CouponRedemption.objects.get().pk
    assert item["couponValue"] == 10.0 and item["isAbsolute"] is True
    assert data["redemptionStatus"]["code"] == 700


def test_v2_redeem_failure_lists_every_rule(api_client, make_series, customer, till):
    series = make_series(min_bill_amount=Decimal("5000"), redemption_valid_after_days=1)
    coupon = issue(series, customer, till)
    response = api_client.post(
        "/v2/coupon/redeem", _v2_body([coupon.code], customer), format="json"
    )
    assert response.status_code == 400
    assert [error["code"] for error in response.json()["errors"]] == [729, 733]


def test_v2_bulk_redeem_is_all_or_nothing(api_client, make_series, series, customer, till):
    good = issue(series, customer, till)
    other = make_series(description="Big bills", min_bill_amount=Decimal("9000"))
    bad = issue(other, customer, till)
    body = _v2_body([good.code, bad.code], customer)
    response = api_client.post("/v2/coupon/bulk/redeem?source=INSTORE", body, format="json")
    assert response.status_code == 400
    data = response.json()
    assert data["failureCount"] == 2
    by_code = {item["entityId"]: item["errors"][0]["code"] for item in data["response"]}
    assert by_code == {good.code: 709, bad.code: 733}
    assert not CouponRedemption.objects.exists()
    Coupon.objects.filter(pk=good.pk).update(redemption_count=0)

    second = issue(series, customer, till)
    body = _v2_body([good.code, second.code], customer)
    response = api_client.post("/v2/coupon/bulk/redeem?source=INSTORE", body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert key_paths(sample("coupons_v2_bulk_redeem_response.json")) <= key_paths(data)
    assert data["totalCount"] == 2 and data["failureCount"] == 0


def test_v2_bulk_redeem_needs_a_source_and_distinct_codes(api_client, coupon, customer):
    body = _v2_body([coupon.code], customer)
    assert api_client.post("/v2/coupon/bulk/redeem", body, format="json").status_code == 400
    body = _v2_body([coupon.code, coupon.code.lower()], customer)
    response = api_client.post("/v2/coupon/bulk/redeem?source=INSTORE", body, format="json")
    assert response.status_code == 400
    assert response.json()["response"][0]["errors"][0]["code"] == 716


def test_v2_redeem_bad_bodies_are_clear_errors(api_client, customer):
    for body in (
        {},
        {"redemptionRequestList": [], "user": {"mobile": customer.mobile}, "billAmount": "1"},
        {"redemptionRequestList": [{"code": "X"}], "user": {}, "billAmount": "1"},
        {"redemptionRequestList": "X", "user": {"mobile": customer.mobile}, "billAmount": "1"},
    ):
        response = api_client.post("/v2/coupon/redeem", body, format="json")
        assert response.status_code in (400, 404), body
        assert response.json()["errors"], body


def test_v2_is_redeemable_shape(api_client, coupon, customer, series, till):
    redeemed = issue(series, CustomerFactory(org=customer.org), till)
    data = api_client.get(
        f"/v2/coupon/is_redeemable?mobile={customer.mobile}&code={coupon.code},{redeemed.code}"
    ).json()
    assert key_paths(sample("coupons_v2_is_redeemable_response.json")) <= key_paths(data)
    first, second = data["redemption"]
    assert first["isRedeemable"] is True and first["redemptionsLeft"] == 1
    assert second["isRedeemable"] is False and second["errors"][0]["code"] == 703


def test_another_orgs_coupon_is_an_invalid_code(other_client, coupon, customer, other_org):
    CustomerFactory(org=other_org, mobile=customer.mobile)
    response = other_client.post(
        "/v2/coupon/redeem", _v2_body([coupon.code], customer), format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 702


# Reactivate ----------------------------------------------------------------------------------
def test_reactivate_reverses_and_the_coupon_can_be_redeemed_again(
    api_client, coupon, customer, till
):
    outcome = redeem(coupon, customer, till, transaction_number="B-1")
    body = sample("coupons_v2_reactivate_request.json")
    body["redemptionIds"] = [outcome.redemption.pk]
    response = api_client.post("/v2/coupon/reactivate", body, format="json")
    assert response.json() == sample("coupons_v2_reactivate_response.json")
    outcome.redemption.refresh_from_db()
    assert outcome.redemption.is_active is False
    coupon.refresh_from_db()
    assert coupon.redemption_count == 0
    assert redeem(coupon, customer, till, transaction_number="B-1").replayed is False
    again = api_client.post("/v2/coupon/reactivate", body, format="json").json()
    assert again["success"] is False and again["errors"][0]["code"] == 737
    missing = api_client.post("/v2/coupon/reactivate", {"redemptionIds": [999999]}, format="json")
    assert missing.json()["errors"][0]["code"] == 734


def test_revoked_coupon_cannot_be_reactivated(api_client, coupon, customer, till):
    outcome = redeem(coupon, customer, till)
    from django.utils import timezone

    Coupon.objects.filter(pk=coupon.pk).update(revoked_at=timezone.now())
    data = api_client.post(
        "/v2/coupon/reactivate", {"redemptionIds": [outcome.redemption.pk]}, format="json"
    ).json()
    assert data["errors"][0]["code"] == 749


# Revoke --------------------------------------------------------------------------------------
def test_revoke_by_codes_in_the_samples_shape(api_client, series, coupon, customer, till):
    redeemed = issue(series, customer, till)
    redeem(redeemed, customer, till)
    body = sample("coupons_v2_revoke_by_codes_request.json")
    body["couponSeriesId"] = series.pk
    body["couponCodes"] = [coupon.code, redeemed.code, "CODE123"]
    data = api_client.post("/v2/coupon/revoke", body, format="json").json()
    assert key_paths(sample("coupons_v2_revoke_response.json")) <= key_paths(data)
    entity = data["entity"]
    assert entity["totalCount"] == 3 and entity["failedCount"] == 2
    assert entity["revokedCoupons"] == [
        {"couponId": coupon.pk, "couponCode": coupon.code, "issuedToUserId": customer.pk}
    ]
    failed = {item["errorCode"]: item["couponCodes"] for item in entity["failedToRevoke"]}
    assert failed == {405: [redeemed.code], 682: ["CODE123"]}
    revocation = CouponRevocation.objects.get()
    assert (revocation.mode, revocation.revoked_count, revocation.revoked_by_till) == (
        "CODES",
        1,
        till,
    )
    coupon.refresh_from_db()
    assert coupon.revoked_at is not None
    response = api_client.post(
        "/v2/coupon/redeem", _v2_body([coupon.code], customer), format="json"
    )
    assert response.json()["errors"][0]["code"] == 749


def test_revoke_by_customer_and_errors(api_client, make_series, series, customer, till):
    multi = make_series(description="Multi", allows_multiple_per_customer=True, max_per_customer=5)
    coupons = [issue(multi, customer, till) for _ in range(3)]
    body = sample("coupons_v2_revoke_by_customer_request.json")
    body["couponSeriesId"] = multi.pk
    body["customer"] = {"mobile": customer.mobile}
    data = api_client.post("/v2/coupon/revoke", body, format="json").json()
    assert {item["couponId"] for item in data["entity"]["revokedCoupons"]} == {
        c.pk for c in coupons
    }
    response = api_client.post("/v2/coupon/revoke", {"couponSeriesId": series.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        **sample("coupons_v2_revoke_error_756_response.json"),
        "warnings": [],
    } or (response.json()["errors"][0]["code"] == 756)
    too_many = {"couponSeriesId": series.pk, "couponCodes": [f"C{n}" for n in range(51)]}
    assert (
        api_client.post("/v2/coupon/revoke", too_many, format="json").json()["errors"][0]["code"]
        == 757
    )


@override_settings(COUPON_REDEMPTION_COUNTER_SHARDS=4)
def test_shards_follow_the_setting(make_series, customer, till):
    series = make_series(max_redemptions=10)
    redeem(issue(series, customer, till), customer, till)
    assert series.redemption_counters.count() == 4
    assert sum(row.quota for row in series.redemption_counters.all()) == 10


# Throttle ------------------------------------------------------------------------------------
@override_settings(COUPON_THROTTLE_CUSTOMER_FAILURES=3, COUPON_THROTTLE_TILL_FAILURES=5)
def test_failed_validations_are_throttled_per_customer_and_till(api_client, coupon, customer, org):
    from django.core.cache import cache

    cache.clear()
    for _ in range(3):
        response = api_client.get(f"/v2/coupon/is_redeemable?mobile={customer.mobile}&code=WRONG1")
        assert response.status_code == 200
    response = api_client.get(
        f"/v2/coupon/is_redeemable?mobile={customer.mobile}&code={coupon.code}"
    )
    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == 429
    other = CustomerFactory(org=org)
    for _ in range(2):
        api_client.get(f"/v2/coupon/is_redeemable?mobile={other.mobile}&code=WRONG2")
    # The till has now failed 5 times: every customer is throttled at this till.
    third = CustomerFactory(org=org)
    response = api_client.post("/v2/coupon/redeem", _v2_body(["WRONG3"], third), format="json")
    assert response.status_code == 429
    v11 = api_client.get(f"/v1.1/coupon/isredeemable?mobile={third.mobile}&code=X")
    assert v11.status_code == 429 and v11.json()["response"]["status"]["code"] == 429
