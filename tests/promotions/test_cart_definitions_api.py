"""Cart promotion definition APIs (CONTRACT.md §5.2): create, get, update, activate / deactivate,
config and the org's ranking settings, in the engine envelope."""

from __future__ import annotations

import pytest

from promotions.models import CartPromotion, CartPromotionSettings
from promotions.services.cart import definitions
from tests.promotions.cart_factories import (  # noqa: F401 (fresh_cart_catalog is autouse)
    ENGINE,
    fresh_cart_catalog,
    make_cart_promotion,
    product_condition,
    promotion_body,
    skus,
)


def upsert_sample() -> dict:
    """The contract's CODE promotion sample (cart_promotion_upsert_code_request.json)."""
    return {
        "name": "CODE_Promotion_Test_17573886",
        "orgId": 100027,
        "priority": 0,
        "active": True,
        "messageLabel": "test!!",
        "type": "CODE",
        "condition": {
            "type": "CART",
            "cartCondition": {"kpi": "SUBTOTAL", "operator": "EQUALS", "value": 250.0},
        },
        "action": {"type": "CART_BASED", "cartBasedAction": {"type": "ABSOLUTE", "value": 25.0}},
        "createdBy": 70707,
        "createdOn": 0,
        "lastUpdatedBy": 70707,
        "startDate": "1857388651000",
        "endDate": "1857475051000",
        "campaignId": 39077,
        "mode": "DISCOUNT",
        "promotionRestrictions": {"Code": [{"kpi": "REDEMPTION", "limit": 1}]},
        "isStackable": False,
    }


@pytest.mark.django_db
def test_create_takes_the_contract_sample_and_echoes_it(api_client, org):
    body = upsert_sample()

    response = api_client.post(ENGINE, body, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert len(data["id"]) == 24 and data["orgId"] == org.pk
    assert data["type"] == "CODE" and data["status"] == "UPCOMING"
    assert data["startDate"] == 1857388651000 and data["startDateISO"].startswith("2028-")
    assert data["condition"]["cartCondition"] == {
        "kpi": "SUBTOTAL",
        "operator": "EQUALS",
        "value": 250,
    }
    assert data["promotionRestrictions"] == {"Code": [{"kpi": "REDEMPTION", "limit": 1}]}
    assert CartPromotion.objects.get(public_id=data["id"]).campaign_id == 39077


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"type": "BOGUS"}, "type"),
        ({"active": None}, "active"),
        ({"endDate": 1000}, "endDate"),
        (
            {
                "action": {
                    "type": "CART_BASED",
                    "cartBasedAction": {"type": "PERCENTAGE", "value": 101},
                }
            },
            "action.cartBasedAction.value",
        ),
        (
            {
                "action": {
                    "type": "CART_BASED",
                    "cartBasedAction": {"type": "ABSOLUTE", "value": 1.005},
                }
            },
            "action.cartBasedAction.value",
        ),
        (
            {"action": {"type": "TENDER", "tenderBasedAction": {"type": "ABSOLUTE", "value": 5}}},
            "action",
        ),
        (
            {"promotionRestrictions": {"Code": [{"kpi": "REDEMPTION", "limit": 1}]}},
            "promotionRestrictions.Code",
        ),
        (
            {"condition": {"type": "PRODUCT", "productCondition": {"kpi": "QUANTITY", "value": 1}}},
            "condition.productCondition.criteriaList",
        ),
    ],
)
def test_create_refuses_a_broken_rule_with_the_field_in_the_engine_envelope(
    api_client, change, field
):
    response = api_client.post(ENGINE, promotion_body(**change), format="json")

    body = response.json()
    assert response.status_code == 400, body
    assert body["errorCode"] == 400 and "timestamp" in body
    assert body["errorDetails"][0]["code"] == 4102
    assert body["errorDetails"][0]["field"] == field
    assert CartPromotion.objects.count() == 0


@pytest.mark.django_db
def test_names_are_unique_in_the_org_and_priorities_in_a_campaign(api_client, other_client):
    assert api_client.post(ENGINE, promotion_body(campaignId=7), format="json").status_code == 200

    same_name = api_client.post(ENGINE, promotion_body(), format="json")
    same_priority = api_client.post(
        ENGINE, promotion_body(name="Other", campaignId=7), format="json"
    )
    other_org = other_client.post(ENGINE, promotion_body(), format="json")

    assert same_name.status_code == 409 and same_name.json()["errorDetails"][0]["code"] == 4103
    assert same_priority.json()["errorDetails"][0]["code"] == 4104
    assert other_org.status_code == 200


@pytest.mark.django_db
def test_idempotency_key_replays_create(api_client):
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-1"}
    body = promotion_body()
    first = api_client.post(ENGINE, body, format="json", **headers)
    again = api_client.post(ENGINE, body, format="json", **headers)
    other = api_client.post(ENGINE, {**body, "name": "Else"}, format="json", **headers)

    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    assert other.status_code == 409 and other.json()["errorDetails"][0]["code"] == 4106
    assert CartPromotion.objects.count() == 1


