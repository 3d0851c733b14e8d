"""Issue APIs: v1.1 issue and resend, v2 issue, bulk issue and issue multiple: the contract's
samples, per-item failures, idempotency and org isolation."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from coupons.models import CodeType, Coupon, CouponSeries
from coupons.services.issue import coupon_issue
from loyalty_site.core import sms
from tests.members.factories import CustomerFactory

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "contract"
pytestmark = pytest.mark.django_db


def sample(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value (list items share the path of the list)."""
    if isinstance(value, dict):
        paths = set()
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths |= {path} | key_paths(item, path)
        return paths
    if isinstance(value, list):
        return set().union(*(key_paths(item, prefix) for item in value)) if value else set()
    return set()


@pytest.fixture(autouse=True)
def _empty_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def customer(org):
    return CustomerFactory(org=org, mobile="447700900000", email="tom.sawyer@example.com")


@pytest.fixture
def series(make_series):
    return make_series(
        description="Sample description",
        discount_code="XYZ123",
        discount_type="ABS",
        discount_value=0,
        info="Sample information",
    )


def issued(series) -> int:
    return Coupon.objects.filter(series=series, customer__isnull=False).count()


# v1.1 issue ----------------------------------------------------------------------------------
def test_v11_issue_accepts_the_sample_and_answers_in_its_shape(api_client, series, customer):
    # given the contract's request, pointed at our offer
    body = sample("coupons_v11_issue_request.json")
    body["root"]["coupon"][0]["series_id"] = str(series.pk)

    # when it is posted
    response = api_client.post("/v1.1/coupon/issue?format=json&user_id=true", body, format="json")

    # then one coupon was issued and the answer has every key of the contract's sample
    assert response.status_code == 200
    data = response.json()
    assert key_paths(sample("coupons_v11_issue_response.json")) <= key_paths(data)
    coupon = Coupon.objects.get(series=series)
    answer = data["response"]["coupon"]
    assert answer["code"] == coupon.code and answer["customer"]["user_id"] == str(customer.pk)
    assert answer["series_info"] | {"discount_on": "BILL"} == {
        "id": str(series.pk),
        "description": "Sample description",
        "discount_code": "XYZ123",
        "valid_till": series.valid_till.astimezone(series.org.tzinfo).date().isoformat(),
        "discount_type": "ABS",
        "discount_value": "0",
        "discount_on": "BILL",
        "detailed_info": "Sample information",
    }
    assert answer["item_status"]["code"] == 700
    assert data["response"]["status"]["success"] == "true"


def test_v11_issue_answers_each_coupon_on_its_own(api_client, series, customer, org, make_series):
    # given a batch: a good coupon, an unknown customer, an unknown series, a limit breach
    limited = make_series(description="Once", allows_multiple_per_customer=False)
    coupon_issue(series=limited, customer=customer, actor=None)
    body = {
        "root": {
            "coupon": [
                {"series_id": series.pk, "customer": {"email": customer.email}},
                {"series_id": series.pk, "customer": {"mobile": "449999999999"}},
                {"series_id": 999999, "customer": {"mobile": customer.mobile}},
                {"series_id": limited.pk, "customer": {"external_id": customer.external_id}},
                {"series_id": "x", "customer": {}},
            ]
        }
    }

    response = api_client.post("/v1.1/coupon/issue", body, format="json")

    data = response.json()["response"]
    assert response.status_code == 200
    assert data["status"]["code"] == 201 and data["status"]["success_count"] == "1"
    codes = [item["item_status"]["code"] for item in data["coupon"]]
    assert codes == [700, 701, 707, 744, 400]
    assert "user_id" not in data["coupon"][0]["customer"]
    assert data["coupon"][1]["customer"] == {"mobile": "449999999999"}
    assert issued(series) == 1 and issued(limited) == 1


