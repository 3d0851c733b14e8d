"""The ledger admin: read-only pages render, roles see what they should, and the goodwill /
manual adjustment form posts once per rendering and shows domain errors on the form."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from ledger import services
from ledger.models import EventName, LedgerEntry, LedgerEvent, PointsAccount, PointsLot
from tests.ledger.factories import assert_consistent, balance, earn, key, member, snapshot
from tests.ledger.test_concurrency import in_threads
from tests.members.factories import ProgramFactory, UserGroupFactory

staff_roles = importlib.import_module("members.migrations.0002_staff_roles")
ledger_roles = importlib.import_module("ledger.migrations.0005_ledger_staff_permissions")

ADJUST_URL = "admin:ledger_pointsaccount_adjust"
IMPORT_URL = "admin:ledger_pointsaccount_import"
MODELS = ("pointsaccount", "ledgerevent", "ledgerentry", "pointslot", "pointsredemption")


@pytest.fixture
def roles(db):
    """The staff roles with the ledger's grants (recreated if a test flushed them)."""
    staff_roles.create_roles(global_apps, None)
    ledger_roles.grant(global_apps, None)


def _login(client, django_user_model, username: str, role: str | None = None, **extra):
    user = django_user_model.objects.create_user(username, password="pw", is_staff=True, **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


@pytest.fixture
def superuser(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return user


@pytest.fixture
def care_agent(client, django_user_model, roles):
    return _login(client, django_user_model, "carer", staff_roles.MEMBER_CARE_AGENT)


@pytest.fixture
def marketer(client, django_user_model, roles):
    return _login(client, django_user_model, "marketer", staff_roles.MARKETING_MANAGER)


@pytest.fixture
def ledger_rows(org, program, till):
    """A customer with a credit and a redemption, and a group with a credit."""
    customer = member(org, [program])
    earn(customer, program, 100, actor=till)
    redemption = services.points_redeem(
        customer=customer, program=program, points=40, actor=till, idempotency_key=key()
    )
    group = UserGroupFactory(org=org)
    earn(group, program, 10, actor=till)
    return customer, redemption


def _changelist(model: str) -> str:
    return reverse(f"admin:ledger_{model}_changelist")


# Pages ------------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS)
def test_changelists_and_change_pages_render(client, superuser, ledger_rows, model):
    customer, redemption = ledger_rows
    model_class = global_apps.get_model("ledger", model)
    row = model_class.objects.order_by("-pk").first()

    listing = client.get(_changelist(model))
    searched = client.get(_changelist(model), {"q": customer.mobile})
    by_id = client.get(_changelist(model), {"q": str(redemption.event_id)})
    detail = client.get(reverse(f"admin:ledger_{model}_change", args=[row.pk]))

    assert listing.status_code == 200
    assert searched.status_code == 200 and by_id.status_code == 200
    assert detail.status_code == 200
    assert searched.context["cl"].result_count >= 1


@pytest.mark.django_db
def test_filters_and_date_hierarchy(client, superuser, org, program, ledger_rows):
    customer, _ = ledger_rows
    events = _changelist("ledgerevent")

    responses = [
        client.get(events, {"org__id__exact": org.pk}),
        client.get(events, {"event_name": EventName.POINTS_REDEMPTION}),
        client.get(events, {"entries__account__program__id__exact": program.pk}),
        client.get(events, {"entries__account__category": "PROMISED"}),
        client.get(events, {"entries__entry_type": "DEBIT"}),
        client.get(events, {"created_at__year": "2030"}),
        client.get(events, {"customer__id__exact": customer.pk}),
        client.get(_changelist("ledgerentry"), {"entry_type": "CREDIT"}),
        client.get(_changelist("ledgerentry"), {"event__event_name": "TransactionAdd"}),
        client.get(_changelist("pointsaccount"), {"category": "REGULAR"}),
        client.get(_changelist("pointslot"), {"account__program__id__exact": program.pk}),
    ]

    assert [r.status_code for r in responses] == [200] * len(responses)
    assert responses[1].context["cl"].result_count == 1
    # an event with three entries is listed once
    assert responses[4].context["cl"].result_count == 1
    assert responses[5].context["cl"].result_count == 0


@pytest.mark.django_db
def test_ledger_rows_are_read_only(client, superuser, ledger_rows):
    entry = LedgerEntry.objects.order_by("-pk").first()
    before = snapshot(entry.account.org)

    add = client.get(reverse("admin:ledger_ledgerevent_add"))
    change = client.post(reverse("admin:ledger_ledgerentry_change", args=[entry.pk]), {})
    delete = client.post(reverse("admin:ledger_pointsaccount_delete", args=[entry.account_id]))

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert snapshot(entry.account.org) == before


@pytest.mark.django_db
def test_staff_pages_and_links_render(client, superuser, ledger_rows):
    customer, _ = ledger_rows

    accounts = client.get(_changelist("pointsaccount"))
    customers = client.get(reverse("admin:members_customer_changelist"))
    customer_page = client.get(reverse("admin:members_customer_change", args=[customer.pk]))
    adjust = client.get(reverse(ADJUST_URL), {"customer": customer.pk})
    upload = client.get(reverse(IMPORT_URL))

    adjust_url = reverse(ADJUST_URL)
    assert adjust_url in accounts.content.decode()
    assert reverse(IMPORT_URL) in accounts.content.decode()
    assert adjust_url in customers.content.decode()
    assert f"{adjust_url}?customer={customer.pk}" in customer_page.content.decode()
    assert f"customer__id__exact={customer.pk}" in customer_page.content.decode()
    assert adjust.status_code == 200 and upload.status_code == 200
    assert adjust.context["form"]["customer"].value() == customer.pk


@pytest.mark.django_db
def test_customer_autocomplete_serves_the_adjustment_form(client, care_agent, ledger_rows):
    customer, _ = ledger_rows

    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "ledger",
            "model_name": "pointsaccount",
            "field_name": "customer",
            "term": customer.mobile,
        },
    )

    assert response.status_code == 200, response.content
    assert [item["id"] for item in response.json()["results"]] == [str(customer.pk)]


