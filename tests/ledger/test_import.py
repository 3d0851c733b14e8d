"""Points import from CSV: the admin upload starts a job; good rows post, bad rows are reported
with their line numbers; a re-run or a resumed job posts nothing twice."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from ledger.models import EventName, LedgerEvent
from ledger.services import imports
from ledger.services.imports import POINTS_IMPORT_KIND, points_import_job_create
from loyalty_site.core.jobs import job_error_report_csv, job_run
from loyalty_site.core.models import Job
from tests.ledger.factories import assert_consistent, balance, earn, lots_of, member, snapshot
from tests.ledger.test_concurrency import in_threads
from tests.members.factories import CustomerFactory, ProgramFactory

HEADER = "identifier_type,identifier_value,program_id,action,points,reference,expiry_date"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def superuser(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return user


@pytest.fixture
def people(org, program, till):
    """Ann (mobile, 50 points), Bob (email, none) and Cat (external id, none)."""
    ann = member(org, [program], mobile="919811111111")
    bob = member(org, [program], email="bob@example.com")
    cat = member(org, [program], external_id="CAT-1")
    earn(ann, program, 50, actor=till)
    return ann, bob, cat


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def _file(program) -> bytes:
    """13 data rows (line 14 is blank): 4 good, 9 bad."""
    p = program.pk
    return _csv(
        f"mobile,+91 98111 11111,{p},CREDIT,100,ref-1,",  # line 2: good
        f"email,bob@example.com,{p},credit,20,ref-2,2099-12-31",  # line 3: good, expiring
        f"external_id,CAT-1,{p},CREDIT,5,ref-3,",  # line 4: good
        f"mobile,919811111111,{p},REDEEM,30,ref-4,",  # line 5: good debit
        f"email,bob@example.com,{p},EXPIRE,500,ref-5,",  # line 6: more than Bob has
        f"mobile,919899999999,{p},CREDIT,10,ref-6,",  # line 7: unknown customer
        "mobile,919811111111,424242,CREDIT,10,ref-7,",  # line 8: unknown program
        f"mobile,919811111111,{p},CREDIT,abc,ref-8,",  # line 9: bad points
        f"mobile,919811111111,{p},GIFT,10,ref-9,",  # line 10: unknown action
        f"mobile,919811111111,{p},CREDIT,10,,",  # line 11: no reference
        f"mobile,919811111111,{p},CREDIT,10,ref-10,31/12/2099",  # line 12: bad expiry date
        f"card,123,{p},CREDIT,10,ref-11,",  # line 13: unknown identifier type
        "",
        f"email,bob@example.com,{p},DEBIT,1,ref-12,2099-12-31",  # line 15: expiry on a debit
    )


EXPECTED_ERRORS = {
    6: "804",
    7: "8015",
    8: "885",
    9: "801",
    10: "400",
    11: "400",
    12: "400",
    13: "8013",
    15: "400",
}


def _run(org, user, content: bytes, django_capture_on_commit_callbacks) -> Job:
    with django_capture_on_commit_callbacks(execute=True):
        job = points_import_job_create(org=org, file_name="points.csv", content=content, actor=user)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_admin_upload_starts_the_job_and_opens_its_page(
    client, superuser, org, program, people, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("points.csv", _file(program), "text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:ledger_pointsaccount_import"), {"org": org.pk, "file": upload}
        )

    job = Job.objects.get(kind=POINTS_IMPORT_KIND)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:core_job_change", args=[job.pk])
    assert job.status == Job.Status.FINISHED and job.started_by == superuser
    assert job.params["file_name"] == "points.csv" and job.params["rows"] == 13
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_good_rows_post_and_bad_rows_are_reported(
    superuser, org, program, people, django_capture_on_commit_callbacks
):
    ann, bob, cat = people

    job = _run(org, superuser, _file(program), django_capture_on_commit_callbacks)

    # then the good rows posted
    assert (job.status, job.total, job.processed, job.failed) == (Job.Status.FINISHED, 13, 13, 9)
    assert balance(ann, program) == Decimal("120")  # 50 + 100 - 30
    assert balance(bob, program) == Decimal("20")
    assert balance(cat, program) == Decimal("5")
    imported = LedgerEvent.objects.filter(org=org, event_name=EventName.POINTS_IMPORT)
    assert imported.count() == 4
    assert {event.created_by_user for event in imported} == {superuser}
    assert imported.get(idempotency_key="points-import:ref-4").reason == "REDEEM"
    # Bob's points expire at the end of 31 Dec 2099 in the org's time zone
    (lot,) = lots_of(bob, program)
    expires = timezone.localtime(lot.expires_at, org.tzinfo)
    assert (expires.date(), expires.hour, expires.minute) == (datetime.date(2099, 12, 31), 23, 59)
    # and each bad row is in the error report with its line number, reference and reason
    errors = {e.row_number: e for e in job.row_errors.all()}
    assert {line: e.code for line, e in errors.items()} == EXPECTED_ERRORS
    assert errors[7].row_key == "ref-6" and errors[7].row_data["identifier_value"] == "919899999999"
    assert "action" in errors[10].message
    report = list(csv.reader(io.StringIO(job_error_report_csv(job))))
    assert report[0] == [
        "row_number",
        "row_key",
        "code",
        "message",
        "identifier_type",
        "identifier_value",
        "program_id",
        "action",
        "points",
        "reference",
        "expiry_date",
    ]
    assert [int(row[0]) for row in report[1:]] == sorted(EXPECTED_ERRORS)


@pytest.mark.django_db
def test_rerunning_the_same_file_posts_nothing_twice(
    superuser, org, program, people, django_capture_on_commit_callbacks
):
    content = _file(program)
    _run(org, superuser, content, django_capture_on_commit_callbacks)
    after_first = snapshot(org)

    second = _run(org, superuser, content, django_capture_on_commit_callbacks)

    assert second.status == Job.Status.FINISHED
    assert second.failed == len(EXPECTED_ERRORS)
    assert snapshot(org) == after_first


@pytest.mark.django_db
def test_a_reference_reused_for_another_row_is_a_row_error(
    superuser, org, program, people, django_capture_on_commit_callbacks
):
    ann, _, _ = people
    p = program.pk
    content = _csv(
        f"mobile,919811111111,{p},CREDIT,10,same,",
        f"mobile,919811111111,{p},CREDIT,99,same,",
    )

    job = _run(org, superuser, content, django_capture_on_commit_callbacks)

    assert job.failed == 1
    assert job.row_errors.get().row_number == 3
    assert job.row_errors.get().code == "409"
    assert balance(ann, program) == Decimal("60")


@pytest.mark.django_db
def test_a_resumed_job_posts_each_row_once(superuser, org, program, people):
    # given a file of 5 credits imported in batches of 2, and a crash on the 4th row
    ann, _, _ = people
    content = _csv(*[f"mobile,919811111111,{program.pk},CREDIT,1,r{n}," for n in range(5)])
    job = points_import_job_create(org=org, file_name="p.csv", content=content, actor=superuser)
    Job.objects.filter(pk=job.pk).update(params={**job.params, "batch_size": 2})
    calls = {"count": 0}
    real_rows = imports.points_import_rows_post

    def flaky(**kwargs):
        # the second batch (rows 3 and 4) crashes
        calls["count"] += 1
        if calls["count"] == 2:
            raise OperationalError("connection lost")
        return real_rows(**kwargs)

    with mock.patch("ledger.jobs.points_import_rows_post", side_effect=flaky):
        with pytest.raises(OperationalError):
            job_run(job_id=job.pk)
    crashed = Job.objects.get(pk=job.pk)

    # when it runs again
    finished = job_run(job_id=job.pk)

    # then the first batch was kept and every row posted once
    assert crashed.status == Job.Status.FAILED and crashed.cursor == "2"
    assert finished.status == Job.Status.FINISHED and finished.failed == 0
    assert balance(ann, program) == Decimal("55")
    assert LedgerEvent.objects.filter(event_name=EventName.POINTS_IMPORT).count() == 5


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, message",
    [
        (b"mobile,points\n919811111111,10\n", "Missing column"),
        (_csv(), "no data rows"),
        (b"", "empty"),
        ("identifier_type,\u00e9\n".encode("latin-1"), "UTF-8"),
    ],
)
def test_a_bad_file_is_refused_on_the_form(client, superuser, org, content, message):
    upload = SimpleUploadedFile("points.csv", content, "text/csv")

    response = client.post(
        reverse("admin:ledger_pointsaccount_import"), {"org": org.pk, "file": upload}
    )

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["file"])
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_headers_are_matched_loosely_and_extra_columns_ignored(
    superuser, org, program, people, django_capture_on_commit_callbacks
):
    ann, _, _ = people
    header = "Identifier Type,Identifier Value,Program ID,Action,Points,Reference,Comment"
    content = ("\ufeff" + header + f"\nmobile,919811111111,{program.pk},CREDIT,7,x1,hi\n").encode()

    job = _run(org, superuser, content, django_capture_on_commit_callbacks)

    assert job.failed == 0
    assert balance(ann, program) == Decimal("57")


@pytest.mark.django_db
def test_rows_only_reach_customers_of_the_jobs_org(
    superuser, org, program, other_org, django_capture_on_commit_callbacks
):
    stranger = CustomerFactory(org=other_org, mobile="919822222222")
    foreign_program = ProgramFactory(org=other_org)
    content = _csv(
        f"mobile,919822222222,{program.pk},CREDIT,10,a,",
        f"mobile,919822222222,{foreign_program.pk},CREDIT,10,b,",
    )
    before = snapshot(other_org)

    job = _run(org, superuser, content, django_capture_on_commit_callbacks)

    assert job.failed == 2
    assert {e.code for e in job.row_errors.all()} == {"8015"}
    assert snapshot(other_org) == before
    assert stranger.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_same_file_imported_twice_at_once_posts_once(postgres_only, org, program, till):
    # given one file uploaded twice, its two jobs running at the same time
    ann = member(org, [program], mobile="919811111111")
    content = _csv(*[f"mobile,919811111111,{program.pk},CREDIT,1,c{n}," for n in range(20)])
    with mock.patch("loyalty_site.core.jobs.enqueue_on_commit"):  # the threads run them
        jobs = [
            points_import_job_create(org=org, file_name="p.csv", content=content, actor=None)
            for _ in range(2)
        ]

    # when
    finished = in_threads(lambda job: job_run(job_id=job.pk), jobs, workers=2)

    # then every row posted once; the slower job saw replays, not errors
    assert [job.status for job in finished] == [Job.Status.FINISHED] * 2
    assert [job.failed for job in finished] == [0, 0]
    assert balance(ann, program) == Decimal("20")
    assert LedgerEvent.objects.filter(event_name=EventName.POINTS_IMPORT).count() == 20
    assert_consistent(org)
