"""A customer's promotion list (seed 004): `/v2/customers/lookup/promotionData` and `/v2.1/...`."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from promotions.services import promotion_enrol, promotion_issue
from tests.conftest import till_client
from tests.members.factories import OrgFactory, ProgramFactory, TillFactory
from tests.promotions.factories import (
    award_strategy,
    contract,
    make_promotion,
    member,
    post_bill,
    restriction,
)

URL = "/v2/customers/lookup/promotionData"
URL_21 = "/v2.1/customers/lookup/promotionData"


def lookup(client, customer, url=URL, headers=None, **params):
    query = {
        "identifierName": "mobile",
        "identifierValue": customer.mobile,
        "source": "INSTORE",
        **params,
    }
    return client.get(url, {k: v for k, v in query.items() if v is not None}, **(headers or {}))


def ids(response) -> list[int]:
    return [item["promotionId"] for item in response.json()["promotions"]]


@pytest.mark.django_db
def test_the_response_has_the_seeds_shape_and_the_customers_usage(api_client, program, customer):
    # given a promotion the customer earned 50 points from
    promotion = make_promotion(
        program, name="Award50", description="Award 50", award=award_strategy(program, "FIXED", 50)
    )
    post_bill(api_client, customer, "B-1", 100)

    # when
    response = lookup(api_client, customer)

    # then
    assert response.status_code == 200, response.content
    sample = contract("promotions_customer_promotion_data_response.json")
    body = response.json()
    assert set(body) == set(sample)
    assert body["customerId"] == customer.pk and body["warnings"] == []
    assert body["pageDetails"] == {
        "pageNumber": 0,
        "pageSize": 10,
        "totalEntries": 1,
        "pageCount": 1,
    }
    (item,) = body["promotions"]
    assert set(item) == set(sample["promotions"][0])
    assert item["promotionId"] == promotion.pk
    assert item["promotionName"] == "Award50" and item["description"] == "Award 50"
    assert item["limits"] == sample["promotions"][0]["limits"]  # no limits shows as "0"
    assert item["customerUsage"] == {
        "currentPointsPerCustomer": "50.000",
        "currentNumberOfTimesPerCustomer": 1,
        "currentTotalPointsInPromotion": "50.000",
    }
    assert item["promotionRestriction"] == {
        "issualRestrictions": [],
        "earnRestrictions": [],
        "redemptionRestrictions": [],
    }


@pytest.mark.django_db
def test_restrictions_show_their_kpi_limit_usage_and_scope(api_client, program, customer):
    make_promotion(
        program,
        award=award_strategy(program, "FIXED", 10),
        times_per_customer=5,
        points_per_customer=100,
        restrictions=[
            restriction(
                "REDEMPTION",
                "MAX_ALLOWED_TIMES_PER_CUSTOMER",
                3,
                type="PERIOD_BASED",
                period_type="MOVING_WINDOW",
                period_unit="WEEKLY",
            ),
            restriction("REDEMPTION", "MAX_ALLOWED_POINTS_PER_PROMOTION", 1000),
            restriction("EARN", "MAX_POINTS_PER_EARN_PER_CUSTOMER", 25),
        ],
    )
    post_bill(api_client, customer, "B-1", 100)
    post_bill(api_client, customer, "B-2", 100)

    item = lookup(api_client, customer).json()["promotions"][0]
    everything = lookup(api_client, customer, fetchAllUsage="true").json()["promotions"][0]

    assert item["limits"]["numberOFTimesPerCustomer"] == 5
    assert item["limits"]["pointsPerCustomer"] == "100"
    redemption = {r["kpi"]: r for r in item["promotionRestriction"]["redemptionRestrictions"]}
    assert redemption["MAX_ALLOWED_TIMES_PER_CUSTOMER"] == {
        "kpi": "MAX_ALLOWED_TIMES_PER_CUSTOMER",
        "maxLimit": "3",
        "currentCustomerUsage": "2",
        "limitOn": "CUSTOMER",
        "type": "PERIOD_BASED",
    }
    assert redemption["MAX_ALLOWED_POINTS_PER_PROMOTION"]["currentCustomerUsage"] == "20.000"
    assert redemption["MAX_ALLOWED_POINTS_PER_PROMOTION"]["limitOn"] == "PROMOTION"
    assert item["promotionRestriction"]["earnRestrictions"][0]["limitOn"] == "EVENT"
    all_issual = everything["promotionRestriction"]["issualRestrictions"]
    assert {r["kpi"]: r["maxLimit"] for r in all_issual} == {
        "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER": "-1",
        "MAX_POINTS_PER_ISSUAL_PER_CUSTOMER": "-1",
    }


@pytest.mark.django_db
def test_status_for_customer_filters(api_client, program, customer, till):
    now = timezone.now()
    generic = make_promotion(program, name="Generic")
    direct = make_promotion(program, name="Direct", points_offer_type="LOYALTY")
    issued = make_promotion(program, name="Issued", points_offer_type="LOYALTY")
    enrol = make_promotion(program, name="Enrol", points_offer_type="LOYALTY_EARNING")
    enrolled = make_promotion(program, name="Enrolled", points_offer_type="LOYALTY_EARNING")
    full = make_promotion(
        program,
        name="Full",
        points_offer_type="LOYALTY_EARNING",
        restrictions=[restriction("ISSUAL", "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", 0)],
    )
    expired = make_promotion(
        program,
        name="Expired",
        starts_at=now - datetime.timedelta(days=10),
        ends_at=now - datetime.timedelta(days=1),
    )
    promotion_issue(promotion=issued, customer=customer, actor=till)
    promotion_enrol(promotion=enrolled, customer=customer, actor=till)

    def by_status(status):
        return set(ids(lookup(api_client, customer, promotionStatusForCustomer=status)))

    assert by_status("AVAILABLE_TO_ENROL") == {enrol.pk}
    assert by_status("AVAILABLE_TO_EARN") == {issued.pk, enrolled.pk}
    assert by_status("AVAILABLE_TO_REDEEM") == {generic.pk, issued.pk, enrolled.pk}
    assert by_status("EXPIRED") == {expired.pk}
    all_ids = set(ids(lookup(api_client, customer, limit=100)))
    assert {direct.pk, full.pk} <= all_ids and len(all_ids) == 7


@pytest.mark.django_db
def test_an_exhausted_promotion_is_no_longer_available_to_redeem(api_client, program, customer):
    promotion = make_promotion(
        program, award=award_strategy(program, "FIXED", 10), times_per_customer=1
    )

    before = ids(lookup(api_client, customer, promotionStatusForCustomer="AVAILABLE_TO_REDEEM"))
    post_bill(api_client, customer, "B-1", 100)
    after = ids(lookup(api_client, customer, promotionStatusForCustomer="AVAILABLE_TO_REDEEM"))

    assert (before, after) == ([promotion.pk], [])


@pytest.mark.django_db
def test_paging_uses_a_start_index_and_filters_narrow(api_client, org, program, customer):
    second = ProgramFactory(org=org, name="Second")
    customer_in_both = member(org, [program, second])
    made = [make_promotion(program, name=f"P{n}") for n in range(5)]
    campaign = make_promotion(second, name="Campaign", source_type="CAMPAIGN")

    page = lookup(api_client, customer_in_both, limit=2, offset=2)
    none = lookup(api_client, customer_in_both, limit=0)
    by_program = lookup(api_client, customer_in_both, programs=str(second.pk))
    by_source = lookup(api_client, customer_in_both, sourceType="CAMPAIGN")
    by_type = lookup(api_client, customer_in_both, promotionType="DIRECT_ISSUE")

    assert page.json()["pageDetails"] == {
        "pageNumber": 1,
        "pageSize": 2,
        "totalEntries": 6,
        "pageCount": 3,
    }
    assert ids(page) == [made[3].pk, made[2].pk]  # newest first
    assert ids(none) == [] and none.json()["pageDetails"]["totalEntries"] == 6
    assert ids(by_program) == ids(by_source) == [campaign.pk]
    assert ids(by_type) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"identifierName": None}, 400, 8013),
        ({"identifierName": "nickname"}, 400, 8013),
        ({"identifierValue": None}, 404, 8015),
        ({"identifierValue": "919999999999"}, 404, 8015),
        ({"identifierValue": "not-a-mobile"}, 404, 8015),
        ({"source": None}, 400, 8003),
        ({"source": "FAX"}, 400, 8003),
        ({"source": "WEBSITE"}, 404, 8015),
        ({"limit": "101"}, 400, 400),
        ({"offset": "-1"}, 400, 400),
        ({"promotionStatusForCustomer": "SOON"}, 400, 400),
    ],
)
def test_errors(api_client, customer, params, status, code):
    response = lookup(api_client, customer, **params)

    assert response.status_code == status, response.content
    assert response.json()["errors"][0]["code"] == code


@pytest.mark.django_db
def test_error_8015_has_the_samples_shape(api_client, customer):
    sample = contract("promotions_customer_promotion_data_error_8015_response.json")

    response = lookup(api_client, customer, identifierValue="919999999999")

    error = response.json()["errors"][0]
    assert set(error) == set(sample["errors"][0]) and error["status"] is False


@pytest.mark.django_db
def test_another_orgs_customer_is_not_found(other_client, customer):
    response = lookup(other_client, customer)

    assert response.json()["errors"][0]["code"] == 8015


@pytest.mark.django_db
def test_connected_orgs_read_children_with_org_ids_and_310144_on_bad_headers(db):
    parent = OrgFactory(name="Parent")
    child = OrgFactory(name="Child", parent=parent)
    stranger = OrgFactory(name="Stranger")
    parent_client = till_client(TillFactory(org=parent, code="parent.till"))
    child_program = ProgramFactory(org=child, name="Child program")
    customer = member(child, [child_program])
    promotion = make_promotion(child_program, name="Award50")
    sample = contract("promotions_customer_promotion_data_v21_response.json")["promotions"][0]

    connected = lookup(
        parent_client,
        customer,
        url=URL_21,
        headers={"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": str(child.pk)},
    )
    missing = lookup(parent_client, customer, url=URL_21)
    foreign = lookup(
        parent_client,
        customer,
        url=URL_21,
        headers={"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": str(stranger.pk)},
    )
    malformed = lookup(
        parent_client,
        customer,
        url=URL_21,
        headers={"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": "abc"},
    )
    own_scope = lookup(parent_client, customer)

    assert connected.status_code == 200, connected.content
    item = connected.json()["promotions"][0]
    assert set(item) == set(sample)
    assert (item["promotionId"], item["orgId"]) == (promotion.pk, child.pk)
    for response in (missing, foreign, malformed):
        assert response.json()["errors"][0]["code"] == 310144, response.content
    assert own_scope.json()["errors"][0]["code"] == 8015