# Roles ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_member_care_views_the_ledger_and_adjusts(client, care_agent, ledger_rows):
    pages = [client.get(_changelist(model)) for model in MODELS]

    assert [page.status_code for page in pages] == [200] * len(MODELS)
    assert care_agent.has_perm("ledger.can_adjust_points")
    assert client.get(reverse(ADJUST_URL)).status_code == 200
    assert client.get(reverse(IMPORT_URL)).status_code == 403


@pytest.mark.django_db
def test_marketing_views_the_ledger_only(client, marketer, ledger_rows):
    pages = [client.get(_changelist(model)) for model in MODELS]

    assert [page.status_code for page in pages] == [200] * len(MODELS)
    assert client.get(reverse(ADJUST_URL)).status_code == 403
    assert reverse(ADJUST_URL) not in client.get(_changelist("pointsaccount")).content.decode()


@pytest.mark.django_db
def test_staff_without_a_role_sees_no_ledger(client, django_user_model, ledger_rows):
    _login(client, django_user_model, "nobody")

    assert client.get(_changelist("ledgerevent")).status_code == 403
    assert client.get(reverse(ADJUST_URL)).status_code == 403


@pytest.mark.django_db
def test_role_migration_grants_on_a_fresh_database(roles):
    care = set(
        Group.objects.get(name=staff_roles.MEMBER_CARE_AGENT).permissions.values_list(
            "codename", flat=True
        )
    )
    marketing = set(
        Group.objects.get(name=staff_roles.MARKETING_MANAGER).permissions.values_list(
            "codename", flat=True
        )
    )

    assert {f"view_{model}" for model in MODELS} | {"can_adjust_points"} <= care
    assert {f"view_{model}" for model in MODELS} <= marketing
    assert "can_adjust_points" not in marketing
    assert not {code for code in care | marketing if code.startswith(("add_", "delete_"))} & {
        f"{action}_{model}" for action in ("add", "delete", "change") for model in MODELS
    }


@pytest.mark.django_db
def test_role_migration_is_reversible(roles):
    ledger_roles.revoke(global_apps, None)

    care = Group.objects.get(name=staff_roles.MEMBER_CARE_AGENT)
    assert not care.permissions.filter(content_type__app_label="ledger").exists()


# The adjustment form ------------------------------------------------------------------------------
def _rendered_key(client) -> str:
    form = client.get(reverse(ADJUST_URL)).context["form"]
    return form["idempotency_key"].value()


def _post(client, customer, program, **values):
    data = {
        "customer": customer.pk,
        "program": program.pk,
        "points": "25",
        "direction": "CREDIT",
        "reason": "Late delivery",
        **values,
    }
    return client.post(reverse(ADJUST_URL), data)


