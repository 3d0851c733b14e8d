"""The members admin: every page opens, forms validate, transactions are read-only."""

from __future__ import annotations

import importlib
import re
from decimal import Decimal

import pytest
from django import forms
from django.apps import apps as global_apps
from django.contrib import admin
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty_site.api.authentication import md5_hex, till_check_secret
from members import models
from tests.members.factories import (
    ConceptFactory,
    CustomerFactory,
    OrgFactory,
    StoreFactory,
    TransactionFactory,
    UserGroupFactory,
    ZoneFactory,
)

staff_roles = importlib.import_module("members.migrations.0002_staff_roles")


# Helpers -------------------------------------------------------------------------------------
def _url(model, view: str, *args) -> str:
    return reverse(f"admin:members_{model._meta.model_name}_{view}", args=args)


def _form_values(form) -> dict:
    """POST data that submits `form` with the values it shows."""
    data = {}
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        if isinstance(field, forms.SplitDateTimeField):
            if value:
                day, time = field.widget.decompress(value)
                data[f"{key}_0"] = day.isoformat()
                data[f"{key}_1"] = time.strftime("%H:%M:%S")
        elif isinstance(field, forms.BooleanField):
            if value:
                data[key] = "on"
        elif value is None:
            continue
        elif isinstance(value, list | tuple):
            data[key] = [str(item) for item in value]
        else:
            data[key] = str(value)
    return data


def _page_data(response) -> dict:
    """POST data that saves an admin add/change page as it was rendered."""
    data = _form_values(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = str(management[name].value())
        for form in formset.forms:
            data.update(_form_values(form))
    data["_save"] = "Save"
    return data


def _messages(errors) -> list[str]:
    return [f"{field}: {message}" for field, messages in errors.items() for message in messages]


def _errors(response) -> str:
    """Every error message of the page, as plain text."""
    context = response.context
    if context is None:
        return f"status {response.status_code}"
    parts = _messages(context["adminform"].form.errors)
    for inline in context["inline_admin_formsets"]:
        for form_errors in inline.formset.errors:
            parts.extend(_messages(form_errors))
        parts.extend(inline.formset.non_form_errors())
    return " | ".join(parts)


# Fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def roles(db):
    staff_roles.create_roles(global_apps, None)


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def marketing_client(client, django_user_model, roles):
    user = django_user_model.objects.create_user("marketer", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=staff_roles.MARKETING_MANAGER))
    client.force_login(user)
    return client


@pytest.fixture
def care_client(client, django_user_model, roles):
    user = django_user_model.objects.create_user("carer", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=staff_roles.MEMBER_CARE_AGENT))
    client.force_login(user)
    return client


@pytest.fixture
def objects(org, till, program):
    """One row of every model the members admin shows."""
    child = OrgFactory(name="Acme Junior", parent=org)
    rate = models.ExchangeRate.objects.create(org=org, currency="USD", rate_to_base=Decimal("83"))
    zone = ZoneFactory(org=org)
    concept = ConceptFactory(org=org)
    store = till.store
    store.zone, store.concept = zone, concept
    store.save()
    partner = models.PartnerProgram.objects.create(org=org, program=program, name="Air Miles")
    label = models.CustomerLabel.objects.create(org=org, name="VIP")
    customer = CustomerFactory(
        org=org, mobile="919812345678", email="asha@example.com", external_id="EXT-1"
    )
    customer.labels.add(label)
    models.CustomerSourceProfile.objects.create(customer=customer, source="INSTORE")
    models.ProgramEnrollment.objects.create(
        customer=customer,
        program=program,
        tier=program.tiers.get(number=1),
        enrolled_at=timezone.now(),
    )
    models.PartnerProgramEnrollment.objects.create(
        customer=customer, partner_program=partner, enrolled_at=timezone.now()
    )
    group = UserGroupFactory(org=org, member_count=1)
    membership = models.UserGroupMembership.objects.create(
        group=group, customer=customer, is_primary=True, joined_at=timezone.now()
    )
    bill = TransactionFactory(org=org, customer=customer, till=till, store=store)
    models.TransactionLineItem.objects.create(
        transaction=bill, serial=1, sku="SKU-1", qty=1, rate=1000, value=1000, amount=1000
    )
    return {
        models.Org: org,
        models.Zone: zone,
        models.Concept: concept,
        models.Store: store,
        models.Till: till,
        models.Program: program,
        models.PartnerProgram: partner,
        models.CustomerLabel: label,
        models.Customer: customer,
        models.UserGroup: group,
        models.UserGroupMembership: membership,
        models.Transaction: bill,
        "child": child,
        "rate": rate,
    }


