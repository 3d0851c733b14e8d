"""Coupon reads: v1.1 coupon details, series details and customer coupons, v2 coupon details,
customer coupons (basic and detailed) and the series filter by redemption place: the contract's
sample shapes, filters, sorting, paging, reversal flags and org scoping."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from coupons.models import Coupon, RedemptionEntityType
from tests.coupons.factories import CouponSeriesFactory
from tests.coupons.read_factories import IssuedCouponFactory, redeem, reverse
from tests.members.factories import (
    ConceptFactory,
    CustomerFactory,
    StoreFactory,
    TillFactory,
    ZoneFactory,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "contract"
pytestmark = pytest.mark.django_db
NOW = timezone.now


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


def place(kind: str, entity_id: int) -> dict[str, Any]:
    return {"redemptionOrgEntityType": kind, "orgEntityId": entity_id}


@pytest.fixture
def customer(org):
    return CustomerFactory(
        org=org, mobile="447700900999", email="johndoe@example.com", first_name="John"
    )


@pytest.fixture
def offer(org, till):
    return CouponSeriesFactory(
        org=org, description="API Coupon 3", discount_code="XYZ123", created_by_till=till
    )


def issue(offer, customer, **fields) -> Coupon:
    return IssuedCouponFactory(series=offer, customer=customer, **fields)


# v1.1 coupon/get -----------------------------------------------------------------------------
def test_v11_get_answers_a_redeemed_coupon_in_the_samples_shape(api_client, offer, customer, till):
    # given a coupon issued at our till and redeemed there on a bill
    coupon = issue(offer, customer, issued_by_till=till)
    redemption = redeem(coupon, till=till, store=till.store, transaction_number="BILL-20304")

    # when its details are read by id
    response = api_client.get(f"/v1.1/coupon/get?id={coupon.pk}&format=json")

    # then the answer has every key of the contract's sample, and the redemption
    assert response.status_code == 200
    data = response.json()
    assert key_paths(sample("coupons_v11_get_response.json")) <= key_paths(data)
    answer = data["response"]["coupons"]["coupon"]
    assert answer["id"] == str(coupon.pk)
    assert answer["redemption_info"]["redeemed"] == "true"
    assert answer["redemption_info"]["redeemed_at"] == till.code
    assert answer["redemption_info"]["id"] == str(redemption.pk)
    assert answer["transaction"]["number"] == "BILL-20304"
    assert answer["store"] == {"code": till.store.code, "name": till.store.name}
    assert answer["issued_store"]["code"] == till.store.code
    assert answer["customer"]["user_id"] == str(customer.pk)
    assert answer["isReversed"] == "false"
    assert answer["item_status"]["code"] == 700
    local = coupon.valid_till.astimezone(offer.org.tzinfo)
    assert answer["valid_till"] == local.strftime("%d-%m-%Y")


def test_v11_get_reports_a_reversed_redemption(api_client, offer, customer, till):
    # given a coupon whose redemption was reversed (a returned bill)
    coupon = issue(offer, customer)
    redemption = redeem(coupon, till=till, store=till.store)
    reversed_at = NOW().replace(microsecond=0)
    reverse(redemption, at=reversed_at)

    # when it is read by code, in lower case
    response = api_client.get(f"/v1.1/coupon/get?code={coupon.code.lower()}")

    # then it is not redeemed any more, flagged reversed, with the reversal time (local)
    answer = response.json()["response"]["coupons"]["coupon"]
    assert answer["redemption_info"]["redeemed"] == "false"
    assert answer["isReversed"] == "true"
    local = reversed_at.astimezone(offer.org.tzinfo)
    assert answer["last_status_change_on"] == local.strftime("%Y-%m-%d %H:%M:%S")
    assert answer["transaction"]["number"] == redemption.transaction_number


def test_v11_get_answers_each_of_a_list_with_its_own_status(api_client, offer, customer, other_org):
    # given one coupon of ours and one of another org
    mine = issue(offer, customer)
    foreign = issue(CouponSeriesFactory(org=other_org), CustomerFactory(org=other_org))

    # when both ids, an unknown code and a malformed id are asked
    response = api_client.get(
        f"/v1.1/coupon/get?id={mine.pk},{foreign.pk},x1&code=NOPE&coupon_code_case=LOWER"
    )

    # then ours is answered, the others fail on their own (719 / 702), request status 201
    body = response.json()["response"]
    assert body["status"]["code"] == 201
    items = body["coupons"]["coupon"]
    assert [item["item_status"]["code"] for item in items] == [700, 719, 702, 719]
    assert items[0]["code"] == mine.code.lower()
    assert "customer" not in items[1]


def test_v11_get_common_code_needs_the_customer_when_several_hold_it(api_client, org, offer):
    # given a common code held by two customers
    first, second = CustomerFactory(org=org), CustomerFactory(org=org)
    issue(offer, first, code="WELCOME", is_common=True)
    theirs = issue(offer, second, code="WELCOME", is_common=True)

    # when it is read without, then with, the holder's mobile
    without = api_client.get("/v1.1/coupon/get?code=welcome").json()
    withmobile = api_client.get(f"/v1.1/coupon/get?code=welcome&mobile={second.mobile}").json()

    # then the first is ambiguous (702), the second names that customer's coupon
    assert without["response"]["coupons"]["coupon"]["item_status"]["code"] == 702
    assert withmobile["response"]["coupons"]["coupon"]["id"] == str(theirs.pk)


def test_v11_get_without_a_reference_is_a_clear_error(api_client):
    response = api_client.get("/v1.1/coupon/get")

    assert response.status_code == 400
    assert response.json()["response"]["status"]["code"] == 702


def test_v11_get_by_issued_to_ids_lists_the_customers_coupons(api_client, offer, customer):
    coupons = [issue(offer, customer), issue(offer, customer)]

    response = api_client.get(f"/v1.1/coupon/get?issuedToIds={customer.pk}")

    items = response.json()["response"]["coupons"]["coupon"]
    assert {item["id"] for item in items} == {str(coupon.pk) for coupon in coupons}


# v1.1 coupon/series --------------------------------------------------------------------------
def test_v11_series_answers_in_the_samples_shape_with_redemption_places(
    api_client, org, till, customer
):
    # given an offer redeemable at one till, with one coupon issued and redeemed
    offer = CouponSeriesFactory(org=org, redemption_org_entities=[place("TILL", till.pk)])
    redeem(issue(offer, customer), till=till)
    offer.num_issued = 1
    offer.save(update_fields=["num_issued"])

    # when its details are read
    response = api_client.get(f"/v1.1/coupon/series?id={offer.pk}&format=json")

    # then every key of the sample is there, with the places as the sample shows them
    assert response.status_code == 200
    data = response.json()
    assert key_paths(sample("coupons_v11_series_response.json")) <= key_paths(data)
    item = data["response"]["series"]["items"]["item"]
    assert item["valid_redemption_org_entities"] == {
        "concepts": None,
        "zones": None,
        "stores": None,
        "tills": f"[{till.pk}]",
    }
    assert item["coupons"] == {"issued": "1", "redeemed": "0"}  # counters: the lead's shards
    assert item["item_status"]["code"] == 700


def test_v11_series_lists_running_offers_unless_expired_is_asked(api_client, org, other_org):
    running = CouponSeriesFactory(org=org)
    ended = CouponSeriesFactory(org=org, valid_till=NOW() - datetime.timedelta(days=1))
    CouponSeriesFactory(org=other_org)

    default = api_client.get("/v1.1/coupon/series").json()["response"]["series"]["items"]
    everything = api_client.get("/v1.1/coupon/series?expired=true").json()["response"]

    assert default["item"]["id"] == str(running.pk)
    assert [item["id"] for item in everything["series"]["items"]["item"]] == [
        str(ended.pk),
        str(running.pk),
    ]


def test_v11_series_of_another_org_is_not_found(api_client, other_org):
    foreign = CouponSeriesFactory(org=other_org)

    response = api_client.get(f"/v1.1/coupon/series?id={foreign.pk}")

    body = response.json()["response"]
    assert body["status"]["code"] == 500
    assert body["series"]["items"]["item"]["item_status"]["code"] == 707


@pytest.mark.parametrize("query", ["expired=maybe", "id=abc", "limit=0"])
def test_v11_series_bad_parameters_are_400(api_client, query):
    response = api_client.get(f"/v1.1/coupon/series?{query}")

    assert response.status_code == 400
    assert response.json()["response"]["status"]["success"] == "false"


# v1.1 customer/coupons -----------------------------------------------------------------------
def test_v11_customer_coupons_answer_in_the_samples_shape(api_client, offer, customer, till):
    # given a customer with a redeemed coupon
    coupon = issue(offer, customer)
    redeem(coupon, till=till, store=till.store, transaction_number="BIL2042040")

    # when their coupons are read
    response = api_client.get(f"/v1.1/customer/coupons?mobile={customer.mobile}&format=json")

    # then the answer has every key of the sample, and the redemption with its store
    assert response.status_code == 200
    data = response.json()
    assert key_paths(sample("coupons_v11_customer_coupons_response.json")) <= key_paths(data)
    body = data["response"]
    assert body["pagination"] == {"limit": "100", "offset": "0", "total": 1}
    listed = body["customers"]["customer"]
    assert listed["item_status"]["code"] == 1000
    [answer] = listed["coupons"]["coupon"]
    assert answer["redemption_count"] == "1"
    [redemption] = answer["redemptions"]["redemption"]
    assert redemption["transaction_number"] == "BIL2042040"
    assert redemption["redeemed_at"]["code"] == till.store.code
    assert redemption["isReversed"] == "false"


@pytest.fixture
def coupon_states(offer, customer, till):
    """Active unredeemed, active redeemed, expired unredeemed, expired redeemed, revoked."""
    past = NOW() - datetime.timedelta(days=1)
    states = {
        "active": issue(offer, customer),
        "active_redeemed": issue(offer, customer),
        "expired": issue(offer, customer, valid_till=past),
        "expired_redeemed": issue(offer, customer, valid_till=past),
        "revoked": issue(offer, customer, revoked_at=NOW()),
    }
    redeem(states["active_redeemed"], till=till)
    redeem(states["expired_redeemed"], till=till)
    return states


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("unredeemed", {"active", "expired", "revoked"}),
        ("redeemed", {"active_redeemed", "expired_redeemed"}),
        ("expired", {"expired", "expired_redeemed"}),
        ("active", {"active", "active_redeemed"}),
        ("ACTIVE,expired", {"active", "active_redeemed", "expired", "expired_redeemed"}),
    ],
)
def test_v11_customer_coupons_filter_by_status(
    api_client, customer, coupon_states, status, expected
):
    response = api_client.get(f"/v1.1/customer/coupons?id={customer.pk}&status={status}")

    coupons = response.json()["response"]["customers"]["customer"]["coupons"]["coupon"]
    ids = {coupon["id"] for coupon in coupons}
    assert ids == {str(coupon_states[name].pk) for name in expected}


@pytest.fixture
def places(org):
    """Store A in zone Z and concept C with till tA; store B elsewhere with till tB."""
    zone, concept = ZoneFactory(org=org), ConceptFactory(org=org)
    store_a = StoreFactory(org=org, zone=zone, concept=concept)
    store_b = StoreFactory(org=org)
    return {
        "zone": zone,
        "concept": concept,
        "store_a": store_a,
        "store_b": store_b,
        "till_a": TillFactory(org=org, store=store_a),
        "till_b": TillFactory(org=org, store=store_b),
    }


def test_v11_customer_coupons_at_a_store_are_the_active_ones_redeemable_there(
    api_client, org, customer, places
):
    # given offers redeemable anywhere, at store A, its zone, its concept, one of its tills,
    # and offers only for store B or B's till
    def offer_at(*entries):
        return CouponSeriesFactory(org=org, redemption_org_entities=list(entries))

    redeemable = [
        issue(offer_at(), customer),
        issue(offer_at(place("STORE", places["store_a"].pk)), customer),
        issue(offer_at(place("ZONE", places["zone"].pk)), customer),
        issue(offer_at(place("CONCEPT", places["concept"].pk)), customer),
        issue(offer_at(place("TILL", places["till_a"].pk)), customer),
        issue(
            offer_at(place("STORE", places["store_b"].pk), place("ZONE", places["zone"].pk)),
            customer,
        ),
    ]
    issue(offer_at(place("STORE", places["store_b"].pk)), customer)
    issue(offer_at(place("TILL", places["till_b"].pk)), customer)
    issue(offer_at(), customer, valid_till=NOW() - datetime.timedelta(hours=1))  # expired
    issue(offer_at(), customer, revoked_at=NOW())  # revoked

    # when the coupons redeemable at store A are asked
    response = api_client.get(
        f"/v1.1/customer/coupons?id={customer.pk}&store_id={places['store_a'].pk}"
    )

    # then exactly the active ones whose offer reaches store A are listed
    coupons = response.json()["response"]["customers"]["customer"]["coupons"]["coupon"]
    assert {c["id"] for c in coupons} == {str(coupon.pk) for coupon in redeemable}


def test_v11_customer_coupons_at_another_orgs_store_are_none(
    api_client, customer, offer, other_org
):
    issue(offer, customer)
    foreign_store = StoreFactory(org=other_org)

    response = api_client.get(
        f"/v1.1/customer/coupons?id={customer.pk}&store_id={foreign_store.pk}"
    )

    body = response.json()["response"]
    assert body["customers"]["customer"]["coupons"]["coupon"] == []
    assert body["pagination"]["total"] == 0


def test_v11_customer_coupons_sort_page_and_filter_by_series(api_client, org, customer):
    # given coupons of three offers worth 30, 10 and 20
    offers = [CouponSeriesFactory(org=org, discount_value=v) for v in (30, 10, 20)]
    coupons = [issue(o, customer) for o in offers]

    def ids(query: str) -> list[str]:
        url = f"/v1.1/customer/coupons?id={customer.pk}&{query}"
        data = api_client.get(url).json()["response"]
        return [c["id"] for c in data["customers"]["customer"]["coupons"]["coupon"]]

    by_amount = [str(coupons[i].pk) for i in (1, 2, 0)]
    assert ids("order_by=amount&sort_order=asc") == by_amount
    assert ids("order_by=amount&sort_order=desc") == by_amount[::-1]
    assert ids("order_by=amount&sort_order=asc&limit=1&offset=1") == by_amount[1:2]
    assert ids(f"series_id={offers[2].pk}") == [str(coupons[2].pk)]
    paged = api_client.get(f"/v1.1/customer/coupons?id={customer.pk}&limit=2&offset=2").json()
    assert paged["response"]["pagination"] == {"limit": "2", "offset": "2", "total": 3}


def test_v11_customer_coupons_date_window_is_issued_or_redeemed_in_it(
    api_client, offer, customer, till
):
    # given coupons issued 10 days ago (one of them redeemed 2 days ago) and one issued today
    ten_days_ago = NOW() - datetime.timedelta(days=10)
    old = issue(offer, customer, issued_at=ten_days_ago)
    old_redeemed = issue(offer, customer, issued_at=ten_days_ago)
    redeem(old_redeemed, till=till, redeemed_at=NOW() - datetime.timedelta(days=2))
    fresh = issue(offer, customer)
    tz = offer.org.tzinfo
    start = (NOW() - datetime.timedelta(days=3)).astimezone(tz).date()
    end = NOW().astimezone(tz).date()

    # when the last three days are asked
    response = api_client.get(
        f"/v1.1/customer/coupons?id={customer.pk}&start_date={start}&end_date={end}"
    )

    # then the fresh coupon and the recently redeemed one are listed, not the old one
    coupons = response.json()["response"]["customers"]["customer"]["coupons"]["coupon"]
    assert {c["id"] for c in coupons} == {str(fresh.pk), str(old_redeemed.pk)}
    assert str(old.pk) not in {c["id"] for c in coupons}


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "limit=abc",
        "limit=5000",
        "offset=-1",
        "start_date=2024-13-01",
        "start_date=2024-05-02&end_date=2024-05-01",
        "order_by=name",
        "sort_order=sideways",
        "series_id=x",
        "store_id=0",
    ],
)
def test_v11_customer_coupons_bad_parameters_are_400(api_client, customer, query):
    response = api_client.get(f"/v1.1/customer/coupons?id={customer.pk}&{query}")

    assert response.status_code == 400
    assert response.json()["response"]["status"]["success"] == "false"


def test_v11_customer_coupons_of_another_orgs_customer_are_not_found(api_client, other_org):
    foreign = CustomerFactory(org=other_org)

    response = api_client.get(f"/v1.1/customer/coupons?mobile={foreign.mobile}")

    assert response.status_code == 404
    assert response.json()["response"]["status"]["code"] == 701


# v2 GET /v2/coupon ---------------------------------------------------------------------------
def test_v2_get_coupons_by_id_code_and_customer_in_the_samples_shape(
    api_client, offer, customer, other_org
):
    # given two coupons of our customer and one of another org
    first, second = issue(offer, customer), issue(offer, customer)
    foreign = issue(CouponSeriesFactory(org=other_org), CustomerFactory(org=other_org))

    # when asked by id (with the foreign one), by code in lower case, and by customer
    by_id = api_client.get(f"/v2/coupon?couponIds={first.pk}&couponIds={foreign.pk}").json()
    by_code = api_client.get(
        f"/v2/coupon?couponCodes={second.code.lower()}&coupon_code_case=LOWER"
    ).json()
    by_customer = api_client.get(f"/v2/coupon?issuedToIds={customer.pk}").json()

    # then each answers the sample's keys; the foreign coupon is only a warning
    assert key_paths(sample("coupons_v2_get_coupons_response.json")) <= key_paths(by_id)
    assert [c["id"] for c in by_id["data"]] == [first.pk]
    assert [w["code"] for w in by_id["warnings"]] == [719]
    assert by_code["data"][0]["code"] == second.code.lower()
    assert {c["id"] for c in by_customer["data"]} == {first.pk, second.pk}
    assert by_customer["data"][0]["issuedTo"] == customer.pk


def test_v2_get_coupons_flags_reversal(api_client, offer, customer, till):
    coupon = issue(offer, customer)
    reverse(redeem(coupon, till=till))

    data = api_client.get(f"/v2/coupon?couponIds={coupon.pk}").json()["data"][0]

    assert data["isReversed"] is True
    assert data["isRedeemed"] is False
    assert data["last_status_change_on"].endswith("Z")


@pytest.mark.parametrize(
    "query", ["", "couponIds=abc", "coupon_code_case=TITLE&couponIds=1", "issuedToIds=-4"]
)
def test_v2_get_coupons_bad_parameters_are_400(api_client, query):
    response = api_client.get(f"/v2/coupon?{query}")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 400


# v2 customer coupons (basic) -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("REDEEMED", {"active_redeemed", "expired_redeemed"}),
        ("UNREDEEMED", {"active", "expired", "revoked"}),
        ("ACTIVE", {"active", "active_redeemed"}),
        ("EXPIRED", {"expired", "expired_redeemed"}),
        ("ACTIVE_REDEEMED", {"active_redeemed"}),
        ("ACTIVE_UNREDEEMED", {"active"}),
        ("Active_Unredeemed", {"active"}),
        ("EXPIRED_REDEEMED", {"expired_redeemed"}),
        ("EXPIRED_UNREDEEMED", {"expired"}),
        ("REDEEMABLE", {"active"}),
    ],
)
def test_v2_customer_coupons_filter_by_each_status(
    api_client, customer, coupon_states, status, expected
):
    response = api_client.get(f"/v2/customers/coupons?id={customer.pk}&status={status}")

    assert response.status_code == 200
    [listed] = response.json()["entity"]["customers"]
    assert {c["id"] for c in listed["coupons"]} == {coupon_states[n].pk for n in expected}


def test_v2_customer_coupons_shape_sort_and_paging(api_client, offer, customer):
    # given three coupons issued a day apart
    coupons = [
        issue(offer, customer, issued_at=NOW() - datetime.timedelta(days=days))
        for days in (3, 2, 1)
    ]

    # when listed by default, ascending, and paged
    default = api_client.get(f"/v2/customers/coupons?mobile={customer.mobile}").json()
    ascending = api_client.get(f"/v2/customers/coupons?id={customer.pk}&sort_order=ASC").json()
    paged = api_client.get(f"/v2/customers/coupons?id={customer.pk}&limit=1&offset=1").json()

    # then newest first by default, oldest first ascending, and the page is the middle one
    def ids(data):
        return [c["id"] for c in data["entity"]["customers"][0]["coupons"]]

    assert ids(default) == [c.pk for c in reversed(coupons)]
    assert ids(ascending) == [c.pk for c in coupons]
    assert ids(paged) == [coupons[1].pk]
    assert paged["entity"]["pagination"] == {"limit": "1", "offset": "1", "total": 3}
    assert default["success"] is True and default["errors"] == []
    listed = default["entity"]["customers"][0]
    assert {"firstname", "lastname", "email", "mobile", "id", "externalId"} <= set(listed)
    assert {
        "code",
        "seriesId",
        "description",
        "validTill",
        "discountType",
        "discountValue",
        "discountUpto",
        "redemptionCount",
        "redemptionsLeft",
        "id",
        "createdDate",
        "transactionNumber",
        "issuedAt",
        "customProperty",
        "redemptions",
        "reversedRedemptions",
        "isReversed",
        "last_status_change_on",
    } <= set(listed["coupons"][0])


def test_v2_customer_coupons_show_reversed_redemptions_on_request(
    api_client, offer, customer, till
):
    # given a coupon redeemed, reversed, then redeemed again on another bill
    offer.is_multiple_use_allowed = True
    offer.save(update_fields=["is_multiple_use_allowed"])
    coupon = issue(offer, customer)
    first = redeem(coupon, till=till, transaction_number="B-1")
    reverse(first)
    redeem(coupon, till=till, transaction_number="B-2", redeemed_at=NOW())

    # when listed without and with include_reversed_redemptions
    plain = api_client.get(f"/v2/customers/coupons?id={customer.pk}").json()
    full = api_client.get(
        f"/v2/customers/coupons?id={customer.pk}&include_reversed_redemptions=true"
    ).json()

    # then the active redemption is listed; the reversed one only on request
    listed = plain["entity"]["customers"][0]["coupons"][0]
    assert [r["transactionNumber"] for r in listed["redemptions"]] == ["B-2"]
    assert listed["reversedRedemptions"] == []
    assert listed["redemptionCount"] == 1
    reversed_ = full["entity"]["customers"][0]["coupons"][0]["reversedRedemptions"]
    assert [(r["transactionNumber"], r["isReversed"]) for r in reversed_] == [("B-1", True)]


def test_v2_customer_coupons_redeemable_waits_for_days_after_issual(api_client, org, customer):
    # given an offer redeemable 2 days after issual, one coupon issued today, one 3 days ago
    offer = CouponSeriesFactory(org=org, redemption_valid_after_days=2)
    issue(offer, customer)
    ready = issue(offer, customer, issued_at=NOW() - datetime.timedelta(days=3))

    response = api_client.get(f"/v2/customers/coupons?id={customer.pk}&status=REDEEMABLE")

    [listed] = response.json()["entity"]["customers"]
    assert [c["id"] for c in listed["coupons"]] == [ready.pk]


@pytest.mark.parametrize(
    "query", ["status=USED", "sort_order=UP", "limit=x", "include_reversed_redemptions=perhaps"]
)
def test_v2_customer_coupons_bad_parameters_are_400(api_client, customer, query):
    response = api_client.get(f"/v2/customers/coupons?id={customer.pk}&{query}")

    assert response.status_code == 400
    assert response.json()["errors"][0]["status"] is False


def test_v2_customer_coupons_other_orgs_customer_is_not_found(api_client, other_org):
    foreign = CustomerFactory(org=other_org)

    response = api_client.get(f"/v2/customers/coupons?id={foreign.pk}")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 701


# v2 customer coupons (detailed) --------------------------------------------------------------
def test_v2_customer_coupons_detailed(api_client, org, customer, till, places):
    # given a coupon of an offer redeemable in zone Z, redeemed then reversed
    offer = CouponSeriesFactory(org=org, redemption_org_entities=[place("ZONE", places["zone"].pk)])
    coupon = issue(offer, customer, issued_by_till=till)
    reverse(redeem(coupon, till=till, store=till.store))

    # when the detailed list is read
    response = api_client.get(f"/v2/customers/{customer.pk}/coupons?coupon_code_case=LOWER")

    # then the coupon carries its offer, its reversed redemption and the flags
    assert response.status_code == 200
    [entry] = response.json()["entity"]
    assert entry["id"] == coupon.pk
    assert entry["code"] == coupon.code.lower()
    assert entry["series"]["id"] == offer.pk
    assert entry["series"]["validRedemptionOrgEntityDetails"] == {
        "concepts": [],
        "zones": [places["zone"].pk],
        "stores": [],
        "tills": [],
    }
    assert entry["issuedAt"]["code"] == till.store.code
    assert entry["issuedBy"] == till.pk
    assert entry["redemptionInfo"] == []
    assert len(entry["reversedRedemptionInfo"]) == 1
    assert entry["isReversed"] is True
    assert entry["redeemed"] is False


def test_v2_customer_coupons_detailed_of_another_org_is_404(api_client, other_org):
    foreign = CustomerFactory(org=other_org)
    issue(CouponSeriesFactory(org=other_org), foreign)

    response = api_client.get(f"/v2/customers/{foreign.pk}/coupons")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 701


# GET /v2/coupon/series by redemption place ---------------------------------------------------
@pytest.fixture
def tagged_offers(org, other_org, places):
    def offer_at(*entries, owner=org):
        return CouponSeriesFactory(org=owner, redemption_org_entities=list(entries))

    return {
        "store_a": offer_at(place("STORE", places["store_a"].pk)),
        "zone": offer_at(place("ZONE", places["zone"].pk)),
        "concept": offer_at(place("CONCEPT", places["concept"].pk)),
        "anywhere": offer_at(),
        "foreign_zone": offer_at(place("ZONE", places["zone"].pk), owner=other_org),
    }


def test_v2_series_by_zone_are_only_those_tagged_to_the_zone(api_client, places, tagged_offers):
    # when the zone of store A is asked (the store's own offer is not tagged to the zone)
    response = api_client.get(
        f"/v2/coupon/series?orgEntityType=ZONE&orgEntityIds={places['zone'].pk}"
    )

    # then only our offer tagged to the zone comes back, in the series' shape
    assert response.status_code == 200
    data = response.json()
    assert [item["id"] for item in data["entity"]] == [tagged_offers["zone"].pk]
    assert key_paths(sample("coupons_v2_series_get_response.json")) <= key_paths(data)


@pytest.mark.parametrize(
    ("kind", "entity", "expected"),
    [("STORE", "store_a", "store_a"), ("concept", "concept", "concept")],
)
def test_v2_series_by_store_or_concept(api_client, places, tagged_offers, kind, entity, expected):
    response = api_client.get(
        f"/v2/coupon/series?orgEntityType={kind}&orgEntityIds={places[entity].pk},999999"
    )

    assert [item["id"] for item in response.json()["entity"]] == [tagged_offers[expected].pk]


def test_v2_series_by_unknown_place_is_empty_not_an_error(api_client, tagged_offers):
    response = api_client.get("/v2/coupon/series?orgEntityType=STORE&orgEntityIds=987654321")

    assert response.status_code == 200
    assert response.json() == {"entity": [], "warnings": []}


def test_v2_series_by_place_narrowed_by_ids(api_client, places, tagged_offers):
    zone_offer = tagged_offers["zone"]
    response = api_client.get(
        f"/v2/coupon/series?ids={tagged_offers['anywhere'].pk}&ids={zone_offer.pk}"
        f"&orgEntityType=ZONE&orgEntityIds={places['zone'].pk}"
    )

    assert [item["id"] for item in response.json()["entity"]] == [zone_offer.pk]


@pytest.mark.parametrize(
    "query",
    [
        "orgEntityType=STORE&orgEntityType=ZONE&orgEntityIds=1",
        "orgEntityType=STORE,ZONE&orgEntityIds=1",
        "orgEntityType=TILL&orgEntityIds=1",
        "orgEntityType=STORE",
        "orgEntityIds=1",
        "orgEntityType=STORE&orgEntityIds=abc",
        "",
    ],
)
def test_v2_series_bad_place_filters_are_clear_400s(api_client, query):
    response = api_client.get(f"/v2/coupon/series?{query}")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 799


def test_redemption_entity_types_cover_the_filter(db):
    assert {"STORE", "ZONE", "CONCEPT"} <= set(RedemptionEntityType.values)