@pytest.mark.django_db
def test_goodwill_posts_once_on_a_double_submit(client, care_agent, org, program):
    # given a customer and one rendering of the form
    customer = member(org, [program])
    idempotency_key = _rendered_key(client)

    # when the form is submitted twice
    first = _post(client, customer, program, idempotency_key=idempotency_key)
    second = _post(client, customer, program, idempotency_key=idempotency_key)

    # then one goodwill event holds the points, credited by the staff user
    events = LedgerEvent.objects.filter(
        customer=customer, event_name=EventName.ALLOCATE_GOODWILL_POINTS
    )
    assert events.count() == 1
    event = events.get()
    assert event.reason == "Late delivery" and event.created_by_user == care_agent
    assert balance(customer, program) == Decimal("25")
    target = reverse("admin:ledger_ledgerevent_change", args=[event.pk])
    assert first.status_code == 302 and first["Location"] == target
    assert second.status_code == 302 and second["Location"] == target
    followed = client.get(target)
    messages = [str(m) for m in followed.context["messages"]]
    assert any("already submitted" in text for text in messages)


@pytest.mark.django_db
def test_each_rendering_gets_its_own_key(client, care_agent, org, program):
    customer = member(org, [program])

    _post(client, customer, program, idempotency_key=_rendered_key(client))
    _post(client, customer, program, idempotency_key=_rendered_key(client))

    assert balance(customer, program) == Decimal("50")


@pytest.mark.django_db
def test_manual_debit_takes_points(client, care_agent, org, program, till):
    customer = member(org, [program])
    earn(customer, program, 100, actor=till)

    response = _post(
        client, customer, program, direction="DEBIT", points="30", idempotency_key=key()
    )

    assert response.status_code == 302
    event = LedgerEvent.objects.get(
        customer=customer, event_name=EventName.MANUAL_POINTS_ADJUSTMENT
    )
    assert event.net_points == Decimal("-30") and event.reason == "Late delivery"
    assert balance(customer, program) == Decimal("70")


@pytest.mark.django_db
def test_debit_over_the_balance_shows_803_on_the_form(client, care_agent, org, program, till):
    # given a customer holding 10 points
    customer = member(org, [program])
    earn(customer, program, 10, actor=till)
    before = snapshot(org)

    # when an agent deducts 30
    response = _post(
        client, customer, program, direction="DEBIT", points="30", idempotency_key=key()
    )

    # then the form comes back with the error and nothing changed
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert any(error.startswith("803:") for error in errors), errors
    assert "803:" in response.content.decode()
    assert snapshot(org) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "values, field",
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"points": "0"}, "points"),
        ({"points": "1.0001"}, "points"),
        ({"direction": "SIDEWAYS"}, "direction"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_invalid_forms_change_nothing(client, care_agent, org, program, values, field):
    customer = member(org, [program])
    before = snapshot(org)

    response = _post(client, customer, program, **{"idempotency_key": key(), **values})

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert snapshot(org) == before


@pytest.mark.django_db
def test_program_of_another_org_is_refused(client, care_agent, org, program, other_org):
    customer = member(org, [program])
    foreign = ProgramFactory(org=other_org)
    before = snapshot(org)

    response = _post(client, customer, foreign, idempotency_key=key())

    assert "program" in response.context["form"].errors
    assert snapshot(org) == before


@pytest.mark.django_db
def test_service_errors_show_on_the_form(client, care_agent, org, program):
    # given a program whose points have no decimals, and 2.5 points asked
    customer = member(org, [program])
    before = snapshot(org)

    response = _post(client, customer, program, points="2.5", idempotency_key=key())

    assert response.status_code == 200
    assert any(e.startswith("801:") for e in response.context["form"].non_field_errors())
    assert snapshot(org) == before


@pytest.mark.django_db
def test_accounts_and_lots_pages_show_the_adjustment(client, superuser, org, program):
    customer = member(org, [program])
    _post(client, customer, program, idempotency_key=key())
    account = PointsAccount.objects.get(customer=customer, program=program, category="REGULAR")

    response = client.get(_changelist("pointslot"), {"q": customer.email})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == list(
        PointsLot.objects.filter(account=account)
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_simultaneous_submits_of_one_form_post_once(
    postgres_only, django_user_model, org, program, roles
):
    # given one rendering of the form, submitted by 5 clients at the same instant
    customer = member(org, [program])
    agent = django_user_model.objects.create_user("racer", password="pw", is_staff=True)
    agent.groups.add(Group.objects.get(name=staff_roles.MEMBER_CARE_AGENT))
    idempotency_key = key()

    def submit(_):
        client = Client()
        client.force_login(agent)
        return _post(client, customer, program, idempotency_key=idempotency_key).status_code

    # when
    statuses = in_threads(submit, range(5), workers=5)

    # then every submit lands on the one event, and the points are credited once
    assert statuses == [302] * 5
    assert balance(customer, program) == Decimal("25")
    assert_consistent(org)
