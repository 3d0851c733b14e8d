"""The promotions admin: the condition builder writes the rule, errors show on the form, usage is
shown, and the staff roles get their permissions."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from django.urls import reverse

from promotions.models import Promotion, PromotionAction, PromotionRestriction, PromotionRule
from promotions.rules import parse_exp, parse_exp_json, same_tree
from promotions.services import promotion_create
from tests.members.test_admin import _errors, _page_data
from tests.promotions.factories import (
    award_strategy,
    expiry_strategy,
    make_promotion,
    post_bill,
    rule,
    spec,
)

staff_roles = importlib.import_module("members.migrations.0002_staff_roles")
promotion_roles = importlib.import_module("promotions.migrations.0002_promotion_staff_permissions")

ADD_URL = reverse("admin:promotions_promotion_add")


def change_url(promotion) -> str:
    return reverse("admin:promotions_promotion_change", args=[promotion.pk])


@pytest.fixture
def roles(db):
    staff_roles.create_roles(global_apps, None)
    promotion_roles.grant(global_apps, None)


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def staff_client(client, django_user_model, role: str):
    user = django_user_model.objects.create_user(role, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def add_data(client, program, award, **changes) -> dict:
    data = _page_data(client.get(ADD_URL))
    data.update(
        {
            "program": str(program.pk),
            "name": "Shoe week",
            "identifier": "shoe_week",
            "event_name": "TransactionAdd",
            "source_type": "PROMOTION_API",
            "points_offer_type": "GENERIC",
            "allocate_points_on": "BILL",
            "starts_at_0": "2024-01-01",
            "starts_at_1": "00:00:00",
            "ends_at_0": "2099-12-31",
            "ends_at_1": "23:59:00",
            "is_active": "on",
            "priority": "0",
            "min_bill_amount": "500",
            "categories": "shoes, boots",
            "store_codes": "",
            "tiers": "Gold",
            "sources": ["INSTORE"],
            "award_strategy": str(award.pk),
            "restrictions-0-kpi": "EARN:MAX_NUMBER_OF_EARNS_PER_CUSTOMER",
            "restrictions-0-value": "3",
            "restrictions-0-type": "PERIOD_BASED",
            "restrictions-0-period_type": "FIXED_WINDOW",
            "restrictions-0-period_unit": "WEEKLY",
        }
    )
    data.update(changes)
    return data


@pytest.mark.django_db
def test_the_condition_builder_writes_the_rule_and_its_json(superuser_client, program):
    award = award_strategy(program, "PERCENT", 5)
    expiry = expiry_strategy(program, "DAYS", 90)

    response = superuser_client.post(
        ADD_URL, add_data(superuser_client, program, award, expiry_strategy=str(expiry.pk))
    )

    assert response.status_code == 302, _errors(response)
    promotion = Promotion.objects.get()
    rule_row = PromotionRule.objects.get(ruleset__promotion=promotion)
    expected = (
        'bill.amount >= 500 && hasCategory("shoes", "boots") && customer.tier in ["Gold"] && '
        'event.source in ["INSTORE"]'
    )
    assert rule_row.exp == expected
    assert same_tree(parse_exp_json(rule_row.exp_json), parse_exp(expected))
    action = PromotionAction.objects.get()
    assert (action.award_strategy, action.expiry_strategy) == (award, expiry)
    restriction = PromotionRestriction.objects.get()
    assert (restriction.family, restriction.name, restriction.period_unit) == (
        "EARN",
        "MAX_NUMBER_OF_EARNS_PER_CUSTOMER",
        "WEEKLY",
    )
    assert promotion.updated_by_user is not None


@pytest.mark.django_db
def test_form_errors_show_on_the_form_and_nothing_is_saved(superuser_client, program):
    award = award_strategy(program)
    make_promotion(program, name="Taken", identifier="taken")
    cases = {
        "identifier": {"identifier": "taken"},
        "custom_expression": {"custom_expression": "bill.amount >"},
        "ends_at": {"ends_at_0": "2023-01-01"},
        "restriction": {"restrictions-0-period_unit": ""},
        "event": {"event_name": "two words"},
    }
    for label, changes in cases.items():
        response = superuser_client.post(
            ADD_URL, add_data(superuser_client, program, award, **changes)
        )
        assert response.status_code == 200, label
        assert _errors(response), label
    assert Promotion.objects.count() == 1


@pytest.mark.django_db
def test_a_line_item_promotion_builds_line_conditions(superuser_client, program):
    award = award_strategy(program, "PERCENT", 5)

    response = superuser_client.post(
        ADD_URL,
        add_data(
            superuser_client,
            program,
            award,
            allocate_points_on="LINEITEM",
            min_bill_amount="",
            categories="",
            tiers="",
            sources=[],
            skus="A1, B2",
        ),
    )

    assert response.status_code == 302, _errors(response)
    assert PromotionRule.objects.get().exp == 'lineItem.sku in ["A1", "B2"]'


@pytest.mark.django_db
def test_change_page_shows_usage_and_keeps_the_builders_fields(
    superuser_client, api_client, program, customer
):
    award = award_strategy(program, "FIXED", 20)
    superuser_client.post(
        ADD_URL,
        add_data(
            superuser_client,
            program,
            award,
            min_bill_amount="50",
            categories="",
            tiers="",
            sources=[],
        ),
    )
    promotion = Promotion.objects.get()
    post_bill(api_client, customer, "B-1", 100)
    post_bill(api_client, customer, "B-2", 100)

    page = superuser_client.get(change_url(promotion))
    listing = superuser_client.get(reverse("admin:promotions_promotion_changelist"))

    assert page.status_code == 200
    content = page.content.decode()
    assert "40 points given to 1 customers over 2 events" in content
    assert page.context["adminform"].form["min_bill_amount"].value() == 50
    assert listing.status_code == 200 and "Shoe week" in listing.content.decode()

    # a change through the form rewrites the rule
    data = _page_data(page)
    data["min_bill_amount"] = "75"
    saved = superuser_client.post(change_url(promotion), data)
    assert saved.status_code == 302, _errors(saved)
    assert PromotionRule.objects.get().exp == "bill.amount >= 75"


@pytest.mark.django_db
def test_api_rulesets_the_builder_cannot_show_are_kept(superuser_client, program):
    award = award_strategy(program)
    promotion = promotion_create(
        program=program,
        spec=spec(
            program,
            rules=[rule("bill.amount > 1000"), rule("bill.amount > 10")],
            name="API made",
        ),
        actor=None,
    )
    page = superuser_client.get(change_url(promotion))
    data = _page_data(page)
    data["name"] = "API made, renamed"
    data["award_strategy"] = str(award.pk)

    response = superuser_client.post(change_url(promotion), data)

    assert response.status_code == 302, _errors(response)
    assert list(PromotionRule.objects.values_list("exp", flat=True).order_by("position")) == [
        "bill.amount > 1000",
        "bill.amount > 10",
    ]
    assert Promotion.objects.get().name == "API made, renamed"


@pytest.mark.django_db
def test_marketing_managers_create_promotions_and_care_agents_only_view(
    client, django_user_model, roles, program
):
    award = award_strategy(program)
    marketing = staff_client(client, django_user_model, staff_roles.MARKETING_MANAGER)
    response = marketing.post(ADD_URL, add_data(marketing, program, award))
    assert response.status_code == 302, _errors(response)
    promotion = Promotion.objects.get()
    assert marketing.get(reverse("admin:promotions_awardstrategy_add")).status_code == 200
    marketing.logout()

    care = staff_client(client, django_user_model, staff_roles.MEMBER_CARE_AGENT)

    assert care.get(change_url(promotion)).status_code == 200
    assert care.get(ADD_URL).status_code == 403
    assert care.post(change_url(promotion), {}).status_code == 403


@pytest.mark.django_db
def test_the_permission_migration_grants_the_roles(roles):
    marketing = set(
        Group.objects.get(name=staff_roles.MARKETING_MANAGER)
        .permissions.filter(content_type__app_label="promotions")
        .values_list("codename", flat=True)
    )
    care = set(
        Group.objects.get(name=staff_roles.MEMBER_CARE_AGENT)
        .permissions.filter(content_type__app_label="promotions")
        .values_list("codename", flat=True)
    )

    assert {"add_promotion", "change_promotion", "view_promotion", "add_awardstrategy"} <= marketing
    assert "view_promotionearn" in marketing and "add_promotionearn" not in marketing
    assert "view_promotion" in care and not any(c.startswith(("add_", "change_")) for c in care)