@pytest.mark.django_db
def test_get_by_ids_reports_unknown_ids_and_hides_other_orgs(api_client, org, other_org):
    mine = make_cart_promotion(org)
    theirs = make_cart_promotion(other_org)

    response = api_client.get(f"{ENGINE}/?promotionIds={mine.public_id},{theirs.public_id}")

    body = response.json()
    assert [item["id"] for item in body["data"]] == [mine.public_id]
    assert body["errors"] == [{"code": 4101, "message": f"Promotion {theirs.public_id} not found"}]


@pytest.mark.django_db
def test_get_without_ids_pages_the_org_promotions(api_client, org):
    for _ in range(3):
        make_cart_promotion(org)

    body = api_client.get(f"{ENGINE}?page=0&size=2").json()

    assert len(body["data"]) == 2
    assert body["pagingDto"]["totalElements"] == 3 and body["pagingDto"]["totalPages"] == 2


@pytest.mark.django_db
def test_update_replaces_the_definition(api_client, org, other_client):
    promotion = make_cart_promotion(org)
    body = promotion_body(
        name="Renamed",
        condition=product_condition(skus("A", "B"), kpi="QUANTITY", value=2),
        action={"type": "PRODUCT_BASED", "productBasedAction": {"type": "PERCENTAGE", "value": 15}},
    )

    response = api_client.put(f"{ENGINE}/{promotion.public_id}", body, format="json")
    foreign = other_client.put(f"{ENGINE}/{promotion.public_id}", body, format="json")

    assert response.status_code == 200, response.json()
    promotion.refresh_from_db()
    assert promotion.name == "Renamed"
    assert promotion.condition["productCondition"]["criteriaList"][0]["values"] == ["A", "B"]
    assert foreign.status_code == 404 and foreign.json()["errorDetails"][0]["code"] == 4101


@pytest.mark.django_db
def test_activate_and_deactivate_are_idempotent_and_config_filters(api_client, org):
    promotion = make_cart_promotion(org)

    off = api_client.post(f"{ENGINE}/{promotion.public_id}/deactivate")
    off_again = api_client.post(f"{ENGINE}/{promotion.public_id}/deactivate")
    hidden = api_client.get(f"{ENGINE}/config").json()["data"]
    shown = api_client.get(f"{ENGINE}/config?includeInactive=true").json()["data"]
    on = api_client.post(f"{ENGINE}/{promotion.public_id}/activate")

    assert off.json()["data"]["active"] is False and off_again.status_code == 200
    assert off.json()["data"]["status"] == "INACTIVE"
    assert hidden == [] and [item["id"] for item in shown] == [promotion.public_id]
    assert on.json()["data"]["active"] is True


@pytest.mark.django_db
def test_the_org_cap_on_active_promotions(api_client, org, monkeypatch):
    monkeypatch.setattr(definitions, "MAX_ACTIVE_CART_PROMOTIONS", 2)
    make_cart_promotion(org)
    inactive = make_cart_promotion(org, active=False)
    make_cart_promotion(org)

    create = api_client.post(ENGINE, promotion_body(name="Third"), format="json")
    activate = api_client.post(f"{ENGINE}/{inactive.public_id}/activate")

    assert create.json()["errorDetails"][0]["code"] == 4105
    assert activate.json()["errorDetails"][0]["code"] == 4105
    assert CartPromotion.objects.filter(is_active=True).count() == 2


@pytest.mark.django_db
def test_ranking_settings_are_saved_per_org(api_client, org, other_client):
    url = "/v1/management/promotions/settings/strategy"

    saved = api_client.post(
        url,
        {
            "conditionBasedRankingStrategy": "LINE_ITEM_BASED_FIRST",
            "rewardStrategy": "REWARDS_FIRST",
            "singlePromotionPerLineitem": True,
            "promotionRankingStrategy": "MAX_DISCOUNT",
            "isActive": True,
        },
        format="json",
    )
    bad = api_client.post(url, {"promotionRankingStrategy": "RANDOM"}, format="json")
    theirs = other_client.get(url).json()["data"]

    assert saved.status_code == 200
    assert api_client.get(url).json()["data"]["promotionRankingStrategy"] == "MAX_DISCOUNT"
    assert bad.status_code == 400 and bad.json()["errorDetails"][0]["code"] == 4102
    settings = CartPromotionSettings.objects.get(org=org)
    assert settings.single_promotion_per_line_item is True
    assert theirs["promotionRankingStrategy"] == "PRIORITY"


@pytest.mark.django_db
def test_engine_paths_answer_in_the_engine_envelope_without_auth(client):
    response = client.get(f"{ENGINE}/config")

    assert response.status_code == 401
    assert response.json()["errorCode"] == 401
