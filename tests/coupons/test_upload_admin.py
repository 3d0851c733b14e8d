"""The offer's admin pages "Upload" and "Bulk issue": each starts a job and opens its progress
page, whose error report is the "Download issues" file."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coupons.models import Coupon, CouponUpload
from coupons.services.audiences import coupon_audience_add_customers, coupon_audience_create
from loyalty_site.core.models import Job
from tests.members.factories import CustomerFactory

staff_roles = importlib.import_module("members.migrations.0002_staff_roles")
coupon_roles = importlib.import_module("coupons.migrations.0002_coupon_staff_permissions")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_series_page_links_the_upload_and_bulk_issue_pages(superuser_client, make_series):
    series = make_series()

    page = superuser_client.get(reverse("admin:coupons_couponseries_change", args=[series.pk]))

    assert page.status_code == 200
    assert reverse("admin:coupons_couponseries_upload", args=[series.pk]) in page.text
    assert reverse("admin:coupons_couponseries_bulk_issue", args=[series.pk]) in page.text


def test_upload_page_starts_the_job_and_opens_its_progress_page(
    superuser_client, make_series, org, django_capture_on_commit_callbacks
):
    # given an offer and a file with a good and an unknown customer
    series = make_series()
    customer = CustomerFactory(org=org)
    url = reverse("admin:coupons_couponseries_upload", args=[series.pk])
    assert superuser_client.get(url).status_code == 200
    content = f"mobile\r\n{customer.mobile}\r\n449999999999\r\n".encode()

    # when it is uploaded
    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            url,
            {
                "file": SimpleUploadedFile("list.csv", content),
                "customer_identifier": "MOBILE",
                "identifier_column": "0",
            },
        )

    # then the job ran; its page shows the progress and the error report link
    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:core_job_change", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.total, job.failed) == (Job.Status.FINISHED, 2, 1)
    assert Coupon.objects.get(series=series).customer == customer
    assert CouponUpload.objects.get(job=job).uploaded_by_till is None
    assert job.started_by.username == "root"
    page = superuser_client.get(response.url)
    report_url = reverse("core:job-error-report", kwargs={"job_id": job.pk})
    assert report_url in page.text
    report = superuser_client.get(report_url)
    assert "User does not exist with provided mobile" in report.content.decode()
    series_page = superuser_client.get(
        reverse("admin:coupons_couponseries_change", args=[series.pk])
    )
    assert "list.csv" in series_page.text


def test_upload_page_shows_refusals_on_the_form(superuser_client, make_series):
    series = make_series()
    url = reverse("admin:coupons_couponseries_upload", args=[series.pk])

    response = superuser_client.post(
        url,
        {
            "file": SimpleUploadedFile("bad.bin", b"\x00\x01\x02"),
            "customer_identifier": "MOBILE",
            "identifier_column": "0",
        },
    )

    assert response.status_code == 200
    assert "The file is not a CSV text file" in response.text
    assert not Job.objects.exists()


def test_codes_only_is_offered_for_uploaded_code_offers_only(superuser_client, make_series):
    auto = make_series()
    uploaded = make_series(code_type="DISC_CODE_PIN", description="Uploaded")

    auto_page = superuser_client.get(reverse("admin:coupons_couponseries_upload", args=[auto.pk]))
    upload_page = superuser_client.get(
        reverse("admin:coupons_couponseries_upload", args=[uploaded.pk])
    )

    assert "NOT_TAGGED" not in auto_page.text and "NOT_TAGGED" in upload_page.text


def test_bulk_issue_page_starts_the_job(
    superuser_client, make_series, org, django_capture_on_commit_callbacks
):
    series = make_series()
    customers = CustomerFactory.create_batch(3, org=org)
    audience = coupon_audience_create(series=series, name="VIPs")
    coupon_audience_add_customers(audience=audience, customer_ids=[c.pk for c in customers[:2]])
    url = reverse("admin:coupons_couponseries_bulk_issue", args=[series.pk])
    assert superuser_client.get(url).status_code == 200

    missing = superuser_client.post(url, {"source": "AUDIENCE", "chunk_size": "10"})
    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            url, {"source": "AUDIENCE", "audience": str(audience.pk), "chunk_size": "1"}
        )

    assert missing.status_code == 200 and "Choose the audience list." in missing.text
    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:core_job_change", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.total, job.processed) == (Job.Status.FINISHED, 2, 2)
    assert sorted(Coupon.objects.values_list("customer_id", flat=True)) == sorted(
        c.pk for c in customers[:2]
    )


def test_view_only_staff_cannot_upload(client, django_user_model, make_series):
    staff_roles.create_roles(global_apps, None)
    coupon_roles.grant(global_apps, None)
    user = django_user_model.objects.create_user("care", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Member care agent"))
    client.force_login(user)
    series = make_series()

    upload = client.get(reverse("admin:coupons_couponseries_upload", args=[series.pk]))
    bulk = client.get(reverse("admin:coupons_couponseries_bulk_issue", args=[series.pk]))

    assert (upload.status_code, bulk.status_code) == (403, 403)


def test_marketing_managers_may_upload_and_follow_the_job(client, django_user_model, make_series):
    staff_roles.create_roles(global_apps, None)
    coupon_roles.grant(global_apps, None)
    user = django_user_model.objects.create_user("marketing", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Marketing manager"))
    client.force_login(user)
    series = make_series()

    response = client.post(
        reverse("admin:coupons_couponseries_upload", args=[series.pk]),
        {
            "file": SimpleUploadedFile("list.csv", b"919800000099\r\n"),
            "customer_identifier": "MOBILE",
            "identifier_column": "0",
        },
    )

    assert response.status_code == 302
    assert client.get(response.url).status_code == 200
    assert (
        client.get(reverse("admin:coupons_couponseries_bulk_issue", args=[series.pk])).status_code
        == 200
    )