REGISTERED = [
    models.Org,
    models.Zone,
    models.Concept,
    models.Store,
    models.Till,
    models.Program,
    models.PartnerProgram,
    models.CustomerLabel,
    models.Customer,
    models.UserGroup,
    models.UserGroupMembership,
    models.Transaction,
]
EDITABLE = [model for model in REGISTERED if model is not models.Transaction]


def test_every_members_model_with_an_admin_is_covered():
    registered = {model for model in admin.site._registry if model._meta.app_label == "members"}
    assert registered == set(REGISTERED)


# Smoke: every page opens -------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model.__name__)
def test_changelist_and_change_pages_open(superuser_client, objects, model):
    obj = objects[model]

    assert superuser_client.get(_url(model, "changelist")).status_code == 200
    response = superuser_client.get(_url(model, "change", obj.pk))
    assert response.status_code == 200
    if model is not models.Transaction:
        assert superuser_client.get(_url(model, "add")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("model", EDITABLE, ids=lambda model: model.__name__)
def test_unchanged_change_page_saves(superuser_client, objects, model):
    # given a change page as rendered
    url = _url(model, "change", objects[model].pk)
    page = superuser_client.get(url)

    # when it is submitted unchanged, then it saves
    response = superuser_client.post(url, _page_data(page))
    assert response.status_code == 302, _errors(response)


@pytest.mark.django_db
def test_org_page_shows_exchange_rates_and_children(superuser_client, objects):
    response = superuser_client.get(_url(models.Org, "change", objects[models.Org].pk))

    assert b"Acme Junior" in response.content
    assert b"Connected child orgs" in response.content
    assert b"83.00000000" in response.content


@pytest.mark.django_db
def test_changelists_filter_by_org(superuser_client, objects, other_org):
    # given another org's customer
    CustomerFactory(org=other_org)

    # when the customer list is filtered by the first org
    response = superuser_client.get(
        _url(models.Customer, "changelist"), {"org__id__exact": objects[models.Org].pk}
    )

    # then only its customer is listed
    assert list(response.context["cl"].result_list) == [objects[models.Customer]]


# Customer search -------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "term", ["919812345678", "+91 98123 45678", "ASHA@example.com", "EXT-1", "id"]
)
def test_customer_search_finds_by_identifier(superuser_client, objects, term):
    # given the customer and another one
    customer = objects[models.Customer]
    CustomerFactory(org=customer.org)
    if term == "id":
        term = str(customer.pk)

    # when searching by one of its identifiers
    response = superuser_client.get(_url(models.Customer, "changelist"), {"q": term})

    # then exactly that customer is found
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [customer]


@pytest.mark.django_db
def test_customer_search_without_match_finds_nothing(superuser_client, objects):
    response = superuser_client.get(_url(models.Customer, "changelist"), {"q": "nobody@x.org"})

    assert list(response.context["cl"].result_list) == []


@pytest.mark.django_db
def test_customer_search_with_a_number_too_big_for_an_id_finds_nothing(superuser_client, objects):
    response = superuser_client.get(_url(models.Customer, "changelist"), {"q": "9" * 25})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


@pytest.mark.django_db
def test_transaction_search_by_number_and_customer_identifier(superuser_client, objects):
    bill = objects[models.Transaction]
    TransactionFactory(org=bill.org)

    for term in (bill.number, "919812345678", "asha@example.com", "EXT-1"):
        response = superuser_client.get(_url(models.Transaction, "changelist"), {"q": term})
        assert list(response.context["cl"].result_list) == [bill], term


