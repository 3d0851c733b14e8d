"""Coupon uploads as jobs: the seed's per-row messages, its four duplicate-customer cases and
re-uploads, codes only and codes with customers, bad rows beside good ones, crash and resume."""

from __future__ import annotations

import csv
import datetime
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from coupons.exceptions import CouponSeriesInvalidError, CouponUploadInvalidError
from coupons.jobs import CouponUploadJob
from coupons.models import CodeType, Coupon, CouponAudienceMember, CouponSeries, CouponUpload
from coupons.services import uploads
from coupons.services.codes import coupon_codes_add
from coupons.services.uploads import coupon_upload_start
from loyalty_site.core.jobs import job_error_report_csv, job_retry, job_run
from loyalty_site.core.models import Job
from tests.members.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def csv_file(rows: list[list[str]], name: str = "customers.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(), content_type="text/csv")


def upload(series, rows, identifier="USER_ID", **options) -> Job:
    started = coupon_upload_start(
        series=series,
        file=csv_file(rows),
        file_name="customers.csv",
        customer_identifier=identifier,
        **options,
    )
    return job_run(job_id=started.job_id)


def report(job) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(job_error_report_csv(job))))


def held(series, customer) -> int:
    return Coupon.objects.filter(series=series, customer=customer).count()


# Per-row validation (seed: "Validations for Issuing Coupons Through Capillary") -----------------
@pytest.mark.parametrize(
    ("identifier", "bad_values", "code", "message"),
    [
        (
            "EXTERNAL_ID",
            ["NO-SUCH-ID"],
            "701",
            "User does not exist with provided external id",
        ),
        ("MOBILE", ["919999999999", "12ab"], "701", "User does not exist with provided mobile"),
        (
            "EMAIL",
            ["nobody@example.com", "not-an-email"],
            "701",
            "User does not exist with provided email",
        ),
        ("USER_ID", ["999999999", "abc", "-4"], "721", "User ID is not valid or is inactive"),
    ],
)
def test_unknown_customers_get_the_seeds_messages_and_good_rows_go_through(
    make_series, org, other_org, identifier, bad_values, code, message
):
    # given a good customer, customers of another org and values that match nobody
    series = make_series(allows_multiple_per_customer=True, max_per_customer=None)
    good = CustomerFactory(org=org)
    foreign = CustomerFactory(org=other_org)
    field = {"EXTERNAL_ID": "external_id", "MOBILE": "mobile", "EMAIL": "email", "USER_ID": "pk"}
    value = lambda customer: str(getattr(customer, field[identifier]))  # noqa: E731
    rows = [[value(good)], *[[bad] for bad in bad_values], [value(foreign)], [value(good)]]

    # when the list is uploaded
    job = upload(series, rows, identifier=identifier)

    # then both good rows issued, every bad row is reported with its row number and the message
    assert job.status == Job.Status.FINISHED
    assert held(series, good) == 2 and held(series, foreign) == 0
    bad_rows = list(range(2, 2 + len(bad_values) + 1))
    assert [(int(r["row_number"]), r["code"], r["message"]) for r in report(job)] == [
        (number, code, message) for number in bad_rows
    ]
    assert (job.total, job.processed, job.failed) == (len(rows), len(rows), len(bad_rows))


def test_a_merged_customer_is_inactive(make_series, org):
    series = make_series()
    survivor = CustomerFactory(org=org)
    merged = CustomerFactory(org=org, merged_into=survivor)

    job = upload(series, [[str(merged.pk)], [str(survivor.pk)]])

    assert [(r["row_number"], r["code"], r["message"]) for r in report(job)] == [
        ("1", "721", "User ID is not valid or is inactive")
    ]
    assert held(series, survivor) == 1 and held(series, merged) == 0


# The four duplicate-customer cases --------------------------------------------------------------
def test_case_1_per_customer_limit_of_three(make_series, org):
    # given DiscCode, 3 per customer, no gap, no series limit, and a file listing one user 4 times
    series = make_series(allows_multiple_per_customer=True, max_per_customer=3)
    customer = CustomerFactory(org=org)
    rows = [[str(customer.pk)]] * 4

    # when uploaded: the fourth entry fails, the limit exceeded for the duplicate user
    job = upload(series, rows)
    assert held(series, customer) == 3
    assert [(r["row_number"], r["code"]) for r in report(job)] == [("4", "744")]
    assert "duplicate customer" in report(job)[0]["message"]

    # when the same file is uploaded again: nobody receives one, the limit is exhausted
    again = upload(series, rows)
    assert held(series, customer) == 3
    assert [r["code"] for r in report(again)] == ["744"] * 4
    assert report(again)[0]["message"] == (
        "The limit of 3 coupon(s) of this offer per customer has been exhausted"
    )

    # and even a file with one entry fails
    once = upload(series, rows[:1])
    assert [r["code"] for r in report(once)] == ["744"] and held(series, customer) == 3


