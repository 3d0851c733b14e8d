"""The cart promotion admin: marketing configures promotions and codes (errors on the form,
writes through the services), member care sees a code's redemptions with their bills."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from promotions.models import CartCatalogState, CartPromotion, PromoCode
from tests.promotions.cart_factories import (  # noqa: F401 (fresh_cart_catalog is autouse)
    bill_with,
    customer_of,
    evaluate,
    fresh_cart_catalog,
    item,
    make_code_promotion,
)

staff_roles = importlib.import_module("members.migrations.0002_staff_roles")
cart_roles = importlib.import_module("promotions.migrations.0004_cart_promotion_staff_permissions")

ADD_URL = reverse("admin:promotions_cartpromotion_add")


@pytest.fixture
def roles(db):
    staff_roles.create_roles(global_apps, None)
    cart_roles.grant(global_apps, None)


def staff_client(client, django_user_model, role: str):
    user = django_user_model.objects.create_user(role, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def form_data(org, **changes) -> dict:
    now = timezone.localtime()
    data = {
        "org": str(org.pk),
        "name": "ZN34C",
        "type": "CODE",
        "mode": "DISCOUNT",
        "message_label": "10% off bills over $100",
        "is_active": "on",
        "starts_at_0": now.strftime("%Y-%m-%d"),
        "starts_at_1": "00:00:00",
        "ends_at_0": (now + timezone.timedelta(days=30)).strftime("%Y-%m-%d"),
        "ends_at_1": "00:00:00",
        "priority": "0",
        "max_issuance_per_customer": "1",
        "condition": json.dumps(
            {
                "type": "CART",
                "cartCondition": {"kpi": "SUBTOTAL", "operator": "GREATER_THAN", "value": 100},
            }
        ),
        "action": json.dumps(
            {"type": "CART_BASED", "cartBasedAction": {"type": "PERCENTAGE", "value": 10}}
        ),
        "restrictions": json.dumps({"Code": [{"kpi": "REDEMPTION", "limit": 1000}]}),
        "_save": "Save",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_marketing_creates_a_cart_promotion_through_the_service(
    client, django_user_model, roles, org
):
    marketing = staff_client(client, django_user_model, "Marketing manager")

    response = marketing.post(ADD_URL, form_data(org))

    assert response.status_code == 302, response.context["adminform"].form.errors
    promotion = CartPromotion.objects.get()
    assert promotion.restrictions == {"Code": [{"kpi": "REDEMPTION", "limit": "1000"}]}
    assert CartCatalogState.objects.filter(org=org).exists()  # the engine's catalog was told


@pytest.mark.django_db
def test_a_broken_rule_shows_on_its_field_and_saves_nothing(client, django_user_model, roles, org):
    marketing = staff_client(client, django_user_model, "Marketing manager")
    bad_action = json.dumps(
        {"type": "TENDER", "tenderBasedAction": {"type": "ABSOLUTE", "value": 5}}
    )

    response = marketing.post(ADD_URL, form_data(org, action=bad_action))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "TENDER condition pairs with a TENDER action" in errors["action"][0]
    assert CartPromotion.objects.count() == 0


@pytest.mark.django_db
def test_marketing_generates_and_adds_codes(
    client, django_user_model, roles, org, django_capture_on_commit_callbacks
):
    promotion, _ = make_code_promotion(org, "FIRST")
    marketing = staff_client(client, django_user_model, "Marketing manager")
    generate = reverse("admin:promotions_cartpromotion_codes_generate", args=[promotion.pk])
    add = reverse("admin:promotions_cartpromotion_code_add", args=[promotion.pk])

    with django_capture_on_commit_callbacks(execute=True):
        started = marketing.post(
            generate, {"count": "20", "length": "8", "prefix": "", "is_alphanumeric": "on"}
        )
    added = marketing.post(add, {"code": "holiman100"})
    duplicate = marketing.post(add, {"code": "HOLIMAN100"})

    assert started.status_code == 302 and "/admin/core/job/" in started["Location"]
    assert PromoCode.objects.filter(promotion=promotion, source="GENERATED").count() == 20
    assert added.status_code == 302
    assert "already exists" in duplicate.context["form"].errors["code"][0]


@pytest.mark.django_db
def test_member_care_sees_a_codes_redemptions_with_their_bills(
    client, django_user_model, roles, org, api_client
):
    promotion, code = make_code_promotion(
        org, "HOLIMAN100", promotionRestrictions={"Code": [{"kpi": "REDEMPTION", "limit": 1000}]}
    )
    customer = customer_of(org)
    quote = evaluate(api_client, customer, [item("A", 150)], promoCodes=["HOLIMAN100"]).json()
    assert bill_with(api_client, customer, "BILL-42", quote["data"]).status_code == 200
    care = staff_client(client, django_user_model, "Member care agent")

    page = care.get(reverse("admin:promotions_promocode_change", args=[code.pk]))
    listing = care.get(reverse("admin:promotions_promocode_changelist") + "?q=HOLIMAN100")
    forbidden = care.get(ADD_URL)

    text = page.content.decode()
    assert page.status_code == 200
    assert "BILL-42" in text and "999 left of 1000" in text
    assert listing.status_code == 200 and "HOLIMAN100" in listing.content.decode()
    assert forbidden.status_code == 403
