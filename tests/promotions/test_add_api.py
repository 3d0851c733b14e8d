"""The add-promotion API (seed 002): the seed's sample request, its response shape and every error
code of its table."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from promotions.models import (
    Promotion,
    PromotionAction,
    PromotionRestriction,
    PromotionRule,
    PromotionRuleset,
    RulesetFilter,
)
from tests.members.factories import ProgramFactory
from tests.promotions.factories import award_strategy, contract, seed_request

# The seed's sample response (seed 002) lists these keys.
SEED_RESPONSE_KEYS = {
    "id",
    "name",
    "promotionStatus",
    "programId",
    "startDate",
    "endDate",
    "identifier",
    "isActive",
    "eventName",
    "allocatePointsOn",
    "limits",
    "pointsOfferType",
    "promotionRestrictions",
}
SEED_RESTRICTION_KEYS = {
    "restrictions",
    "scope",
    "isStackable",
    "isConsideredForRanking",
    "loyaltyEarningType",
    "expiryReminder",
    "isExclusive",
    "isAlwaysApply",
    "targetGroupIds",
    "targetRuleIds",
}


def add_url(program_id, kind="simple") -> str:
    return f"/api_gateway/loyalty/v1/programs/{program_id}/promotions/add/{kind}"


def add(client, program, body, kind="simple"):
    return client.post(add_url(program.pk, kind), body, format="json")


def snapshot() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (
            Promotion,
            PromotionRestriction,
            PromotionRuleset,
            PromotionRule,
            PromotionAction,
            RulesetFilter,
        )
    )


def error(response) -> dict:
    body = response.json()
    assert body["data"] is None
    return body["status"]


@pytest.mark.django_db
def test_the_seeds_sample_request_is_accepted_in_the_seeds_response_shape(api_client, program):
    # given the seed's sample body with a real program id
    body = seed_request(program.pk)

    # when
    response = add(api_client, program, body)

    # then
    assert response.status_code == 200, response.content
    payload = response.json()
    assert payload["status"] == {"code": 200, "message": "success"}
    assert payload["validationErrors"] is None
    item = payload["data"][0]
    assert SEED_RESPONSE_KEYS <= set(item)
    assert SEED_RESTRICTION_KEYS <= set(item["promotionRestrictions"])
    assert item["name"] == "test_promo_uniqueName110"
    assert item["identifier"] == "test_promo_uniqueIdentifier110"
    assert item["programId"] == program.pk
    assert item["eventName"] == "TARGETCOMPLETED"
    assert item["pointsOfferType"] == "LOYALTY"
    assert item["promotionStatus"] == "COMPLETED"  # August 2024 is over
    assert item["startDate"] == "2024-08-09T11:00:00.000Z"
    assert item["limits"] == {
        "pointsPerCustomer": -1,
        "numberOfTimesPerCustomer": -1,
        "totalPointsInPromotion": -1,
        "totalPointsPerEventLimit": -1,
    }
    restrictions = item["promotionRestrictions"]["restrictions"]
    # As in the seed's response: the default MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER is listed.
    assert [r["name"] for r in restrictions["redemptionRestrictions"]] == [
        "MAX_ALLOWED_TIMES_PER_CUSTOMER",
        "MAX_ALLOWED_TIMES_PER_PROMOTION",
        "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER",
    ]
    assert restrictions["redemptionRestrictions"][1] == {
        "name": "MAX_ALLOWED_TIMES_PER_PROMOTION",
        "value": 3,
        "type": "NON_PERIOD_BASED",
        "periodType": None,
        "periodUnit": None,
    }
    assert restrictions["issualRestrictions"] == [
        {"name": "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER", "value": 3}
    ]
    assert restrictions["expiryRestrictions"] == [
        {"name": "ISSUAL_PROMOTION_EXPIRY_BASED_ON", "value": 10, "type": "PROMOTION"}
    ]
    assert item["promotionRestrictions"]["targetGroupIds"] == [1234567]
    promotion = Promotion.objects.get(pk=item["id"])
    assert promotion.org_id == program.org_id and promotion.event_key == "TARGETCOMPLETED"
    action = PromotionAction.objects.get(rule__ruleset__promotion=promotion)
    assert action.properties["AwardStrategy"] == "82690" and action.award_strategy is None


@pytest.mark.django_db
def test_the_response_matches_the_legacy_add_fixture_shape(api_client, program):
    fixture_item = contract("promotions_add_simple_response.json")["data"][0]
    body = seed_request(program.pk)
    body["promotion"]["allocationActions"] = fixture_item["allocationActions"]

    response = add(api_client, program, body)

    item = response.json()["data"][0]
    assert set(fixture_item) == set(item)
    assert item["allocationActions"] == fixture_item["allocationActions"]


@pytest.mark.django_db
def test_a_bare_promotion_object_and_upper_case_type_are_read(api_client, program):
    body = seed_request(program.pk)["promotion"]

    response = add(api_client, program, body, kind="RANGE")

    assert response.status_code == 200, response.content
    assert Promotion.objects.get().add_type == "RANGE"


@pytest.mark.django_db
def test_a_promotion_id_replaces_that_promotion(api_client, program):
    first = add(api_client, program, seed_request(program.pk)).json()["data"][0]
    body = seed_request(program.pk)
    body["promotion"]["id"] = first["id"]
    body["promotion"]["name"] = "renamed"
    body["promotion"]["limits"]["pointsPerCustomer"] = 500

    response = add(api_client, program, body)

    assert response.status_code == 200, response.content
    item = response.json()["data"][0]
    assert item["id"] == first["id"] and item["name"] == "renamed"
    assert item["limits"]["pointsPerCustomer"] == 500
    assert Promotion.objects.count() == 1 and PromotionRule.objects.count() == 1


def _without(body: dict, *path: str) -> dict:
    target = body["promotion"]
    for key in path[:-1]:
        target = target[key] if not isinstance(target, list) else target[int(key)]
    if isinstance(target, list):
        target.pop(int(path[-1]))
    else:
        target.pop(path[-1])
    return body


def _set(body: dict, value, *path: str) -> dict:
    target = body["promotion"]
    for key in path[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(path[-1])] = value
    else:
        target[path[-1]] = value
    return body


ACTION_PATH = ("rulesetInfos", "0", "rules", "0", "caseToActions", "true", "0")
ERROR_CASES = [
    ("4011 start date missing", lambda b: _without(b, "startDate"), 4011),
    ("4011 start date empty", lambda b: _set(b, "", "startDate"), 4011),
    ("4011 start date not a date", lambda b: _set(b, "soon", "startDate"), 4011),
    ("4012 end date null", lambda b: _set(b, None, "endDate"), 4012),
    ("4013 end before start", lambda b: _set(b, "2024-08-01T00:00:00Z", "endDate"), 4013),
    (
        "4074 UCC without target groups",
        lambda b: _set(b, [], "promotionRestrictions", "targetGroupIds"),
        4074,
    ),
    (
        "4074 UCC without target rules",
        lambda b: _without(b, "promotionRestrictions", "targetRuleIds"),
        4074,
    ),
    ("4079 source type missing", lambda b: _without(b, "promotionSourceType"), 4079),
    ("4079 source type empty", lambda b: _set(b, "", "promotionSourceType"), 4079),
    ("4079 source type unknown", lambda b: _set(b, "FAX", "promotionSourceType"), 4079),
    ("4075 no ruleset", lambda b: _set(b, [], "rulesetInfos"), 4075),
    (
        "4075 two rulesets",
        lambda b: _set(b, b["promotion"]["rulesetInfos"] * 2, "rulesetInfos"),
        4075,
    ),
    ("4076 ruleset name", lambda b: _set(b, None, "rulesetInfos", "0", "name"), 4076),
    ("4076 ruleset contextID", lambda b: _without(b, "rulesetInfos", "0", "contextID"), 4076),
    ("4076 ruleset orgID", lambda b: _set(b, None, "rulesetInfos", "0", "orgID"), 4076),
    ("4076 ruleset contextType", lambda b: _set(b, "", "rulesetInfos", "0", "contextType"), 4076),
    ("4076 ruleset start", lambda b: _without(b, "rulesetInfos", "0", "startDate"), 4076),
    ("4076 ruleset end", lambda b: _set(b, None, "rulesetInfos", "0", "endDate"), 4076),
    ("4076 no rules", lambda b: _set(b, [], "rulesetInfos", "0", "rules"), 4076),
    (
        "4076 rule exp missing",
        lambda b: _set(b, None, "rulesetInfos", "0", "rules", "0", "exp"),
        4076,
    ),
    (
        "4076 rule expJSON missing",
        lambda b: _without(b, "rulesetInfos", "0", "rules", "0", "expJSON"),
        4076,
    ),
    (
        "4076 rule exp unreadable",
        lambda b: _set(b, "bill.amount >= ", "rulesetInfos", "0", "rules", "0", "exp"),
        4076,
    ),
    (
        "4076 rule expJSON not JSON",
        lambda b: _set(b, "{arity: literal", "rulesetInfos", "0", "rules", "0", "expJSON"),
        4076,
    ),
    (
        "4080 empty property value",
        lambda b: _set(
            b,
            "",
            *ACTION_PATH,
            "mandatoryPropertiesValues",
            "AwardStrategy",
        ),
        4080,
    ),
    (
        "4080 null properties",
        lambda b: _set(
            b,
            None,
            *"rulesetInfos 0 rules 0 caseToActions true 0 mandatoryPropertiesValues".split(),
        ),
        4080,
    ),
    (
        "4080 action name missing",
        lambda b: _set(b, "", *"rulesetInfos 0 rules 0 caseToActions true 0 actionName".split()),
        4080,
    ),
    (
        "4078 filter name",
        lambda b: _set(b, "Weather", "rulesetInfos", "0", "filterInfo", "0", "name"),
        4078,
    ),
    (
        "4078 filter values",
        lambda b: _set(
            b,
            {"eventSource": ["FAX"]},
            "rulesetInfos",
            "0",
            "filterInfo",
            "1",
            "propertyToValues",
        ),
        4078,
    ),
    (
        "4081 unknown restriction",
        lambda b: _set(
            b,
            "MAX_SOMETHING",
            *"promotionRestrictions restrictions earnRestrictions 0 name".split(),
        ),
        4081,
    ),
    (
        "4081 period based without a period",
        lambda b: _set(
            b,
            None,
            *"promotionRestrictions restrictions redemptionRestrictions 0 periodUnit".split(),
        ),
        4081,
    ),
    ("4004 allocatePointsOn", lambda b: _set(b, "CART", "allocatePointsOn"), 4004),
    ("4004 pointsOfferType", lambda b: _set(b, "FREE", "pointsOfferType"), 4004),
    ("4004 eventName", lambda b: _set(b, "bad name!", "eventName"), 4004),
    ("4004 name missing", lambda b: _without(b, "name"), 4004),
    ("4004 negative limit", lambda b: _set(b, -5, "limits", "pointsPerCustomer"), 4004),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mutate", "code"), [case[1:] for case in ERROR_CASES], ids=[case[0] for case in ERROR_CASES]
)
def test_each_error_of_the_seeds_table_is_produced_and_nothing_is_written(
    api_client, program, mutate, code
):
    # given
    before = snapshot()

    # when
    response = add(api_client, program, mutate(seed_request(program.pk)))

    # then
    assert response.status_code == 400, response.content
    status = error(response)
    assert status["code"] == code, status
    assert response.json()["validationErrors"][0]["code"] == code
    assert snapshot() == before


@pytest.mark.django_db
def test_4007_identifier_and_4003_name_exist_in_the_program(api_client, program, org):
    add(api_client, program, seed_request(program.pk))
    before = snapshot()

    same_identifier = seed_request(program.pk)
    same_identifier["promotion"]["name"] = "another name"
    same_name = seed_request(program.pk)
    same_name["promotion"]["identifier"] = "another identifier"

    first = add(api_client, program, same_identifier)
    second = add(api_client, program, same_name)

    assert (first.status_code, error(first)["code"]) == (409, 4007)
    assert (second.status_code, error(second)["code"]) == (409, 4003)
    assert snapshot() == before
    # Another program of the org may reuse both.
    other_program = ProgramFactory(org=org, name="Second")
    assert add(api_client, other_program, seed_request(other_program.pk)).status_code == 200


@pytest.mark.django_db
def test_an_invalid_expression_is_rejected_with_4076_naming_the_problem(api_client, program):
    body = seed_request(program.pk)
    rule = body["promotion"]["rulesetInfos"][0]["rules"][0]
    rule["exp"] = "bill.total > 5"
    rule["expJSON"] = {
        "arity": "binary",
        "value": ">",
        "first": {"arity": "name", "value": "bill.total"},
        "second": {"arity": "literal", "value": "5", "type": "number:primitive"},
    }

    response = add(api_client, program, body)

    assert error(response)["code"] == 4076
    assert "bill.total" in error(response)["message"]


@pytest.mark.django_db
def test_exp_and_exp_json_must_describe_the_same_rule(api_client, program):
    body = seed_request(program.pk)
    body["promotion"]["rulesetInfos"][0]["rules"][0]["exp"] = "false"

    response = add(api_client, program, body)

    assert error(response)["code"] == 4076
    assert "different rules" in error(response)["message"]


@pytest.mark.django_db
def test_a_line_item_rule_needs_line_item_allocation(api_client, program):
    body = seed_request(program.pk)
    rule = body["promotion"]["rulesetInfos"][0]["rules"][0]
    rule["exp"] = 'lineItem.sku == "A"'
    rule.pop("expJSON")
    rule["expJSON"] = (
        '{"arity":"binary","value":"==","first":{"arity":"name","value":"lineItem.sku"},'
        '"second":{"arity":"literal","value":"A","type":"string:primitive"}}'
    )

    rejected = add(api_client, program, body)
    body["promotion"]["allocatePointsOn"] = "LINEITEM"
    accepted = add(api_client, program, body)

    assert error(rejected)["code"] == 4076
    assert accepted.status_code == 200, accepted.content


@pytest.mark.django_db
def test_the_program_must_be_the_callers(api_client, other_org, program):
    other_program = ProgramFactory(org=other_org)

    response = add(api_client, other_program, seed_request(other_program.pk))

    assert (response.status_code, error(response)["code"]) == (404, 4002)
    assert Promotion.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_add_type_and_a_malformed_body_are_400(api_client, program):
    bad_type = add(api_client, program, seed_request(program.pk), kind="fancy")
    bad_json = api_client.post(add_url(program.pk), "{not json", content_type="application/json")
    wrong_type = add(api_client, program, {"promotion": {"limits": "none"}})

    assert (bad_type.status_code, error(bad_type)["code"]) == (400, 4004)
    assert bad_json.status_code == 400 and error(bad_json)["code"] == 400
    assert wrong_type.status_code == 400 and error(wrong_type)["code"] == 400


@pytest.mark.django_db
def test_unknown_promotion_id_is_4001(api_client, program):
    body = seed_request(program.pk)
    body["promotion"]["id"] = 999999

    response = add(api_client, program, body)

    assert (response.status_code, error(response)["code"]) == (404, 4001)


@pytest.mark.django_db
def test_action_strategies_of_the_program_are_linked(api_client, program, org):
    award = award_strategy(program, "PERCENT", 5)
    other = award_strategy(ProgramFactory(org=org, name="Other"), "FIXED", 10)
    body = seed_request(program.pk)
    body["promotion"]["promotionSourceType"] = "PROMOTION_API"
    body["promotion"]["eventName"] = "TransactionAdd"
    body["promotion"]["pointsOfferType"] = "GENERIC"
    body["promotion"]["startDate"] = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    body["promotion"]["endDate"] = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    properties = body["promotion"]["rulesetInfos"][0]["rules"][0]["caseToActions"]["true"][0][
        "mandatoryPropertiesValues"
    ]
    properties["AwardStrategy"] = str(award.pk)

    response = add(api_client, program, body)
    properties["AwardStrategy"] = str(other.pk)
    body["promotion"]["name"] = body["promotion"]["identifier"] = "second"
    add(api_client, program, body)

    assert response.json()["data"][0]["promotionStatus"] == "LIVE"
    linked = PromotionAction.objects.order_by("pk")
    assert [action.award_strategy_id for action in linked] == [award.pk, None]
