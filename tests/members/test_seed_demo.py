"""`manage.py seed_demo`: a deterministic demo data set that is safe to create twice."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from ledger.models import EntryType, EventName, LedgerEntry, LedgerEvent, PointsAccount, PointsLot
from ledger.selectors import ledger_verify
from loyalty_site.api.authentication import md5_hex, till_check_secret
from loyalty_site.core.models import Job
from members import models
from members.models import MOBILE_VALIDATOR

CUSTOMERS = 20
COUNTED_MODELS = (
    models.Org,
    models.ExchangeRate,
    models.Zone,
    models.Concept,
    models.Store,
    models.Till,
    models.Program,
    models.Tier,
    models.PartnerProgram,
    models.CustomerLabel,
    models.Customer,
    models.CustomerSourceProfile,
    models.ProgramEnrollment,
    models.UserGroup,
    models.UserGroupMembership,
    models.Transaction,
    models.TransactionLineItem,
    PointsAccount,
    LedgerEvent,
    LedgerEntry,
    PointsLot,
    Job,
)


def _seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--customers", str(CUSTOMERS), *args, stdout=out)
    return out.getvalue()


def _seed_json() -> dict:
    return json.loads(_seed("--json"))


def _counts() -> dict[str, int]:
    counts = {model.__name__: model.objects.count() for model in COUNTED_MODELS}
    counts["users"] = get_user_model().objects.count()
    counts["label links"] = models.Customer.labels.through.objects.count()
    return counts


def _snapshot() -> dict[str, list]:
    return {
        "tills": list(
            models.Till.objects.order_by("code").values_list(
                "code", "password_hash", "oauth_key", "oauth_secret_hash", "updated_at"
            )
        ),
        "customers": list(
            models.Customer.objects.order_by("id").values_list(
                "id", "mobile", "email", "external_id", "lifetime_purchases", "updated_at"
            )
        ),
        "groups": list(models.UserGroup.objects.values_list("id", "member_count", "updated_at")),
        "users": list(get_user_model().objects.order_by("id").values_list("username", "password")),
    }


@pytest.mark.django_db
def test_seed_demo_builds_the_demo_orgs():
    # when the demo is seeded
    output = _seed()

    # then the three orgs exist, the child connected to Acme Retail
    acme = models.Org.objects.get(name="Acme Retail")
    express = models.Org.objects.get(name="Acme Express")
    globex = models.Org.objects.get(name="Globex Stores")
    assert (acme.time_zone, acme.base_currency, acme.parent_id) == ("Asia/Kolkata", "INR", None)
    assert express.parent_id == acme.pk
    assert (globex.time_zone, globex.base_currency, globex.parent_id) == (
        "Europe/London",
        "GBP",
        None,
    )
    for org in (acme, express, globex):
        assert org.exchange_rates.exists()
        assert org.programs.count() == 2
        assert org.programs.filter(is_default=True).count() == 1
        assert all(program.tiers.count() == 3 for program in org.programs.all())
        assert org.partner_programs.count() == 1
        assert org.zones.count() == 2
        assert org.concepts.count() == 2
        assert org.stores.count() == 4
        assert org.tills.count() == 8
        assert org.customers.count() == CUSTOMERS
        assert org.user_groups.get().memberships.filter(is_active=True).count() == 3
        assert org.transactions.count() == 50
    assert "admin / admin" in output


@pytest.mark.django_db
def test_seed_demo_customers_are_valid_and_enrolled_at_tier_one():
    _seed()

    customers = list(models.Customer.objects.select_related("org"))
    for customer in customers:
        MOBILE_VALIDATOR(customer.mobile)
        customer.full_clean()
        assert customer.email and customer.external_id
    acme_first = models.Customer.objects.get(org__name="Acme Retail", external_id="ACME-000001")
    globex_first = models.Customer.objects.get(
        org__name="Globex Stores", external_id="GLOBEX-000001"
    )
    assert acme_first.mobile == "919800000001"
    assert globex_first.mobile == "447700000001"
    enrollments = models.ProgramEnrollment.objects.select_related("tier")
    assert enrollments.count() == 2 * len(customers)
    assert {enrollment.tier.number for enrollment in enrollments} == {1}


@pytest.mark.django_db
def test_seed_demo_group_has_one_primary_and_two_secondary_members():
    _seed()

    group = models.UserGroup.objects.get(org__name="Acme Retail")
    memberships = list(group.memberships.filter(is_active=True))
    assert group.member_count == 3
    assert sorted(membership.is_primary for membership in memberships) == [False, False, True]


@pytest.mark.django_db
def test_seed_demo_transactions_have_consistent_line_items():
    _seed()

    bills = models.Transaction.objects.prefetch_related("line_items")
    for bill in bills:
        lines = list(bill.line_items.all())
        assert lines
        assert bill.bill_amount == sum(line.amount for line in lines)
        assert bill.store.org_id == bill.org_id == bill.till.org_id == bill.customer.org_id
    customer = bills.first().customer
    assert customer.lifetime_purchases == sum(
        bill.bill_amount for bill in customer.transactions.all()
    )


@pytest.mark.django_db
def test_seed_demo_opens_every_ledger_and_credits_every_bill():
    # when the demo is seeded
    output = _seed()

    # then one back-fill job per org opened every customer's 2 programs x 3 categories at zero
    jobs = Job.objects.filter(kind="ledger.backfill")
    assert sorted(jobs.values_list("org__name", "status", "processed", "failed")) == [
        (name, Job.Status.FINISHED, CUSTOMERS, 0)
        for name in ("Acme Express", "Acme Retail", "Globex Stores")
    ]
    customers = models.Customer.objects.all()
    assert PointsAccount.objects.filter(customer__isnull=False).count() == 6 * customers.count()
    openings = LedgerEntry.objects.filter(entry_type=EntryType.OPENING_BALANCE)
    assert openings.count() == 6 * customers.count()
    assert set(openings.values_list("points", flat=True)) == {0}
    backfills = LedgerEvent.objects.filter(event_name=EventName.POINTS_LEDGER_BULK_JOB)
    assert sorted(backfills.values_list("customer_id", flat=True)) == sorted(
        customers.values_list("id", flat=True)
    )

    # and each bill earned 1 point per 10 of its amount in the org's default program
    earned: dict[int, Decimal] = defaultdict(Decimal)
    credited = 0
    for bill in models.Transaction.objects.select_related("customer"):
        points = Decimal(int(bill.bill_amount // 10))
        events = list(LedgerEvent.objects.filter(transaction=bill))
        if not points:
            assert events == []
            continue
        credited += 1
        (event,) = events
        assert (event.event_name, event.customer_id, event.net_points) == (
            EventName.TRANSACTION_ADD,
            bill.customer_id,
            points,
        )
        assert event.idempotency_key == f"demo-earn:{bill.pk}"
        (entry,) = event.entries.select_related("account__program")
        assert entry.account.program.is_default
        assert (entry.entry_type, entry.points, entry.account.category) == (
            EntryType.CREDIT,
            points,
            models.PointsCategory.REGULAR,
        )
        earned[bill.customer_id] += points
    assert credited > 100
    for customer_id, points in earned.items():
        account = PointsAccount.objects.get(
            customer_id=customer_id, program__is_default=True, category="REGULAR"
        )
        assert account.balance == points
    assert ledger_verify() == []
    assert f"{3 * CUSTOMERS} customer ledgers, {credited} points credits" in output


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing():
    # given a seeded database
    _seed()
    counts = _counts()
    snapshot = _snapshot()

    # when it is seeded again
    output = _seed()

    # then nothing was created or rewritten
    assert _counts() == counts
    assert _snapshot() == snapshot
    assert "Created: nothing" in output


@pytest.mark.django_db
def test_seed_demo_adds_only_missing_customers():
    # given a demo seeded with 20 customers per org
    _seed()
    first = list(models.Customer.objects.order_by("id").values_list("id", "external_id"))

    # when more customers are asked for
    call_command("seed_demo", "--customers", str(CUSTOMERS + 5), stdout=io.StringIO())

    # then only the missing ones are created, the others are untouched
    assert models.Customer.objects.count() == 3 * (CUSTOMERS + 5)
    assert (
        list(models.Customer.objects.order_by("id").values_list("id", "external_id"))[: len(first)]
        == first
    )
    assert models.ProgramEnrollment.objects.count() == 2 * 3 * (CUSTOMERS + 5)
    # and the second back-fill opened only the new customers' ledgers
    assert (
        list(
            Job.objects.filter(kind="ledger.backfill")
            .order_by("id")
            .values_list("processed", flat=True)
        )
        == [CUSTOMERS] * 3 + [5] * 3
    )
    assert PointsAccount.objects.filter(customer__isnull=False).count() == 6 * 3 * (CUSTOMERS + 5)
    assert LedgerEvent.objects.filter(event_name=EventName.POINTS_LEDGER_BULK_JOB).count() == 3 * (
        CUSTOMERS + 5
    )


@pytest.mark.django_db
def test_seed_demo_json_describes_logins_orgs_and_tills():
    # when seeded with --json
    document = _seed_json()

    # then stdout is only that JSON document, with every field
    assert document["adminUrl"] == "http://127.0.0.1:8000/admin/"
    assert document["apiDocsUrl"] == "http://127.0.0.1:8000/api/docs/"
    assert {
        (login["username"], login["password"], login["role"]) for login in document["logins"]
    } == {
        ("admin", "admin", "superuser"),
        ("marketing", "marketing", "Marketing manager"),
        ("care", "care", "Member care agent"),
    }
    orgs = {org["name"]: org for org in document["orgs"]}
    assert set(orgs) == {"Acme Retail", "Acme Express", "Globex Stores"}
    assert orgs["Acme Express"]["parentId"] == orgs["Acme Retail"]["id"]
    assert orgs["Globex Stores"]["parentId"] is None
    for org in orgs.values():
        assert [program["isDefault"] for program in org["programs"]].count(True) == 1
        assert {"id", "name", "isDefault"} == set(org["programs"][0])
        assert len(org["tills"]) == 8
        for till in org["tills"]:
            assert set(till) == {
                "code",
                "password",
                "md5Password",
                "oauthKey",
                "oauthSecret",
                "store",
            }
            assert till["md5Password"] == md5_hex(till["password"])


@pytest.mark.django_db
def test_seed_demo_json_is_the_same_on_a_second_run():
    first = _seed_json()

    assert _seed_json() == first


@pytest.mark.django_db
def test_seed_demo_till_credentials_authenticate():
    # given the demo credentials of a till
    document = _seed_json()
    credentials = document["orgs"][2]["tills"][3]
    till = models.Till.objects.get(code=credentials["code"])

    # then the Basic-auth secret matches
    assert till_check_secret(till=till, secret=credentials["md5Password"])
    assert till.store.code == credentials["store"]

    # and the OAuth key and secret get a token
    response = APIClient().post(
        "/v3/oauth/token/generate",
        {"key": credentials["oauthKey"], "secret": credentials["oauthSecret"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["accessToken"]


@pytest.mark.django_db
def test_seed_demo_staff_logins(client):
    _seed()
    user_model = get_user_model()

    admin = user_model.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    marketing = user_model.objects.get(username="marketing")
    assert marketing.is_staff and not marketing.is_superuser
    assert list(marketing.groups.values_list("name", flat=True)) == ["Marketing manager"]
    care = user_model.objects.get(username="care")
    assert list(care.groups.values_list("name", flat=True)) == ["Member care agent"]
    for username in ("admin", "marketing", "care"):
        assert client.login(username=username, password=username)


@pytest.mark.django_db
def test_seed_demo_resets_a_changed_demo_till_password():
    # given a demo till whose password someone changed
    document = _seed_json()
    credentials = document["orgs"][0]["tills"][0]
    till = models.Till.objects.get(code=credentials["code"])
    till.password_hash = ""
    till.save()

    # when seeded again, the printed credentials work again
    _seed()
    till.refresh_from_db()
    assert till_check_secret(till=till, secret=credentials["md5Password"])


@pytest.mark.django_db
def test_seed_demo_rejects_a_negative_customer_count():
    with pytest.raises(CommandError):
        call_command("seed_demo", "--customers", "-1", stdout=io.StringIO())

    assert not models.Org.objects.exists()


@pytest.mark.django_db
def test_demo_has_coupon_offers_with_redeemable_coupons():
    from coupons.models import Coupon, CouponSeries
    from coupons.services.redemption import coupons_check
    from members.models import Till
    from members.services.demo import demo_seed as demo_seed_run

    result = demo_seed_run(customers_per_org=30)
    again = demo_seed_run(customers_per_org=30)
    acme = result.orgs[0]
    assert CouponSeries.objects.filter(org_id=acme.id).count() == 2
    assert again.created.get("coupons", 0) == 0
    example = acme.coupons[0]
    coupon = Coupon.objects.get(org_id=acme.id, code=example.code)
    assert coupon.customer.mobile == example.mobile
    till = Till.objects.filter(org_id=acme.id).first()
    (check,) = coupons_check(
        org_ids=[acme.id], codes=[example.code], customer=coupon.customer, till=till
    )
    assert check.is_redeemable
    assert result.as_json()["orgs"][0]["coupons"][0]["code"] == example.code