@pytest.mark.django_db
def test_customer_autocomplete_uses_identifier_search(superuser_client, objects):
    response = superuser_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "EXT-1",
            "app_label": "members",
            "model_name": "usergroupmembership",
            "field_name": "customer",
        },
    )

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [str(objects[models.Customer].pk)]


# Transactions are read-only ----------------------------------------------------------------------
@pytest.mark.django_db
def test_transaction_admin_refuses_add(superuser_client, objects):
    count = models.Transaction.objects.count()

    assert superuser_client.get(_url(models.Transaction, "add")).status_code == 403
    response = superuser_client.post(_url(models.Transaction, "add"), {"number": "X1"})

    assert response.status_code == 403
    assert models.Transaction.objects.count() == count


@pytest.mark.django_db
def test_transaction_admin_refuses_change_and_delete(superuser_client, objects):
    bill = objects[models.Transaction]
    page = superuser_client.get(_url(models.Transaction, "change", bill.pk))
    assert b'name="_save"' not in page.content

    response = superuser_client.post(
        _url(models.Transaction, "change", bill.pk), {"number": "CHANGED", "bill_amount": "1"}
    )
    assert response.status_code == 403
    assert superuser_client.post(_url(models.Transaction, "delete", bill.pk)).status_code == 403

    bill.refresh_from_db()
    assert bill.number != "CHANGED"
    assert bill.bill_amount == Decimal("1000")
    assert bill.line_items.count() == 1


