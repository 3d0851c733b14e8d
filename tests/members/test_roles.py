"""The staff roles data migration (members.0002_staff_roles)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tests.members.factories import OrgFactory

staff_roles = importlib.import_module("members.migrations.0002_staff_roles")

MARKETING = staff_roles.MARKETING_MANAGER
CARE = staff_roles.MEMBER_CARE_AGENT


def _historical_apps():
    """The app registry as members.0002_staff_roles sees it while `migrate` runs."""
    loader = MigrationLoader(connection)
    return loader.project_state(("members", "0002_staff_roles"), at_end=False).apps


def _codenames(group_name: str) -> set[str]:
    return set(Group.objects.get(name=group_name).permissions.values_list("codename", flat=True))


@pytest.fixture
def roles(db):
    """The role groups; recreated if a transactional test flushed the migration's rows."""
    staff_roles.create_roles(global_apps, None)


def _staff_user(django_user_model, username: str, group_name: str):
    user = django_user_model.objects.create_user(username=username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return django_user_model.objects.get(pk=user.pk)  # a fresh permission cache


@pytest.mark.django_db
def test_migration_creates_roles_on_a_fresh_database():
    # given a database where permissions do not exist yet (post_migrate has not run)
    Group.objects.filter(name__in=[MARKETING, CARE]).delete()
    Permission.objects.filter(content_type__app_label__in=["members", "core"]).delete()

    # when the migration runs with the historical models
    staff_roles.create_roles(_historical_apps(), None)

    # then both roles exist with their permissions
    marketing = _codenames(MARKETING)
    care = _codenames(CARE)
    assert {
        "change_program",
        "add_tier",
        "view_customer",
        "view_transaction",
        "add_job",
    } <= marketing
    assert {"view_customer", "change_customer", "change_usergroupmembership"} <= care
    assert {"view_program", "view_tier", "view_transaction"} <= care


@pytest.mark.django_db
def test_roles_never_touch_org_or_till_credentials(roles):
    for role in (MARKETING, CARE):
        codenames = _codenames(role)
        assert not {"add_org", "change_org", "delete_org"} & codenames
        assert not {code for code in codenames if code.endswith("_till")}
        assert not {code for code in codenames if code.startswith("delete_")}


@pytest.mark.django_db
def test_migration_is_idempotent_and_reversible(roles):
    # given the roles
    before = _codenames(MARKETING)

    # when the migration runs again
    staff_roles.create_roles(global_apps, None)

    # then nothing is duplicated
    assert Group.objects.filter(name=MARKETING).count() == 1
    assert _codenames(MARKETING) == before

    # when it is reversed, the groups are gone
    staff_roles.remove_roles(global_apps, None)
    assert not Group.objects.filter(name__in=[MARKETING, CARE]).exists()


@pytest.mark.django_db
def test_marketing_manager_can_change_programs_but_not_tills(roles, django_user_model):
    user = _staff_user(django_user_model, "marketing", MARKETING)

    assert user.has_perm("members.change_program")
    assert user.has_perm("members.add_tier")
    assert user.has_perm("members.view_customer")
    assert user.has_perm("core.add_job")
    assert not user.has_perm("members.change_till")
    assert not user.has_perm("members.view_till")
    assert not user.has_perm("members.change_org")
    assert not user.has_perm("members.change_customer")
    assert not user.has_perm("members.change_transaction")


@pytest.mark.django_db
def test_member_care_agent_can_view_and_change_customers(roles, django_user_model):
    user = _staff_user(django_user_model, "care", CARE)

    assert user.has_perm("members.view_customer")
    assert user.has_perm("members.change_customer")
    assert user.has_perm("members.change_usergroupmembership")
    assert user.has_perm("members.view_transaction")
    assert user.has_perm("members.view_program")
    assert not user.has_perm("members.change_program")
    assert not user.has_perm("members.view_till")
    assert not user.has_perm("members.change_org")
    assert not user.has_perm("members.delete_customer")


@pytest.mark.django_db
def test_role_groups_are_usable_for_admin_logins(roles, client, django_user_model):
    # given a member care agent and a customer
    _staff_user(django_user_model, "care", CARE)
    OrgFactory()
    client.login(username="care", password="x")

    # when they open the admin index, then the members app is listed
    response = client.get("/admin/")
    assert response.status_code == 200
    assert b"/admin/members/customer/" in response.content
    assert b"/admin/members/till/" not in response.content
