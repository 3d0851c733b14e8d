"""Get by id, the program's list and the list of all promotions (CONTRACT.md §5.1)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from promotions.services import promotion_set_active
from tests.members.factories import ProgramFactory
from tests.promotions.factories import contract, make_promotion, seed_request

BASE = "/api_gateway/loyalty/v1/programs"


def data(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["data"]


@pytest.mark.django_db
def test_get_by_id_has_the_fixtures_shape(api_client, program):
    created = api_client.post(
        f"{BASE}/{program.pk}/promotions/add/simple", seed_request(program.pk), format="json"
    ).json()["data"][0]
    sample = contract("promotions_get_by_id_response.json")["data"][0]

    (item,) = data(api_client.get(f"{BASE}/{program.pk}/promotions/{created['id']}/get"))

    assert set(sample) <= set(item)
    assert set(sample["promotionRestrictions"]) <= set(item["promotionRestrictions"])
    ruleset = item["rulesetInfos"][0]
    sample_ruleset = sample["rulesetInfos"][0]
    assert set(sample_ruleset) - {"className"} <= set(ruleset)
    rule = ruleset["rules"][0]
    assert set(sample_ruleset["rules"][0]) <= set(rule)
    action = rule["caseToActions"]["true"][0]
    assert set(sample_ruleset["rules"][0]["caseToActions"]["true"][0]) - {"actionClass"} <= set(
        action
    )
    assert ruleset["contextID"] == 2932 and ruleset["orgID"] == program.org_id
    assert ruleset["startDate"] == 1089532593324 and ruleset["endDate"] == 33593126193324
    assert rule["exp"] == "true" and rule["name"] == "Rule 1"
    assert item["programName"] == program.name
    assert item["promotionRestrictions"]["linkedTargetGroupVsTargetRuleIdMap"] == {"1234567": [123]}
    assert {f["name"] for f in ruleset["filterInfo"]} == {"LoyaltyType", "EventSource"}


@pytest.mark.django_db
def test_get_of_an_unknown_or_foreign_promotion_is_404(api_client, other_client, program):
    promotion = make_promotion(program)

    unknown = api_client.get(f"{BASE}/{program.pk}/promotions/{promotion.pk + 1}/get")
    foreign = other_client.get(f"{BASE}/{program.pk}/promotions/{promotion.pk}/get")
    wrong_program = api_client.get(f"{BASE}/999999/promotions/{promotion.pk}/get")

    assert (unknown.status_code, unknown.json()["status"]["code"]) == (404, 4001)
    assert (foreign.status_code, foreign.json()["status"]["code"]) == (404, 4002)
    assert wrong_program.json()["status"]["code"] == 4002
    assert unknown.json()["data"] is None


@pytest.mark.django_db
def test_program_list_pages_and_filters_by_source_type(api_client, org, program):
    made = [make_promotion(program, name=f"P{n}") for n in range(3)]
    ucc = make_promotion(
        program,
        name="UCC",
        source_type="USER_CREATED",
        target_group_ids=[1],
        target_rule_ids=[2],
    )
    make_promotion(ProgramFactory(org=org, name="Other"), name="Elsewhere")
    sample = contract("promotions_program_list_response.json")

    first_page = api_client.get(f"{BASE}/{program.pk}/promotionsV2?limit=2&offset=0")
    second_page = api_client.get(f"{BASE}/{program.pk}/promotionsV2?limit=2&offset=1")
    only_ucc = api_client.get(f"{BASE}/{program.pk}/promotionsV2?sourceType=USER_CREATED")
    bad = api_client.get(f"{BASE}/{program.pk}/promotionsV2?sourceType=FAX")

    assert set(sample) == set(first_page.json())
    assert [p["id"] for p in data(first_page)] == [ucc.pk, made[2].pk]
    assert [p["id"] for p in data(second_page)] == [made[1].pk, made[0].pk]
    assert first_page.json()["pageDetails"] == {
        "pageNumber": 0,
        "pageSize": 2,
        "totalEntries": 4,
        "pageCount": 2,
    }
    assert [p["id"] for p in data(only_ucc)] == [ucc.pk]
    assert bad.status_code == 400


@pytest.mark.django_db
def test_list_all_filters_by_status_activity_dates_name_and_program(api_client, org, program):
    now = timezone.now()
    live = make_promotion(program, name="Summer live")
    upcoming = make_promotion(
        program,
        name="Upcoming",
        starts_at=now + datetime.timedelta(days=5),
        ends_at=now + datetime.timedelta(days=9),
    )
    completed = make_promotion(
        program,
        name="Completed",
        starts_at=now - datetime.timedelta(days=9),
        ends_at=now - datetime.timedelta(days=5),
    )
    inactive = make_promotion(program, name="Summer off")
    promotion_set_active(promotion=inactive, is_active=False, actor=None)
    other_program = ProgramFactory(org=org, name="Second")
    elsewhere = make_promotion(other_program, name="Elsewhere")

    def listed(query: str = "") -> list[int]:
        return [p["id"] for p in data(api_client.get(f"{BASE}/promotions/list?{query}"))]

    statuses = {
        status: listed(f"status={status}")
        for status in ("LIVE", "UPCOMING", "COMPLETED", "INACTIVE")
    }
    assert statuses == {
        "LIVE": [elsewhere.pk, live.pk],
        "UPCOMING": [upcoming.pk],
        "COMPLETED": [completed.pk],
        "INACTIVE": [inactive.pk],
    }
    assert listed("activity=INACTIVE") == [inactive.pk]
    assert listed("promotionName=summer") == [inactive.pk, live.pk]
    assert listed(f"program={other_program.pk}") == [elsewhere.pk]
    later = (now + datetime.timedelta(days=2)).date().isoformat()
    assert listed(f"startDate={later}") == [upcoming.pk]
    earlier = (now - datetime.timedelta(days=2)).date().isoformat()
    assert listed(f"endDate={earlier}") == [completed.pk]
    for bad in ("status=SOON", "activity=MAYBE", "startDate=yesterday", "limit=0", "program=abc"):
        response = api_client.get(f"{BASE}/promotions/list?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["data"] is None


@pytest.mark.django_db
def test_lists_show_only_the_callers_promotions(api_client, other_client, program):
    make_promotion(program)

    response = other_client.get(f"{BASE}/promotions/list")

    assert data(response) == []
    assert response.json()["pageDetails"]["totalEntries"] == 0