def test_case_2_minimum_gap_of_one_day(make_series, org):
    series = make_series(
        allows_multiple_per_customer=True, max_per_customer=3, min_days_between_issuals=1
    )
    customer = CustomerFactory(org=org)

    job = upload(series, [[str(customer.pk)]] * 4)

    assert held(series, customer) == 1
    rows = report(job)
    assert [(r["row_number"], r["code"]) for r in rows] == [
        ("2", "745"),
        ("3", "745"),
        ("4", "745"),
    ]
    assert rows[0]["message"].startswith("Duplicate customer: the minimum gap of 1 day(s)")


def test_case_3_series_limit_of_two(make_series, org):
    series = make_series(allows_multiple_per_customer=True, max_per_customer=None, max_issuals=2)
    customer = CustomerFactory(org=org)

    job = upload(series, [[str(customer.pk)]] * 4)

    assert held(series, customer) == 2
    assert CouponSeries.objects.get(pk=series.pk).num_issued == 2
    rows = report(job)
    assert [(r["row_number"], r["code"]) for r in rows] == [("3", "743"), ("4", "743")]
    assert rows[0]["message"] == (
        "The maximum issuance limit of the offer (2 coupons) has been reached"
    )


def test_case_4_generic_coupon_once_per_customer(make_series, org):
    series = make_series(code_type=CodeType.COMMON, generic_code="WELCOME10")
    customer = CustomerFactory(org=org)
    rows = [[str(customer.pk)]] * 4

    job = upload(series, rows)

    assert held(series, customer) == 1
    assert [(r["row_number"], r["code"]) for r in report(job)] == [
        ("2", "746"),
        ("3", "746"),
        ("4", "746"),
    ]
    assert report(job)[0]["message"] == (
        "Only one generic coupon code can be issued to a customer (duplicate customer in the file)"
    )

    again = upload(series, rows)

    assert held(series, customer) == 1
    assert {r["message"] for r in report(again)} == {
        "Generic coupon code has already been issued to this customer"
    }
    assert len(report(again)) == 4


# Codes ------------------------------------------------------------------------------------------
def test_codes_only_upload_adds_unissued_codes(make_series, org):
    series = make_series(code_type=CodeType.UPLOADED)
    coupon_codes_add(series=series, codes=["OLD-1"])
    rows = [
        ["coupon code"],
        ["new-1"],
        ["NEW-2"],
        ["NEW-1"],
        ["bad code!"],
        ["OLD-1"],
        [""],
        ["NEW-3"],
    ]

    job = upload(series, rows, identifier="NOT_TAGGED")

    codes = set(Coupon.objects.filter(series=series).values_list("code", flat=True))
    assert codes == {"OLD-1", "NEW-1", "NEW-2", "NEW-3"}
    assert not Coupon.objects.filter(series=series, customer__isnull=False).exists()
    assert [(r["row_number"], r["code"]) for r in report(job)] == [
        ("4", "796"),
        ("5", "702"),
        ("6", "796"),
    ]
    assert report(job)[0]["message"] == "Coupon code NEW-1 is repeated in the file (row 2)"
    assert report(job)[2]["message"] == "Coupon code OLD-1 already exists in the org"
    series = CouponSeries.objects.get(pk=series.pk)
    assert (series.num_uploaded_total, series.num_uploaded_non_issued) == (4, 4)
    assert (job.total, job.failed, job.result["codes_added"]) == (6, 3, 3)

    again = upload(series, rows, identifier="NOT_TAGGED")
    assert again.result["codes_added"] == 0 and again.failed == 6


def test_codes_with_customers_issue_each_code_to_its_customer(make_series, org):
    series = make_series(
        code_type=CodeType.UPLOADED, allows_multiple_per_customer=True, max_per_customer=None
    )
    coupon_codes_add(series=series, codes=["PRE-1"])
    first, second = CustomerFactory(org=org), CustomerFactory(org=org)
    rows = [
        [first.mobile, "PRE-1"],
        [second.mobile, "MIGRATED-9"],
        ["919999999999", "MIGRATED-8"],
        [second.mobile],
        [first.mobile, "MIGRATED-9"],
    ]

    job = upload(series, rows, identifier="MOBILE")

    assert Coupon.objects.get(code="PRE-1").customer == first
    assert Coupon.objects.get(code="MIGRATED-9").customer == second
    assert not Coupon.objects.filter(code="MIGRATED-8").exists()
    assert [(r["row_number"], r["code"]) for r in report(job)] == [
        ("3", "701"),
        ("4", "400"),
        ("5", "796"),
    ]
    assert report(job)[1]["message"] == "The row has no column 2 (the coupon code)"
    assert report(job)[0]["customer_identifier"] == "919999999999"


