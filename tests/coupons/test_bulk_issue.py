"""Bulk issuance: chunks, the issual rules applied set-wise, the error report, crash and resume
without double issue, and org isolation (SQLite and PostgreSQL; COPY only on PostgreSQL)."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.utils import timezone

from coupons.exceptions import CouponBulkIssueInvalidError, CouponSeriesExpiredError
from coupons.models import CodeType, Coupon, CouponIssueChunk, CouponSeries
from coupons.services import bulk
from coupons.services.audiences import coupon_audience_add_customers, coupon_audience_create
from coupons.services.bulk import BulkIssueSource, BulkSource, chunks, coupon_bulk_issue_start
from coupons.services.codes import coupon_codes_add, coupon_codes_generate
from coupons.services.issue import coupon_issue
from coupons.tasks import coupon_issue_chunk_task
from loyalty_site.core.jobs import job_error_report_csv, job_retry, job_run
from loyalty_site.core.models import Job
from members.models import CustomerLabel, LoyaltyType
from tests.members.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def audience_of(series, customers, name="Bulk list"):
    audience = coupon_audience_create(series=series, name=name)
    coupon_audience_add_customers(audience=audience, customer_ids=[c.pk for c in customers])
    return audience


def run(series, source, chunk_size=3) -> Job:
    job = coupon_bulk_issue_start(series=series, source=source, chunk_size=chunk_size)
    return job_run(job_id=job.pk)


def holders(series) -> list[int]:
    return sorted(
        Coupon.objects.filter(series=series, customer__isnull=False).values_list(
            "customer_id", flat=True
        )
    )


def report_rows(job) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(job_error_report_csv(job))))


def refreshed(series) -> CouponSeries:
    return CouponSeries.objects.get(pk=series.pk)


def test_audience_gets_one_coupon_each_in_chunks(make_series, org):
    # given an auto-code offer and an audience of 10 of the org's 12 customers
    series = make_series(allows_multiple_per_customer=True, max_per_customer=None)
    customers = CustomerFactory.create_batch(12, org=org)
    audience = audience_of(series, customers[:10])

    # when the offer is issued to the audience in chunks of 3
    job = run(series, BulkIssueSource(kind=BulkSource.AUDIENCE, audience_id=audience.pk))

    # then each listed customer holds exactly one coupon of the job, and the job is done
    assert job.status == Job.Status.FINISHED
    assert holders(series) == sorted(c.pk for c in customers[:10])
    assert (job.total, job.processed, job.failed) == (10, 10, 0)
    assert job.result["coupons_issued"] == 10 and job.result["chunks"] == 4
    chunks = list(CouponIssueChunk.objects.filter(job=job))
    assert [c.status for c in chunks] == [CouponIssueChunk.Status.DONE] * 4
    assert sum(c.issued for c in chunks) == 10
    coupon = Coupon.objects.filter(series=series).first()
    assert coupon.issue_job_id == job.pk and coupon.issue_job_row == coupon.customer_id
    assert len({c.code for c in Coupon.objects.filter(series=series)}) == 10
    series = refreshed(series)
    assert (series.num_issued, series.num_codes) == (10, 10)


def test_segment_of_all_loyalty_customers_leaves_out_others(make_series, org, other_org):
    # given loyalty, non-loyalty and merged customers, and another org's customers
    series = make_series()
    loyal = CustomerFactory.create_batch(4, org=org)
    CustomerFactory(org=org, loyalty_type=LoyaltyType.NON_LOYALTY)
    CustomerFactory(org=org, merged_into=loyal[0])
    CustomerFactory.create_batch(3, org=other_org)

    # when the offer goes to all loyalty customers
    job = run(series, BulkIssueSource(kind=BulkSource.ALL_LOYALTY))

    # then only the org's active loyalty customers get one
    assert holders(series) == sorted(c.pk for c in loyal)
    assert (job.total, job.failed) == (4, 0)


def test_segment_by_label_and_by_registration_dates(make_series, org):
    series = make_series(allows_multiple_per_customer=True, max_per_customer=None)
    label = CustomerLabel.objects.create(org=org, name="VIP")
    vip, plain = CustomerFactory(org=org), CustomerFactory(org=org)
    vip.labels.add(label)
    tz = org.tzinfo
    day = datetime.date(2024, 3, 10)
    early = CustomerFactory(org=org, registered_at=datetime.datetime(2024, 3, 9, 23, 59, tzinfo=tz))
    inside = CustomerFactory(org=org, registered_at=datetime.datetime(2024, 3, 10, 0, 0, tzinfo=tz))
    last = CustomerFactory(org=org, registered_at=datetime.datetime(2024, 3, 11, 23, 59, tzinfo=tz))
    late = CustomerFactory(org=org, registered_at=datetime.datetime(2024, 3, 12, 0, 0, tzinfo=tz))

    run(series, BulkIssueSource(kind=BulkSource.LABEL, label_id=label.pk))
    assert holders(series) == [vip.pk]

    run(
        series,
        BulkIssueSource(
            kind=BulkSource.REGISTERED,
            registered_from=day,
            registered_until=day + datetime.timedelta(days=1),
        ),
    )
    assert holders(series) == sorted([vip.pk, inside.pk, last.pk])
    assert plain.pk not in holders(series) and early.pk not in holders(series)
    assert late.pk not in holders(series)


def test_issual_rules_are_applied_and_reported_per_customer(make_series, org, till):
    # given an offer limited to 1 per customer with a 2-day gap, excluding holders of another
    # offer, restricted to its audience, and customers that break each rule
    excluded = make_series(description="Excluded offer")
    series = make_series(
        allows_multiple_per_customer=True,
        max_per_customer=2,
        min_days_between_issuals=2,
        past_issual_series_ids=[excluded.pk],
        is_audience_restricted=True,
    )
    at_limit, in_gap, past, merged_away, fine, outsider = CustomerFactory.create_batch(6, org=org)
    audience = audience_of(series, [at_limit, in_gap, past, fine])
    for customer in (at_limit, at_limit):
        coupon = coupon_issue(series=series, customer=customer, actor=till).coupon
        Coupon.objects.filter(pk=coupon.pk).update(
            issued_at=timezone.now() - datetime.timedelta(days=10)
        )
    coupon_issue(series=series, customer=in_gap, actor=till)
    coupon_issue(series=excluded, customer=past, actor=till)
    merged_away.merged_into = fine
    merged_away.save()
    other_list = audience_of(excluded, [merged_away, outsider, fine], name="Other list")

    # when the offer is bulk issued to its own audience, then to another offer's list
    first = run(series, BulkIssueSource(kind=BulkSource.AUDIENCE, audience_id=audience.pk))
    second = run(series, BulkIssueSource(kind=BulkSource.AUDIENCE, audience_id=other_list.pk))

    # then only the customer breaking no rule got a coupon, the others are in the report
    assert Coupon.objects.filter(series=series, issue_job__isnull=False).count() == 1
    assert Coupon.objects.get(series=series, issue_job=first).customer == fine
    codes = {row["row_key"]: row["code"] for row in report_rows(first)}
    assert codes == {str(at_limit.pk): "744", str(in_gap.pk): "745", str(past.pk): "747"}
    messages = {row["row_key"]: row["message"] for row in report_rows(first)}
    assert "limit of 2 coupon(s)" in messages[str(at_limit.pk)]
    assert (first.processed, first.failed) == (4, 3)
    codes = {row["row_key"]: row["code"] for row in report_rows(second)}
    # the merged customer is inactive (721); the outsider is not in the offer's audience (748);
    # `fine` now holds a coupon and is within the gap (745)
    assert codes == {str(merged_away.pk): "721", str(outsider.pk): "748", str(fine.pk): "745"}
    row = next(r for r in report_rows(second) if r["row_key"] == str(merged_away.pk))
    assert row["message"] == "User ID is not valid or is inactive"
    assert row["mobile"] == merged_away.mobile


def test_series_limit_is_claimed_per_chunk(make_series, org):
    # given an offer limited to 5 issuals, 1 already issued, and 8 customers
    series = make_series(max_issuals=5)
    customers = CustomerFactory.create_batch(8, org=org)
    coupon_issue(series=series, customer=customers[0], actor=None)

    # when it is issued to all loyalty customers in chunks of 3
    job = run(series, BulkIssueSource(kind=BulkSource.ALL_LOYALTY))

    # then exactly the 4 remaining issuals went out; the rest are reported as over the limit
    series = refreshed(series)
    assert series.num_issued == 5 and len(holders(series)) == 5
    reasons = [row["code"] for row in report_rows(job)]
    assert sorted(reasons) == ["743", "743", "743", "744"]  # customers[0] holds one already


def test_common_code_once_per_customer(make_series, org, till):
    series = make_series(code_type=CodeType.COMMON, generic_code="SUMMERALL")
    customers = CustomerFactory.create_batch(4, org=org)
    coupon_issue(series=series, customer=customers[0], actor=till)

    job = run(series, BulkIssueSource(kind=BulkSource.ALL_LOYALTY))

    assert holders(series) == sorted(c.pk for c in customers)
    assert set(Coupon.objects.filter(series=series).values_list("code", flat=True)) == {"SUMMERALL"}
    assert [(row["row_key"], row["code"]) for row in report_rows(job)] == [
        (str(customers[0].pk), "746")
    ]


def test_pre_generated_then_fresh_codes(make_series, org):
    series = make_series(allows_multiple_per_customer=True, max_per_customer=None)
    coupon_codes_generate(series=series, count=4)
    pre_generated = set(Coupon.objects.filter(series=series).values_list("code", flat=True))
    CustomerFactory.create_batch(6, org=org)

    run(series, BulkIssueSource(kind=BulkSource.ALL_LOYALTY))

    issued = Coupon.objects.filter(series=series, customer__isnull=False)
    assert issued.count() == 6
    assert pre_generated <= set(issued.values_list("code", flat=True))
    series = refreshed(series)
    assert (series.num_issued, series.num_codes) == (6, 6)


def test_uploaded_codes_run_out_with_722(make_series, org):
    series = make_series(code_type=CodeType.UPLOADED)
    coupon_codes_add(series=series, codes=["UP-1", "UP-2"])
    customers = CustomerFactory.create_batch(3, org=org)

    job = run(series, BulkIssueSource(kind=BulkSource.ALL_LOYALTY), chunk_size=10)

    assert sorted(Coupon.objects.filter(customer__isnull=False).values_list("code", flat=True)) == [
        "UP-1",
        "UP-2",
    ]
    assert [(r["row_key"], r["code"]) for r in report_rows(job)] == [(str(customers[2].pk), "722")]
    series = refreshed(series)
    assert (series.num_issued, series.num_uploaded_non_issued) == (2, 0)


def test_a_chunk_task_failing_once_is_redone_without_double_issue(make_series, org, monkeypatch):
    # given a planned job whose first chunk task dies after writing its coupons
    series = make_series()
    CustomerFactory.create_batch(7, org=org)
    job = coupon_bulk_issue_start(
        series=series, source=BulkIssueSource(kind=BulkSource.ALL_LOYALTY), chunk_size=3
    )
    bulk.coupon_bulk_issue_plan(job=job)
    first = CouponIssueChunk.objects.get(job=job, sequence=1)
    original = chunks._record_errors

    def dies_once(*args, **kwargs):
        monkeypatch.setattr(chunks, "_record_errors", original)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(chunks, "_record_errors", dies_once)

    # when the task runs, fails, and runs again (its retry or another worker)
    with pytest.raises(RuntimeError):
        coupon_issue_chunk_task(job_id=job.pk, chunk_id=first.pk)
    first.refresh_from_db()
    assert first.status == CouponIssueChunk.Status.PENDING
    assert Coupon.objects.filter(series=series).count() == 0  # rolled back: nothing half-issued
    assert coupon_issue_chunk_task(job_id=job.pk, chunk_id=first.pk) == "done"
    assert coupon_issue_chunk_task(job_id=job.pk, chunk_id=first.pk) == "skipped"
    job = job_run(job_id=job.pk)

    # then every customer got exactly one coupon and the counters are exact
    assert job.status == Job.Status.FINISHED
    assert len(holders(series)) == 7 == len(set(holders(series)))
    assert (job.total, job.processed, job.failed) == (7, 7, 0)
    assert refreshed(series).num_issued == 7


def test_a_crashed_job_resumes_after_its_done_chunks(make_series, org, monkeypatch):
    # given a job whose worker crashes on the third chunk
    series = make_series()
    CustomerFactory.create_batch(10, org=org)
    calls = []
    original = chunks._issue_chunk

    def crash_on_third(context):
        calls.append(context.chunk.sequence)
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        return original(context)

    monkeypatch.setattr(chunks, "_issue_chunk", crash_on_third)
    job = run(series, BulkIssueSource(kind=BulkSource.ALL_LOYALTY))
    assert job.status == Job.Status.FAILED
    done = CouponIssueChunk.objects.filter(job=job, status=CouponIssueChunk.Status.DONE).count()
    assert done == 2 and len(holders(series)) == 4  # chunks [10] and [7..9]

    # when it is retried
    assert job_retry(job_id=job.pk)
    job = job_run(job_id=job.pk)

    # then it finishes: the done chunks were not redone, nobody got two coupons
    assert job.status == Job.Status.FINISHED
    assert holders(series) == sorted(set(holders(series))) and len(holders(series)) == 10
    assert (job.processed, job.failed, job.attempts) == (10, 0, 2)
    assert calls[:3] == [4, 3, 2]  # the driver takes chunks newest first
    assert len(calls) == 5


def test_a_chunk_run_again_skips_customers_already_issued_by_the_job(make_series, org):
    # given a finished job
    series = make_series(allows_multiple_per_customer=True, max_per_customer=None)
    CustomerFactory.create_batch(5, org=org)
    job = run(series, BulkIssueSource(kind=BulkSource.ALL_LOYALTY), chunk_size=5)
    chunk = CouponIssueChunk.objects.get(job=job)

    # when its chunk is run again (as if its DONE status had been lost)
    CouponIssueChunk.objects.filter(pk=chunk.pk).update(status=CouponIssueChunk.Status.PENDING)
    bulk.coupon_issue_chunk_run(job_id=job.pk, chunk_id=chunk.pk)

    # then no customer got a second coupon from the job
    assert len(holders(series)) == 5
    chunk.refresh_from_db()
    assert (chunk.status, chunk.issued, chunk.failed) == (CouponIssueChunk.Status.DONE, 0, 0)


def test_an_empty_segment_finishes_at_once(make_series, org):
    series = make_series()

    job = run(series, BulkIssueSource(kind=BulkSource.ALL_LOYALTY))

    assert job.status == Job.Status.FINISHED and job.total == 0
    assert job.result["chunks"] == 0


def test_start_refuses_another_orgs_audience_and_label_and_an_ended_offer(
    make_series, org, other_org
):
    series = make_series()
    foreign = make_series(org=other_org, description="Theirs")
    their_audience = coupon_audience_create(series=foreign, name="Theirs")
    their_label = CustomerLabel.objects.create(org=other_org, name="VIP")
    jobs_before = Job.objects.count()

    with pytest.raises(CouponBulkIssueInvalidError):
        coupon_bulk_issue_start(
            series=series,
            source=BulkIssueSource(kind=BulkSource.AUDIENCE, audience_id=their_audience.pk),
        )
    with pytest.raises(CouponBulkIssueInvalidError):
        coupon_bulk_issue_start(
            series=series, source=BulkIssueSource(kind=BulkSource.LABEL, label_id=their_label.pk)
        )
    with pytest.raises(CouponBulkIssueInvalidError):
        coupon_bulk_issue_start(
            series=series,
            source=BulkIssueSource(
                kind=BulkSource.REGISTERED,
                registered_from=datetime.date(2024, 2, 1),
                registered_until=datetime.date(2024, 1, 1),
            ),
        )
    CouponSeries.objects.filter(pk=series.pk).update(
        valid_till=timezone.now() - datetime.timedelta(days=1)
    )
    with pytest.raises(CouponSeriesExpiredError):
        coupon_bulk_issue_start(
            series=refreshed(series), source=BulkIssueSource(kind=BulkSource.ALL_LOYALTY)
        )
    assert Job.objects.count() == jobs_before


def test_an_offer_ending_mid_job_reports_712(make_series, org):
    series = make_series()
    CustomerFactory.create_batch(2, org=org)
    job = coupon_bulk_issue_start(
        series=series, source=BulkIssueSource(kind=BulkSource.ALL_LOYALTY)
    )
    CouponSeries.objects.filter(pk=series.pk).update(
        valid_till=timezone.now() - datetime.timedelta(seconds=1)
    )

    job = job_run(job_id=job.pk)

    assert job.status == Job.Status.FINISHED and holders(series) == []
    assert {row["code"] for row in report_rows(job)} == {"712"}
