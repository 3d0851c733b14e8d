"""The Job admin (read-only progress and errors) and the error report download."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.urls import include, path, reverse
from django.utils import timezone

from loyalty_site.core.models import Job, JobRowError

# The lead mounts the job pages at "jobs/" in loyalty_site/urls.py; these tests do the same.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("jobs/", include("loyalty_site.core.urls")),
]

pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def job(org, admin_user):
    job = Job.objects.create(
        kind="coupons.upload",
        org=org,
        status=Job.Status.RUNNING,
        params={"file": "codes.csv"},
        total=10,
        processed=7,
        failed=2,
        cursor="7",
        started_by=admin_user,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        attempts=1,
    )
    for number in (3, 5):
        JobRowError.objects.create(
            job=job,
            row_number=number,
            row_key=f"CODE{number}",
            code="DUPLICATE",
            message="Code already exists",
            row_data={"code": f"CODE{number}"},
        )
    return job


def staff_client(client, *permissions: str):
    user = User.objects.create_user("clerk", password="x", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    return client


def report_url(job: Job) -> str:
    return reverse("core:job-error-report", kwargs={"job_id": job.pk})


# --- list and detail -------------------------------------------------------------------------


@pytest.mark.django_db
def test_job_list_shows_kind_status_and_progress_bar(admin_client, job):
    # when
    response = admin_client.get(reverse("admin:core_job_changelist"))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "coupons.upload" in html
    assert '<progress max="100" value="70"' in html
    assert "7 / 10 (2 failed)" in html
    assert "Acme Retail" in html


@pytest.mark.django_db
def test_job_list_filters_by_status_kind_and_org(admin_client, job, other_org):
    # given
    Job.objects.create(kind="rewards.issue", org=other_org, status=Job.Status.FINISHED)
    url = reverse("admin:core_job_changelist")

    # when
    by_status = admin_client.get(url, {"status__exact": "FINISHED"})
    by_kind = admin_client.get(url, {"kind": "coupons.upload"})
    by_org = admin_client.get(url, {"org__id__exact": other_org.pk})

    # then
    assert by_status.context["cl"].result_count == 1
    assert list(by_kind.context["cl"].result_list) == [job]
    assert by_org.context["cl"].result_list[0].kind == "rewards.issue"


@pytest.mark.django_db
def test_job_list_shows_an_unknown_total_as_a_question_mark(admin_client, org):
    Job.objects.create(kind="ledger.backfill", org=org, status=Job.Status.RUNNING, processed=40)

    response = admin_client.get(reverse("admin:core_job_changelist"))

    assert "40 / ? (0 failed)" in response.content.decode()


@pytest.mark.django_db
def test_job_detail_is_read_only_with_progress_result_and_error_report_link(admin_client, job):
    # given
    Job.objects.filter(pk=job.pk).update(result={"created": 5}, error_message="")

    # when
    response = admin_client.get(reverse("admin:core_job_change", args=[job.pk]))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert '<progress max="100" value="70"' in html
    assert "&quot;created&quot;: 5" in html
    assert f'<a href="{report_url(job)}">Download error report (2 rows)</a>' in html
    assert "CODE3" in html and "CODE5" in html
    assert '<meta http-equiv="refresh" content="5">' in html
    assert 'name="_save"' not in html


@pytest.mark.django_db
def test_job_detail_lists_only_the_first_fifty_row_errors(admin_client, job):
    # given 60 more errors
    JobRowError.objects.bulk_create(
        JobRowError(job=job, row_number=100 + n, row_key=f"BULK{n:03d}", message="Bad")
        for n in range(60)
    )

    # when
    response = admin_client.get(reverse("admin:core_job_change", args=[job.pk]))

    # then
    html = response.content.decode()
    assert "Download error report (62 rows)" in html
    assert "BULK047" in html
    assert "BULK048" not in html


@pytest.mark.django_db
def test_a_finished_job_without_errors_says_so_and_stops_refreshing(admin_client, org):
    job = Job.objects.create(
        kind="coupons.upload", org=org, status=Job.Status.FINISHED, total=3, processed=3
    )

    response = admin_client.get(reverse("admin:core_job_change", args=[job.pk]))

    html = response.content.decode()
    assert "No row errors" in html
    assert 'http-equiv="refresh"' not in html


@pytest.mark.django_db
def test_staff_with_view_permission_sees_jobs(client, job):
    client = staff_client(client, "view_job")

    assert client.get(reverse("admin:core_job_changelist")).status_code == 200
    response = client.get(reverse("admin:core_job_change", args=[job.pk]))
    assert response.status_code == 200
    assert "CODE3" in response.content.decode()


@pytest.mark.django_db
def test_jobs_are_not_added_or_edited_in_the_admin(admin_client, job):
    # when
    add = admin_client.get(reverse("admin:core_job_add"))
    change = admin_client.post(
        reverse("admin:core_job_change", args=[job.pk]), {"kind": "hacked", "status": "FINISHED"}
    )

    # then
    assert add.status_code == 403
    assert change.status_code == 403
    job.refresh_from_db()
    assert (job.kind, job.status) == ("coupons.upload", Job.Status.RUNNING)


@pytest.mark.django_db
def test_only_superusers_delete_jobs(client, admin_client, job):
    # given a staff member with every job permission
    clerk = staff_client(client, "view_job", "change_job", "delete_job")
    url = reverse("admin:core_job_delete", args=[job.pk])

    # when / then
    assert clerk.post(url, {"post": "yes"}).status_code == 403
    assert Job.objects.filter(pk=job.pk).exists()
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Job.objects.filter(pk=job.pk).exists()


@pytest.mark.django_db
def test_retry_action_requeues_failed_jobs(admin_client, org, django_capture_on_commit_callbacks):
    # given a failed job of an unknown kind, and a running one
    failed = Job.objects.create(kind="test.unknown", org=org, status=Job.Status.FAILED)
    running = Job.objects.create(
        kind="test.unknown", org=org, status=Job.Status.RUNNING, heartbeat_at=timezone.now()
    )

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            reverse("admin:core_job_changelist"),
            {"action": "retry_failed_jobs", "_selected_action": [failed.pk, running.pk]},
            follow=True,
        )

    # then
    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    assert "Queued 1 job(s) again." in messages
    assert "Skipped 1 job(s) that had not failed." in messages
    assert len(callbacks) == 1
    assert Job.objects.get(pk=failed.pk).status == Job.Status.QUEUED
    assert Job.objects.get(pk=running.pk).status == Job.Status.RUNNING


# --- error report download -------------------------------------------------------------------


@pytest.mark.django_db
def test_error_report_download_needs_a_staff_login(client, job):
    response = client.get(report_url(job))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_error_report_download_needs_the_view_permission(client, job):
    response = staff_client(client).get(report_url(job))

    assert response.status_code == 403


@pytest.mark.django_db
def test_error_report_download_returns_csv(client, job):
    # when
    response = staff_client(client, "view_job").get(report_url(job))

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="job-{job.pk}-errors.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["row_number", "row_key", "code", "message", "data_code"],
        ["3", "CODE3", "DUPLICATE", "Code already exists", "CODE3"],
        ["5", "CODE5", "DUPLICATE", "Code already exists", "CODE5"],
    ]


@pytest.mark.django_db
def test_error_report_of_a_missing_job_is_404(admin_client):
    url = reverse("core:job-error-report", kwargs={"job_id": 999999})

    assert admin_client.get(url).status_code == 404