# Files, audiences, resume -----------------------------------------------------------------------
def test_the_file_is_stored_under_media_uploads(make_series, org, settings):
    series = make_series()
    customer = CustomerFactory(org=org)

    started = coupon_upload_start(
        series=series,
        file=csv_file([["user_id"], [str(customer.pk)]]),
        file_name="My List.csv",
        customer_identifier="USER_ID",
    )

    path = Path(started.file.path)
    assert path.is_relative_to(Path(settings.MEDIA_ROOT) / "uploads")
    assert path.name.startswith("My_List_") and path.name.endswith(f"_{series.pk}.csv")
    assert started.kind == CouponUpload.Kind.CUSTOMERS and started.file_name == "My List.csv"
    job = job_run(job_id=started.job_id)
    assert job.total == 1 and held(series, customer) == 1  # the header row is skipped


def test_an_offer_for_specific_customers_takes_the_uploaded_ones_as_its_audience(make_series, org):
    series = make_series(is_audience_restricted=True)
    listed = CustomerFactory(org=org)

    job = upload(series, [[str(listed.pk)]])

    upload_row = CouponUpload.objects.get(job=job)
    assert upload_row.audience is not None
    assert CouponAudienceMember.objects.filter(audience=upload_row.audience, customer=listed)
    assert held(series, listed) == 1


def test_a_crash_resumes_after_the_committed_batches(make_series, org, monkeypatch):
    # given a 5-row upload read 2 rows a batch, whose worker crashes on row 4
    monkeypatch.setattr(CouponUploadJob, "batch_size", 2)
    series = make_series(allows_multiple_per_customer=True, max_per_customer=None)
    customers = CustomerFactory.create_batch(5, org=org)
    original = uploads.coupon_issue
    crash = {"row": 4}

    def crashing_issue(**kwargs):
        if kwargs["provenance"].row == crash["row"]:
            crash["row"] = None
            raise RuntimeError("worker lost")
        return original(**kwargs)

    monkeypatch.setattr(uploads, "coupon_issue", crashing_issue)
    job = upload(series, [[str(c.pk)] for c in customers])
    assert job.status == Job.Status.FAILED and job.cursor == "2"
    assert Coupon.objects.filter(series=series).count() == 2  # batch 2 rolled back whole

    # when the job is retried
    job_retry(job_id=job.pk)
    job = job_run(job_id=job.pk)

    # then it went on after row 2 and each row issued exactly once
    assert job.status == Job.Status.FINISHED and (job.processed, job.failed) == (5, 0)
    rows = sorted(Coupon.objects.filter(issue_job=job).values_list("issue_job_row", flat=True))
    assert rows == [1, 2, 3, 4, 5]


def test_gap_rows_quote_the_next_day(make_series, org, till):
    series = make_series(
        allows_multiple_per_customer=True, max_per_customer=None, min_days_between_issuals=3
    )
    customer = CustomerFactory(org=org)
    from coupons.services.issue import coupon_issue

    coupon_issue(series=series, customer=customer, actor=till)

    job = upload(series, [[str(customer.pk)]])

    message = report(job)[0]["message"]
    next_day = timezone.now().astimezone(org.tzinfo).date() + datetime.timedelta(days=3)
    assert not message.startswith("Duplicate") and str(next_day) in message


# Refused uploads store nothing ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code_type", "identifier", "options", "content", "error"),
    [
        (CodeType.UNIQUE, "NOT_TAGGED", {}, b"CODE1\r\n", CouponSeriesInvalidError),
        (CodeType.UNIQUE, "PHONE", {}, b"1\r\n", CouponUploadInvalidError),
        (CodeType.UPLOADED, "MOBILE", {"code_column": 0}, b"1,A\r\n", CouponUploadInvalidError),
        (CodeType.UNIQUE, "USER_ID", {}, b"", CouponUploadInvalidError),
        (CodeType.UNIQUE, "USER_ID", {}, b"\x00\x01PK\x03", CouponUploadInvalidError),
        (CodeType.UNIQUE, "USER_ID", {}, b"\xff\xfe1\r\n", CouponUploadInvalidError),
        (CodeType.UNIQUE, "USER_ID", {"identifier_column": 99}, b"1\r\n", CouponUploadInvalidError),
    ],
)
def test_refused_uploads_store_nothing(
    make_series, settings, code_type, identifier, options, content, error
):
    series = make_series(code_type=code_type)

    with pytest.raises(error):
        coupon_upload_start(
            series=series,
            file=SimpleUploadedFile("x.csv", content),
            file_name="x.csv",
            customer_identifier=identifier,
            **options,
        )

    assert not CouponUpload.objects.exists() and not Job.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "uploads").exists() or not any(
        (Path(settings.MEDIA_ROOT) / "uploads").rglob("*.csv")
    )


def test_randomized_common_offers_take_no_upload(make_series):
    series = make_series(code_type=CodeType.RANDOMIZED_COMMON, random_code_sample="TEST12345")

    with pytest.raises(CouponSeriesInvalidError):
        coupon_upload_start(
            series=series,
            file=SimpleUploadedFile("x.csv", b"1\r\n"),
            file_name="x.csv",
            customer_identifier="USER_ID",
        )
