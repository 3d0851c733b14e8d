"""The offers admin: one grouped form saved through the services, capacity, code jobs, roles."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from coupons.models import Coupon, CouponSeries
from coupons.services.codes import coupon_codes_generate
from loyalty_site.core.models import Job
from tests.coupons.factories import CouponAudienceFactory
from tests.members.test_admin import _errors, _page_data

staff_roles = importlib.import_module("members.migrations.0002_staff_roles")
coupon_roles = importlib.import_module("coupons.migrations.0002_coupon_staff_permissions")
redemption_roles = importlib.import_module("coupons.migrations.0005_redemption_staff_permissions")

ADD_URL = reverse("admin:coupons_couponseries_add")


@pytest.fixture
def roles(db):
    staff_roles.create_roles(global_apps, None)
    coupon_roles.grant(global_apps, None)
    redemption_roles.grant(global_apps, None)


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def staff_client(client, django_user_model, role: str):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def add_page_data(client, org, **changes) -> dict:
    data = _page_data(client.get(ADD_URL))
    data.update(
        {
            "org": str(org.pk),
            "description": "Welcome 15%",
            "discount_type": "PERC",
            "discount_value": "15",
            "discount_upto": "200",
            "code_type": "DISC_CODE",
            "code_length": "8",
            "valid_till_0": "2099-12-31",
            "valid_till_1": "23:59:00",
            "expiry_strategy": "DAYS",
            "expiry_value": "30",
            "redeem_days_of_week": ["1", "7"],
            "product_skus": "30, 40",
            "redeem_store_ids": "12",
        }
    )
    data.update(changes)
    return data


@pytest.mark.django_db
def test_role_permissions(roles):
    marketing = set(
        Group.objects.get(name=coupon_roles.MARKETING_MANAGER)
        .permissions.filter(content_type__app_label="coupons")
        .values_list("codename", flat=True)
    )
    care = set(
        Group.objects.get(name=coupon_roles.MEMBER_CARE_AGENT)
        .permissions.filter(content_type__app_label="coupons")
        .values_list("codename", flat=True)
    )

    assert {"add_couponseries", "change_couponseries", "view_coupon", "add_couponaudience"} <= (
        marketing
    )
    assert not any(name.startswith("delete_") for name in marketing)
    assert care == {
        "view_coupon",
        "view_couponseries",
        "view_couponredemption",
        "change_couponredemption",
        "view_couponreminderdelivery",
        "view_couponrevocation",
    }


@pytest.mark.django_db
def test_role_migration_reverses(roles):
    redemption_roles.revoke(global_apps, None)
    coupon_roles.revoke(global_apps, None)

    assert not Permission.objects.filter(
        content_type__app_label="coupons", group__name=coupon_roles.MARKETING_MANAGER
    ).exists()


@pytest.mark.django_db
def test_add_page_explains_capacity(superuser_client):
    response = superuser_client.get(ADD_URL)

    assert response.status_code == 200
    text = response.content.decode()
    for section in ("How coupons reach customers", "When a coupon expires", "Issual and reminders"):
        assert section in text
    assert "28,629,151" in text and "60,466,176" in text


@pytest.mark.django_db
def test_create_through_the_form(superuser_client, org):
    response = superuser_client.post(ADD_URL, add_page_data(superuser_client, org))

    assert response.status_code == 302, _errors(response)
    series = CouponSeries.objects.get()
    assert (series.org, series.description, series.series_code != "") == (org, "Welcome 15%", True)
    assert series.product_info == [{"productType": "SKU", "productIds": [30, 40]}]
    assert series.redemption_range == {"dom": [], "dow": [1, 7], "hours": []}
    assert series.redemption_org_entities == [
        {"redemptionOrgEntityType": "STORE", "orgEntityId": 12}
    ]


@pytest.mark.django_db
def test_errors_show_on_the_form_and_nothing_is_saved(superuser_client, org):
    data = add_page_data(superuser_client, org, discount_value="150")

    response = superuser_client.post(ADD_URL, data)

    assert response.status_code == 200
    assert "discount_value" in response.context["adminform"].form.errors
    assert not CouponSeries.objects.exists()


@pytest.mark.django_db
def test_generate_codes_beyond_capacity_is_a_form_error(superuser_client, org):
    data = add_page_data(
        superuser_client, org, is_alphanumeric="", code_length="4", generate_codes="6000"
    )
    data.pop("is_alphanumeric")

    response = superuser_client.post(ADD_URL, data)

    assert response.status_code == 200
    assert "generate_codes" in response.context["adminform"].form.errors
    assert not CouponSeries.objects.exists()


@pytest.mark.django_db
def test_generate_codes_starts_a_job(superuser_client, org, django_capture_on_commit_callbacks):
    data = add_page_data(superuser_client, org, generate_codes="1200")

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(ADD_URL, data)

    assert response.status_code == 302, _errors(response)
    job = Job.objects.get(kind="coupon_codes_generate")
    assert job.status == Job.Status.FINISHED and job.processed == 1200
    series = CouponSeries.objects.get()
    assert Coupon.objects.filter(series=series).count() == series.num_codes == 1200


@pytest.mark.django_db
def test_change_page_shows_capacity_and_keeps_org(superuser_client, make_series):
    series = make_series(code_length=6)
    coupon_codes_generate(series=series, count=10)
    url = reverse("admin:coupons_couponseries_change", args=[series.pk])

    page = superuser_client.get(url)
    data = _page_data(page)
    data["description"] = "Renamed"
    saved = superuser_client.post(url, data)

    assert "31^6 = 887,503,681 possible codes" in page.content.decode()
    assert saved.status_code == 302, _errors(saved)
    series.refresh_from_db()
    assert series.description == "Renamed" and series.num_codes == 10


@pytest.mark.django_db
def test_marketing_manager_creates_offers(client, django_user_model, roles, org):
    marketing = staff_client(client, django_user_model, coupon_roles.MARKETING_MANAGER)

    response = marketing.post(ADD_URL, add_page_data(marketing, org))

    assert response.status_code == 302, _errors(response)


@pytest.mark.django_db
def test_member_care_agent_views_coupons_only(client, django_user_model, roles, make_series):
    care = staff_client(client, django_user_model, coupon_roles.MEMBER_CARE_AGENT)
    series = make_series()

    assert care.get(reverse("admin:coupons_coupon_changelist")).status_code == 200
    assert care.get(reverse("admin:coupons_couponseries_changelist")).status_code == 200
    assert care.get(ADD_URL).status_code == 403
    change = reverse("admin:coupons_couponseries_change", args=[series.pk])
    assert care.get(change).status_code == 200


@pytest.mark.django_db
def test_other_pages_open(superuser_client, make_series, org):
    series = make_series()
    coupon_codes_generate(series=series, count=3)
    audience = CouponAudienceFactory(series=series)

    for url in (
        reverse("admin:coupons_coupon_changelist"),
        reverse("admin:coupons_coupon_changelist") + "?q=NOPE",
        reverse("admin:coupons_couponseries_changelist"),
        reverse("admin:coupons_couponaudience_changelist"),
        reverse("admin:coupons_couponaudience_change", args=[audience.pk]),
        reverse("admin:coupons_coupon_change", args=[Coupon.objects.first().pk]),
    ):
        assert superuser_client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_redemption_places_uploaded_as_csv(superuser_client, make_series, org, till):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.members.factories import StoreFactory, ZoneFactory

    series = make_series()
    zone = ZoneFactory(org=org, code="north")
    store = StoreFactory(org=org, code="delhi-01")
    url = reverse("admin:coupons_couponseries_change", args=[series.pk])
    data = _page_data(superuser_client.get(url))
    content = f"type,place\nSTORE,delhi-01\nZONE,{zone.pk}\nTILL,{till.code}\n".encode()
    data["redeem_places_file"] = SimpleUploadedFile("places.csv", content)
    saved = superuser_client.post(url, data)
    assert saved.status_code == 302, _errors(saved)
    series.refresh_from_db()
    assert sorted(
        (item["redemptionOrgEntityType"], item["orgEntityId"])
        for item in series.redemption_org_entities
    ) == sorted([("STORE", store.pk), ("ZONE", zone.pk), ("TILL", till.pk)])

    data = _page_data(superuser_client.get(url))
    data["redeem_places_file"] = SimpleUploadedFile("places.csv", b"STORE,nowhere\nMALL,1\n")
    refused = superuser_client.post(url, data)
    assert refused.status_code == 200
    assert "Row 2: expected TILL, STORE, ZONE or CONCEPT" in _errors(refused)
