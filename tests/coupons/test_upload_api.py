"""Coupon upload v1 API: the multipart upload, the job status object in the contract's shape,
the error report download, and org isolation."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from coupons.models import CodeType, Coupon, CouponUpload
from loyalty_site.core.jobs import job_run
from loyalty_site.core.models import Job
from tests.members.factories import CustomerFactory

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "contract"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def sample(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def csv_upload(text: str, name: str = "couponCode.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def post_upload(client, series_id, text, identifier="MOBILE", **fields):
    return client.post(
        f"/coupon/api/v1/upload/file/{series_id}",
        {"file": csv_upload(text), "customerIdentifier": identifier, **fields},
        format="multipart",
    )


def test_upload_answers_the_samples_shape_and_the_job_runs(
    api_client, make_series, org, django_capture_on_commit_callbacks
):
    # given an offer with uploaded codes and two customers
    series = make_series(code_type=CodeType.UPLOADED)
    first, second = CustomerFactory(org=org), CustomerFactory(org=org)
    text = f"customer_identifier,coupon code\r\n{first.mobile},MIG-1\r\n{second.mobile},MIG-2\r\n"

    # when the file is uploaded (the job runs once the request commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_upload(api_client, series.pk, text, customerIdentifierColumn=0)

    # then the answer has every key of the contract's sample, with the job just STARTED
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["success"] is True and data["status"] == 200
    expected = sample("coupon_upload_file_response.json")
    assert set(data["result"]) == set(expected["result"])
    status = data["result"]["uploadJobStatuses"][0]
    assert set(status) == set(expected["result"]["uploadJobStatuses"][0])
    assert status["uploadStatus"] == "STARTED" and status["errorFileUrl"] is None
    assert isinstance(status["createdOn"], str) and status["createdOn"].isdigit()
    assert status["uploadedFileName"] == "couponCode.csv"
    assert status["uploadedFileUrl"] == data["result"]["fileName"]
    assert data["result"]["fileName"].startswith("couponCode_")
    assert data["result"]["orgId"] == org.pk and data["result"]["couponSeriesId"] == series.pk
    assert Coupon.objects.get(code="MIG-1").customer == first
    assert Coupon.objects.get(code="MIG-2").customer == second


def test_status_lists_uploads_with_counts_and_the_error_file(api_client, make_series, org):
    # given an upload of 3 customers, 2 of them unknown, processed
    series = make_series()
    customer = CustomerFactory(org=org)
    post_upload(api_client, series.pk, f"{customer.mobile}\r\n449999999999\r\n12\r\n")
    upload = CouponUpload.objects.get(series=series)
    job_run(job_id=upload.job_id)

    # when its status is read
    response = api_client.get(f"/coupon/api/v1/upload/getUploadStatus/{series.pk}")

    # then it is FINISHED with the counts, and the error file lists the two bad rows
    assert response.status_code == 200
    data = response.json()
    expected = sample("coupon_upload_status_response.json")
    assert set(data["result"]) == set(expected["result"])
    (status,) = data["result"]["uploadJobStatuses"]
    assert set(status) == set(expected["result"]["uploadJobStatuses"][0])
    assert status["uploadStatus"] == "FINISHED" and status["jobId"] == upload.job_id
    counts = (status["totalUploadedCount"], status["actualRowCount"], status["errorCount"])
    assert counts == (3, 3, 2)
    assert int(status["updatedOn"]) >= int(status["createdOn"])
    assert status["errorFileUrl"].endswith(f"/coupon/api/v1/upload/errorFile/{upload.job_id}")

    report = api_client.get(status["errorFileUrl"])
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.content.decode())))
    assert [(r["row_number"], r["message"]) for r in rows] == [
        ("2", "User does not exist with provided mobile"),
        ("3", "User does not exist with provided mobile"),
    ]


def test_bad_requests_are_refused_in_the_v2_envelope(api_client, make_series):
    series = make_series()

    wrong_identifier = post_upload(api_client, series.pk, "1\r\n", identifier="PHONE")
    codes_to_auto_offer = post_upload(api_client, series.pk, "A1\r\n", identifier="NOT_TAGGED")
    no_file = api_client.post(
        f"/coupon/api/v1/upload/file/{series.pk}",
        {"customerIdentifier": "MOBILE"},
        format="multipart",
    )
    as_json = api_client.post(
        f"/coupon/api/v1/upload/file/{series.pk}", {"customerIdentifier": "MOBILE"}, format="json"
    )
    unknown_series = post_upload(api_client, 999999, "1\r\n")

    assert wrong_identifier.status_code == 400
    assert wrong_identifier.json()["errors"][0]["code"] == 400
    assert codes_to_auto_offer.status_code == 400
    assert codes_to_auto_offer.json()["errors"][0]["code"] == 799
    assert no_file.status_code == 400 and "file" in no_file.json()["errors"][0]["message"]
    assert as_json.status_code == 415 and as_json.json()["errors"][0]["code"] == 415
    assert unknown_series.status_code == 404
    assert unknown_series.json()["errors"][0]["code"] == 707
    assert not CouponUpload.objects.exists() and not Job.objects.exists()


def test_another_orgs_offer_uploads_and_error_files_are_not_found(
    api_client, other_client, make_series, org
):
    series = make_series()
    post_upload(api_client, series.pk, "449999999999\r\n")
    upload = CouponUpload.objects.get(series=series)
    job_run(job_id=upload.job_id)

    upload_there = post_upload(other_client, series.pk, "1\r\n")
    status_there = other_client.get(f"/coupon/api/v1/upload/getUploadStatus/{series.pk}")
    file_there = other_client.get(f"/coupon/api/v1/upload/errorFile/{upload.job_id}")

    assert [r.status_code for r in (upload_there, status_there, file_there)] == [404, 404, 404]
    assert CouponUpload.objects.count() == 1


def test_upload_needs_authentication(client, make_series):
    series = make_series()

    response = client.get(f"/coupon/api/v1/upload/getUploadStatus/{series.pk}")

    assert response.status_code == 401