# Till credentials --------------------------------------------------------------------------------
def _till_data(till, **overrides) -> dict:
    data = {
        "store": till.store_id,
        "code": till.code,
        "name": till.name,
        "is_active": "on",
        "api_password": "",
        "api_password_confirmation": "",
        "_save": "Save",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_till_password_form_stores_a_hash_the_api_accepts(superuser_client, till):
    # when a new API password is set in the admin
    response = superuser_client.post(
        _url(models.Till, "change", till.pk),
        _till_data(till, api_password="new-secret-9", api_password_confirmation="new-secret-9"),
    )

    # then the till authenticates with its MD5, not with the old one
    assert response.status_code == 302, _errors(response)
    till.refresh_from_db()
    assert till_check_secret(till=till, secret=md5_hex("new-secret-9"))
    assert not till_check_secret(till=till, secret=md5_hex("till-secret-1"))
    assert "new-secret-9" not in till.password_hash


@pytest.mark.django_db
def test_till_password_form_rejects_a_mismatch(superuser_client, till):
    before = till.password_hash

    response = superuser_client.post(
        _url(models.Till, "change", till.pk),
        _till_data(till, api_password="new-secret-9", api_password_confirmation="other-secret"),
    )

    assert response.status_code == 200
    assert "do not match" in _errors(response)
    till.refresh_from_db()
    assert till.password_hash == before


@pytest.mark.django_db
def test_till_password_is_never_rendered(superuser_client, till):
    response = superuser_client.get(_url(models.Till, "change", till.pk))

    assert till.password_hash.encode() not in response.content
    assert till.oauth_secret_hash.encode() not in response.content


@pytest.mark.django_db
def test_till_add_needs_a_password_and_a_store_of_its_org(superuser_client, org, other_org):
    # given a store of another org
    foreign_store = StoreFactory(org=other_org)
    data = {
        "org": org.pk,
        "store": foreign_store.pk,
        "code": "acme.till99",
        "name": "New",
        "is_active": "on",
        "api_password": "",
        "api_password_confirmation": "",
        "_save": "Save",
    }

    # when the till is added without password and with that store
    response = superuser_client.post(_url(models.Till, "add"), data)

    # then the form shows both errors and nothing is created
    assert response.status_code == 200
    errors = _errors(response)
    assert "Set an API password" in errors
    assert "another org" in errors
    assert not models.Till.objects.filter(code="acme.till99").exists()


@pytest.mark.django_db
def test_till_add_with_password(superuser_client, org):
    store = StoreFactory(org=org)

    response = superuser_client.post(
        _url(models.Till, "add"),
        {
            "org": org.pk,
            "store": store.pk,
            "code": "acme.till99",
            "name": "New",
            "is_active": "on",
            "api_password": "brand-new-1",
            "api_password_confirmation": "brand-new-1",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, _errors(response)
    till = models.Till.objects.get(code="acme.till99")
    assert till_check_secret(till=till, secret=md5_hex("brand-new-1"))


@pytest.mark.django_db
def test_generate_oauth_credentials_action_shows_the_secret_once(superuser_client, till):
    # when the action runs on the till
    response = superuser_client.post(
        _url(models.Till, "changelist"),
        {"action": "generate_oauth_credentials", "_selected_action": [till.pk]},
        follow=True,
    )

    # then the message shows a new key and secret, of which only a hash is stored
    assert response.status_code == 200
    text = " ".join(str(message) for message in response.context["messages"])
    key, secret = re.search(r"key <code>(\S+)</code>, secret <code>(\S+)</code>", text).groups()
    till.refresh_from_db()
    assert till.oauth_key == key
    assert secret not in till.oauth_secret_hash
    assert check_password(secret, till.oauth_secret_hash)
    token = APIClient().post(
        "/v3/oauth/token/generate", {"key": key, "secret": secret}, format="json"
    )
    assert token.status_code == 200, token.content

    # and the next page does not show it again
    again = superuser_client.get(_url(models.Till, "changelist"))
    assert secret.encode() not in again.content


# Cross-org and domain validation on the forms ----------------------------------------------------
@pytest.mark.django_db
def test_store_form_rejects_a_zone_of_another_org(superuser_client, org, other_org):
    foreign_zone = ZoneFactory(org=other_org)

    response = superuser_client.post(
        _url(models.Store, "add"),
        {
            "org": org.pk,
            "code": "s-new",
            "name": "New",
            "currency": "INR",
            "zone": foreign_zone.pk,
            "is_active": "on",
            "_save": "Save",
        },
    )

    assert response.status_code == 200
    assert "own entries" in _errors(response)
    assert not models.Store.objects.filter(code="s-new").exists()


@pytest.mark.django_db
def test_program_form_allows_one_default_per_org(superuser_client, program):
    response = superuser_client.post(
        _url(models.Program, "add"),
        {
            "org": program.org_id,
            "name": "Second",
            "is_default": "on",
            "is_active": "on",
            "points_to_currency_ratio": "1",
            "points_decimal_places": "0",
            "expiry_policy": "NONE",
            "expiry_value": "0",
            "tiers-TOTAL_FORMS": "0",
            "tiers-INITIAL_FORMS": "0",
            "partner_programs-TOTAL_FORMS": "0",
            "partner_programs-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )

    assert response.status_code == 200
    assert "already the org's default program" in _errors(response)
    assert not models.Program.objects.filter(name="Second").exists()


@pytest.mark.django_db
def test_program_inlines_create_tiers_and_partner_programs(superuser_client, org):
    response = superuser_client.post(
        _url(models.Program, "add"),
        {
            "org": org.pk,
            "name": "Club",
            "is_active": "on",
            "points_to_currency_ratio": "1",
            "points_decimal_places": "0",
            "expiry_policy": "NONE",
            "expiry_value": "0",
            "tiers-TOTAL_FORMS": "2",
            "tiers-INITIAL_FORMS": "0",
            "tiers-0-number": "1",
            "tiers-0-name": "Blue",
            "tiers-0-upgrade_threshold": "0",
            "tiers-1-number": "2",
            "tiers-1-name": "Gold",
            "tiers-1-upgrade_threshold": "500",
            "partner_programs-TOTAL_FORMS": "1",
            "partner_programs-INITIAL_FORMS": "0",
            "partner_programs-0-name": "Hotel Points",
            "partner_programs-0-kind": "EXTERNAL",
            "partner_programs-0-is_active": "on",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, _errors(response)
    program = models.Program.objects.get(org=org, name="Club")
    assert list(program.tiers.values_list("name", flat=True)) == ["Blue", "Gold"]
    assert program.partner_programs.get().org_id == org.pk


@pytest.mark.django_db
def test_program_tier_thresholds_must_grow(superuser_client, org):
    response = superuser_client.post(
        _url(models.Program, "add"),
        {
            "org": org.pk,
            "name": "Club",
            "is_active": "on",
            "points_to_currency_ratio": "1",
            "points_decimal_places": "0",
            "expiry_policy": "NONE",
            "expiry_value": "0",
            "tiers-TOTAL_FORMS": "2",
            "tiers-INITIAL_FORMS": "0",
            "tiers-0-number": "1",
            "tiers-0-name": "Blue",
            "tiers-0-upgrade_threshold": "900",
            "tiers-1-number": "2",
            "tiers-1-name": "Gold",
            "tiers-1-upgrade_threshold": "500",
            "partner_programs-TOTAL_FORMS": "0",
            "partner_programs-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )

    assert response.status_code == 200
    assert "upgrade threshold of at least 900" in _errors(response)
    assert not models.Program.objects.filter(name="Club").exists()


@pytest.mark.django_db
def test_org_form_keeps_connected_orgs_one_level_deep(superuser_client, objects):
    # given Acme Retail with a child org, and an unrelated org
    acme = objects[models.Org]
    unrelated = OrgFactory(name="Unrelated")
    page = superuser_client.get(_url(models.Org, "change", acme.pk))
    data = _page_data(page)
    data["parent"] = unrelated.pk

    # when Acme Retail is made a child of it
    response = superuser_client.post(_url(models.Org, "change", acme.pk), data)

    # then the form refuses
    assert response.status_code == 200
    assert "cannot become a child org" in _errors(response)
    acme.refresh_from_db()
    assert acme.parent_id is None


@pytest.mark.django_db
def test_customer_form_rejects_a_label_of_another_org(superuser_client, objects, other_org):
    customer = objects[models.Customer]
    foreign_label = models.CustomerLabel.objects.create(org=other_org, name="Foreign")
    page = superuser_client.get(_url(models.Customer, "change", customer.pk))
    data = _page_data(page)
    data["labels"] = [str(foreign_label.pk)]

    response = superuser_client.post(_url(models.Customer, "change", customer.pk), data)

    assert response.status_code == 200
    assert "Labels of another org" in _errors(response)
    assert list(customer.labels.values_list("name", flat=True)) == ["VIP"]


@pytest.mark.django_db
def test_customer_form_normalises_mobile_and_reports_duplicates(superuser_client, objects):
    customer = objects[models.Customer]
    other = CustomerFactory(org=customer.org, mobile="919800000002")
    url = _url(models.Customer, "change", customer.pk)
    data = _page_data(superuser_client.get(url))

    # a duplicate mobile is a form error
    data["mobile"] = "+91 98000-00002"
    response = superuser_client.post(url, data)
    assert response.status_code == 200
    assert "mobile" in response.context["adminform"].form.errors

    # a new one is stored normalised
    data["mobile"] = "+91 98000-00009"
    response = superuser_client.post(url, data)
    assert response.status_code == 302, _errors(response)
    customer.refresh_from_db()
    other.refresh_from_db()
    assert customer.mobile == "919800000009"
    assert other.mobile == "919800000002"


@pytest.mark.django_db
def test_enrollment_inline_rejects_a_program_of_another_org(superuser_client, objects, other_org):
    customer = objects[models.Customer]
    foreign = models.Program.objects.create(org=other_org, name="Foreign")
    url = _url(models.Customer, "change", customer.pk)
    data = _page_data(superuser_client.get(url))
    data["enrollments-0-program"] = str(foreign.pk)
    data["enrollments-0-tier"] = ""

    response = superuser_client.post(url, data)

    # the program is not even offered, and the form refuses it
    assert response.status_code == 200
    assert customer.enrollments.get().program_id == objects[models.Program].pk


@pytest.mark.django_db
def test_group_inline_keeps_capacity_and_one_primary(superuser_client, objects):
    # given a group of capacity 2 holding its primary member
    group = objects[models.UserGroup]
    group.max_size = 2
    group.save()
    url = _url(models.UserGroup, "change", group.pk)
    data = _page_data(superuser_client.get(url))
    newcomers = [CustomerFactory(org=group.org) for _ in range(2)]
    data["memberships-TOTAL_FORMS"] = "3"
    for index, customer in enumerate(newcomers, start=1):
        data.update(
            {
                f"memberships-{index}-customer": str(customer.pk),
                f"memberships-{index}-is_active": "on",
                f"memberships-{index}-is_primary": "on",
                f"memberships-{index}-permissions": "[]",
                f"memberships-{index}-joined_at_0": "2026-01-01",
                f"memberships-{index}-joined_at_1": "10:00:00",
            }
        )

    # when two more (primary) members are added
    response = superuser_client.post(url, data)

    # then the form refuses and nothing changes
    assert response.status_code == 200
    errors = _errors(response)
    assert "at most one active primary" in errors
    assert "at most 2 members" in errors
    assert group.memberships.count() == 1


@pytest.mark.django_db
def test_group_inline_adds_a_member_and_recounts(superuser_client, objects, other_org):
    group = objects[models.UserGroup]
    url = _url(models.UserGroup, "change", group.pk)
    data = _page_data(superuser_client.get(url))
    newcomer = CustomerFactory(org=group.org)
    data["memberships-TOTAL_FORMS"] = "2"
    data.update(
        {
            "memberships-1-customer": str(newcomer.pk),
            "memberships-1-is_active": "on",
            "memberships-1-permissions": '["block_points_redemption"]',
            "memberships-1-joined_at_0": "2026-01-01",
            "memberships-1-joined_at_1": "10:00:00",
        }
    )

    response = superuser_client.post(url, data)

    assert response.status_code == 302, _errors(response)
    group.refresh_from_db()
    assert group.member_count == 2
    assert group.memberships.get(customer=newcomer).permissions == ["block_points_redemption"]


@pytest.mark.django_db
def test_group_inline_rejects_a_customer_of_another_org(superuser_client, objects, other_org):
    group = objects[models.UserGroup]
    url = _url(models.UserGroup, "change", group.pk)
    data = _page_data(superuser_client.get(url))
    foreigner = CustomerFactory(org=other_org)
    data["memberships-TOTAL_FORMS"] = "2"
    data.update(
        {
            "memberships-1-customer": str(foreigner.pk),
            "memberships-1-is_active": "on",
            "memberships-1-permissions": "[]",
            "memberships-1-joined_at_0": "2026-01-01",
            "memberships-1-joined_at_1": "10:00:00",
        }
    )

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    assert "another org than the group" in _errors(response)
    assert group.memberships.count() == 1


@pytest.mark.django_db
def test_deactivating_a_membership_records_leaving_and_recounts(superuser_client, objects):
    membership = objects[models.UserGroupMembership]
    url = _url(models.UserGroupMembership, "change", membership.pk)
    data = _page_data(superuser_client.get(url))
    data.pop("is_active")

    response = superuser_client.post(url, data)

    assert response.status_code == 302, _errors(response)
    membership.refresh_from_db()
    assert not membership.is_active
    assert membership.left_at is not None
    membership.group.refresh_from_db()
    assert membership.group.member_count == 0


# Staff roles in the admin ------------------------------------------------------------------------
@pytest.mark.django_db
def test_marketing_manager_edits_programs_but_not_tills(marketing_client, objects):
    program = objects[models.Program]

    assert marketing_client.get(_url(models.Program, "changelist")).status_code == 200
    page = marketing_client.get(_url(models.Program, "change", program.pk))
    assert page.status_code == 200
    assert b'name="_save"' in page.content
    assert (
        marketing_client.get(_url(models.Till, "change", objects[models.Till].pk)).status_code
        == 403
    )
    assert marketing_client.get(_url(models.Till, "changelist")).status_code == 403
    org_page = marketing_client.get(_url(models.Org, "change", objects[models.Org].pk))
    assert org_page.status_code == 200
    assert b'name="_save"' not in org_page.content


@pytest.mark.django_db
def test_marketing_manager_saves_a_program(marketing_client, objects):
    program = objects[models.Program]
    url = _url(models.Program, "change", program.pk)
    data = _page_data(marketing_client.get(url))
    data["description"] = "Updated by marketing"

    response = marketing_client.post(url, data)

    assert response.status_code == 302, _errors(response)
    program.refresh_from_db()
    assert program.description == "Updated by marketing"


@pytest.mark.django_db
def test_member_care_views_and_changes_customers_only(care_client, objects):
    customer = objects[models.Customer]
    url = _url(models.Customer, "change", customer.pk)
    page = care_client.get(url)
    assert page.status_code == 200
    data = _page_data(page)
    data["first_name"] = "Asha"

    response = care_client.post(url, data)

    assert response.status_code == 302, _errors(response)
    customer.refresh_from_db()
    assert customer.first_name == "Asha"
    assert care_client.get(_url(models.Till, "change", objects[models.Till].pk)).status_code == 403
    program_page = care_client.get(_url(models.Program, "change", objects[models.Program].pk))
    assert b'name="_save"' not in program_page.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "field"),
    [
        (models.Zone, "code"),
        (models.Store, "code"),
        (models.CustomerLabel, "name"),
        (models.UserGroup, "external_id"),
    ],
)
def test_duplicate_code_within_the_org_is_a_form_error(superuser_client, objects, model, field):
    # given a second row of the same org (org is read-only on its change page)
    first = objects[model]
    second = model.objects.get(pk=first.pk)
    second.pk = None
    setattr(second, field, "another-one")
    second.save()
    url = _url(model, "change", second.pk)
    data = _page_data(superuser_client.get(url))

    # when it takes the first row's code
    data[field] = getattr(first, field)
    response = superuser_client.post(url, data)

    # then the form refuses instead of failing in the database
    assert response.status_code == 200
    assert "already exists" in _errors(response)
    second.refresh_from_db()
    assert getattr(second, field) == "another-one"


@pytest.mark.django_db
def test_partner_program_inline_rejects_a_duplicate_name(superuser_client, objects):
    program = objects[models.Program]
    url = _url(models.Program, "change", program.pk)
    data = _page_data(superuser_client.get(url))
    data.update(
        {
            "partner_programs-TOTAL_FORMS": "2",
            "partner_programs-1-name": "Air Miles",
            "partner_programs-1-kind": "EXTERNAL",
        }
    )

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    assert "already exists" in _errors(response)
    assert models.PartnerProgram.objects.filter(name="Air Miles").count() == 1


@pytest.mark.django_db
def test_no_one_joins_an_inactive_group(superuser_client, objects):
    group = objects[models.UserGroup]
    newcomer = CustomerFactory(org=group.org)

    response = superuser_client.post(
        _url(models.UserGroupMembership, "add"),
        {
            "group": group.pk,
            "customer": newcomer.pk,
            "is_active": "on",
            "permissions": "[]",
            "joined_at_0": "2026-01-01",
            "joined_at_1": "10:00:00",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, _errors(response)

    models.UserGroup.objects.filter(pk=group.pk).update(status=models.UserGroup.Status.INACTIVE)
    latecomer = CustomerFactory(org=group.org)
    response = superuser_client.post(
        _url(models.UserGroupMembership, "add"),
        {
            "group": group.pk,
            "customer": latecomer.pk,
            "is_active": "on",
            "permissions": "[]",
            "joined_at_0": "2026-01-01",
            "joined_at_1": "10:00:00",
            "_save": "Save",
        },
    )

    assert response.status_code == 200
    assert "no one joins" in _errors(response)
    group.refresh_from_db()
    assert group.member_count == 2
    assert not group.memberships.filter(customer=latecomer).exists()