def test_v11_issue_replays_an_idempotency_key(api_client, series, customer):
    body = {"root": {"coupon": [{"series_id": series.pk, "customer": {"user_id": customer.pk}}]}}

    first = api_client.post("/v1.1/coupon/issue", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api_client.post("/v1.1/coupon/issue", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert first.json()["response"]["coupon"]["code"] == again.json()["response"]["coupon"]["code"]
    assert issued(series) == 1


def test_v11_issue_of_another_orgs_series_or_customer_is_not_found(
    api_client, other_client, series, customer, other_org
):
    stranger = CustomerFactory(org=other_org)
    body = {"root": {"coupon": [{"series_id": series.pk, "customer": {"user_id": customer.pk}}]}}
    mine = {"root": {"coupon": [{"series_id": series.pk, "customer": {"user_id": stranger.pk}}]}}

    theirs = other_client.post("/v1.1/coupon/issue", body, format="json").json()
    foreign = api_client.post("/v1.1/coupon/issue", mine, format="json").json()

    assert theirs["response"]["coupon"]["item_status"]["code"] == 707
    assert foreign["response"]["coupon"]["item_status"]["code"] == 701
    assert theirs["response"]["status"]["code"] == 500
    assert issued(series) == 0


def test_v11_issue_malformed_body_is_a_v11_error(api_client):
    response = api_client.post("/v1.1/coupon/issue", {"coupon": []}, format="json")

    assert response.status_code == 400
    assert response.json()["response"]["status"]["success"] == "false"


# v1.1 resend ---------------------------------------------------------------------------------
@pytest.fixture
def resendable(make_series, customer):
    series = make_series(is_resend_enabled=True, sms_template="Your code {{coupon_code}}")
    return coupon_issue(series=series, customer=customer, actor=None).coupon


def test_v11_resend_by_id_and_code_in_the_samples_shape(api_client, resendable, customer):
    response = api_client.get(
        f"/v1.1/coupon/resend?mobile={customer.mobile}&id={resendable.pk}&code={resendable.code}"
    )

    data = response.json()
    assert response.status_code == 200
    assert key_paths(sample("coupons_v11_resend_response.json")) <= key_paths(data)
    items = data["response"]["coupons"]["coupon"]
    assert [(i["id"], i["code"], i["item_status"]["message"]) for i in items] == [
        (str(resendable.pk), resendable.code, "Coupon Resent")
    ] * 2
    assert [message.body for message in sms.outbox] == [f"Your code {resendable.code}"] * 2


def test_v11_resend_failures(api_client, resendable, customer, org):
    stranger = CustomerFactory(org=org)

    wrong_customer = api_client.get(f"/v1.1/coupon/resend?user_id={stranger.pk}&id={resendable.pk}")
    unknown = api_client.get(f"/v1.1/coupon/resend?mobile={customer.mobile}&code=NOPE,12x")
    nobody = api_client.get(f"/v1.1/coupon/resend?mobile=449999999999&id={resendable.pk}")
    nothing = api_client.get(f"/v1.1/coupon/resend?mobile={customer.mobile}")

    status = lambda r: [i["item_status"]["code"] for i in r.json()["response"]["coupons"]["coupon"]]  # noqa: E731
    assert status(wrong_customer) == [703]
    assert status(unknown) == [719, 719]
    assert status(nobody) == [701]
    assert nothing.status_code == 400
    assert nothing.json()["response"]["status"]["code"] == 702
    assert sms.outbox == []


# v2 issue ------------------------------------------------------------------------------------
def test_v2_issue_accepts_the_sample_and_answers_in_its_shape(api_client, series, customer):
    body = sample("coupons_v2_issue_request.json")
    body["seriesId"] = series.pk
    body["customer"]["id"] = customer.pk

    response = api_client.post("/v2/coupon/issue", body, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()
    assert key_paths(sample("coupons_v2_issue_response.json")) <= key_paths(data)
    coupon = Coupon.objects.get(series=series)
    assert (data["code"], data["id"], data["seriesId"]) == (coupon.code, coupon.pk, series.pk)
    assert data["customer"]["id"] == customer.pk
    identifiers = data["customer"]["profiles"][0]["identifiers"]
    assert {"type": "mobile", "value": "447700900000"} in identifiers
    assert data["discountType"] == "ABS" and data["discountValue"] == 0.0
    assert data["validTill"].endswith("Z") and data["warnings"] == []


def test_v2_issue_errors(api_client, series, customer, org, make_series):
    other = CustomerFactory(org=org)
    ended = make_series(description="Old")
    CouponSeries.objects.filter(pk=ended.pk).update(valid_till="2020-01-01T00:00:00Z")

    cases = [
        ({"seriesId": series.pk, "customer": {"mobile": "", "email": ""}}, 404, 701),
        ({"seriesId": 999999, "customer": {"id": customer.pk}}, 404, 707),
        ({"seriesId": ended.pk, "customer": {"id": customer.pk}}, 400, 712),
        (
            {"seriesId": series.pk, "customer": {"id": customer.pk, "mobile": other.mobile}},
            400,
            721,
        ),
        ({"customer": {"id": customer.pk}}, 400, 400),
    ]
    for body, http_status, code in cases:
        response = api_client.post("/v2/coupon/issue", body, format="json")
        assert response.status_code == http_status, body
        assert response.json()["errors"][0]["code"] == code, body
    assert Coupon.objects.count() == 0


def test_v2_issue_key_reused_for_another_customer_is_409(api_client, series, customer, org):
    other = CustomerFactory(org=org)
    first = {"seriesId": series.pk, "customer": {"id": customer.pk}}
    second = {"seriesId": series.pk, "customer": {"id": other.pk}}

    api_client.post("/v2/coupon/issue", first, format="json", HTTP_IDEMPOTENCY_KEY="same")
    response = api_client.post(
        "/v2/coupon/issue", second, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )

    assert response.status_code == 409 and response.json()["errors"][0]["code"] == 409
    assert issued(series) == 1


def test_v2_issue_of_an_existing_valid_coupon_warns(api_client, make_series, customer):
    series = make_series(allows_multiple_per_customer=False, resends_existing_coupon=True)
    body = {"seriesId": series.pk, "customer": {"externalId": customer.external_id}}

    first = api_client.post("/v2/coupon/issue", body, format="json").json()
    second = api_client.post("/v2/coupon/issue", body, format="json").json()

    assert first["code"] == second["code"] and first["warnings"] == []
    assert second["warnings"][0]["code"] == 700


# v2 bulk issue and issue multiple ------------------------------------------------------------
def test_v2_bulk_issue_accepts_the_sample(api_client, series, customer, make_series, other_org):
    second = make_series(description="10 units", discount_value=10, discount_type="ABS")
    theirs = make_series(org=other_org, description="Theirs")
    body = copy.deepcopy(sample("coupons_v2_bulk_issue_request.json"))
    body["seriesIds"] = [series.pk, second.pk, theirs.pk]
    body["customer"]["id"] = str(customer.pk)
    body["metadata"] = {"sourceType": "CAMPAIGN", "notes": "welcome pack"}

    response = api_client.post("/v2/coupon/bulk/issue?source=INSTORE", body, format="json")

    assert response.status_code == 200
    data = response.json()
    assert key_paths(sample("coupons_v2_bulk_issue_response.json")) <= key_paths(data)
    assert (data["totalCount"], data["failureCount"]) == (3, 1)
    assert [item["entityId"] for item in data["response"]] == [series.pk, second.pk, theirs.pk]
    assert data["response"][1]["result"]["discountValue"] == 10.0
    assert data["response"][2]["errors"][0]["code"] == 707
    assert data["response"][2]["result"] is None
    coupon = Coupon.objects.get(series=second)
    assert coupon.issue_metadata == {
        "sourceType": "CAMPAIGN",
        "notes": "welcome pack",
        "source": "INSTORE",
    }
    assert Coupon.objects.filter(series=theirs).count() == 0


def test_v2_bulk_issue_needs_a_source_and_short_metadata(api_client, series, customer):
    body = {"seriesIds": [series.pk], "customer": {"id": customer.pk}}
    too_long = {**body, "metadata": {"reason": "x" * 51}}

    missing = api_client.post("/v2/coupon/bulk/issue", body, format="json")
    unknown = api_client.post("/v2/coupon/bulk/issue?source=MOON", body, format="json")
    long_meta = api_client.post("/v2/coupon/bulk/issue?source=INSTORE", too_long, format="json")

    assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == 8003
    assert unknown.json()["errors"][0]["code"] == 8003
    assert (
        long_meta.status_code == 400
        and "metadata.reason" in long_meta.json()["errors"][0]["message"]
    )
    assert issued(series) == 0


def test_v2_issue_multiple_stops_at_the_per_customer_maximum(api_client, make_series, customer):
    series = make_series(allows_multiple_per_customer=True, max_per_customer=3)
    body = {"seriesId": series.pk, "customer": {"mobile": customer.mobile}, "count": 5}

    response = api_client.post(
        "/v2/coupon/issue/multiple", body, format="json", HTTP_IDEMPOTENCY_KEY="m1"
    )
    replay = api_client.post(
        "/v2/coupon/issue/multiple", body, format="json", HTTP_IDEMPOTENCY_KEY="m1"
    )

    data = response.json()
    assert (data["totalCount"], data["failureCount"]) == (5, 2)
    assert [bool(item["errors"]) for item in data["response"]] == [False] * 3 + [True] * 2
    assert data["response"][4]["errors"][0]["code"] == 744
    codes = {item["result"]["code"] for item in data["response"][:3]}
    assert len(codes) == 3 and issued(series) == 3
    assert {item["result"]["code"] for item in replay.json()["response"][:3]} == codes
    assert issued(series) == 3


def test_v2_issue_multiple_count_is_bounded(api_client, series, customer):
    body = {"seriesId": series.pk, "customer": {"id": customer.pk}, "count": 501}

    response = api_client.post("/v2/coupon/issue/multiple", body, format="json")

    assert response.status_code == 400 and issued(series) == 0


def test_v2_issue_common_code_once(api_client, make_series, customer):
    series = make_series(code_type=CodeType.COMMON, generic_code="HELLO5")
    body = {"seriesId": series.pk, "customer": {"id": customer.pk}}

    first = api_client.post("/v2/coupon/issue", body, format="json")
    second = api_client.post("/v2/coupon/issue", body, format="json")

    assert first.json()["code"] == "HELLO5"
    assert second.status_code == 400 and second.json()["errors"][0]["code"] == 746
