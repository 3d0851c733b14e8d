"""Bulk issuance on PostgreSQL: the COPY path and its fallback on a code collision, and workers
sharing one job (real threads, SKIP LOCKED, committed transactions)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from coupons.exceptions import CustomerIssualLimitReachedError
from coupons.models import Coupon, CouponIssueChunk, CouponSeries
from coupons.services import bulk
from coupons.services.bulk import BulkIssueSource, BulkSource, coupon_bulk_issue_start, writes
from coupons.services.issue import coupon_issue
from loyalty_site.core.jobs import job_run
from loyalty_site.core.models import Job
from tests.coupons.factories import CouponFactory
from tests.members.factories import CustomerFactory


def run_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(index)` in `count` threads released together; their results (or exceptions)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:  # reported in the results, asserted by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture
def queued_only(monkeypatch):
    """Jobs are created but not run on commit (these tests commit, and tasks run eagerly)."""
    monkeypatch.setattr("loyalty_site.core.jobs.enqueue_on_commit", lambda *args, **kwargs: None)


def drain(job_id: int) -> list[int]:
    """Take chunks of the job until none is left; the sequences this worker did."""
    done = []
    while (chunk := bulk.coupon_issue_chunk_run(job_id=job_id)) is not None:
        done.append(chunk.sequence)
    return done


@pytest.mark.django_db
def test_copy_falls_back_when_a_code_collides(postgres_only, make_series, org, monkeypatch):
    # given a coupon of another offer holding a code the generator is about to draw
    series = make_series()
    taken = CouponFactory(series=make_series(description="Other"), code="TAKEN123")
    customers = CustomerFactory.create_batch(4, org=org)
    original = writes._fresh_codes
    draws = []

    def first_draw_collides(shape, count, reserved):
        codes = original(shape, count, reserved)
        if not draws:
            codes[1] = "TAKEN123"
        draws.append(count)
        return codes

    monkeypatch.setattr(writes, "_fresh_codes", first_draw_collides)

    # when the offer is bulk issued
    job = coupon_bulk_issue_start(
        series=series, source=BulkIssueSource(kind=BulkSource.ALL_LOYALTY), chunk_size=10
    )
    job = job_run(job_id=job.pk)

    # then the COPY was refused, the rows went in with ON CONFLICT and one new code was drawn
    assert job.status == Job.Status.FINISHED and job.failed == 0
    assert draws == [4, 1]
    issued = Coupon.objects.filter(series=series)
    assert sorted(issued.values_list("customer_id", flat=True)) == sorted(c.pk for c in customers)
    assert "TAKEN123" not in set(issued.values_list("code", flat=True))
    taken.refresh_from_db()
    assert taken.series_id != series.pk and taken.customer_id is None
    assert CouponSeries.objects.get(pk=series.pk).num_codes == 4


@pytest.mark.django_db(transaction=True)
def test_four_workers_share_one_job_and_issue_each_customer_once(
    postgres_only, queued_only, make_series, org
):
    # given a planned job of 40 chunks
    series = make_series()
    customers = CustomerFactory.create_batch(200, org=org)
    job = coupon_bulk_issue_start(
        series=series, source=BulkIssueSource(kind=BulkSource.ALL_LOYALTY), chunk_size=5
    )
    bulk.coupon_bulk_issue_plan(job=job)

    # when four workers take chunks at the same time
    results = run_threads(4, lambda index: drain(job.pk))

    # then every chunk was done by exactly one worker and every customer got one coupon
    assert not [r for r in results if isinstance(r, Exception)], results
    sequences = [sequence for result in results for sequence in result]
    assert sorted(sequences) == list(range(1, 41))
    assert sum(1 for result in results if result) >= 2
    holders = Counter(Coupon.objects.filter(series=series).values_list("customer_id", flat=True))
    assert set(holders) == {c.pk for c in customers} and set(holders.values()) == {1}
    job.refresh_from_db()
    assert (job.processed, job.failed) == (200, 0)
    assert CouponSeries.objects.get(pk=series.pk).num_issued == 200
    assert not CouponIssueChunk.objects.filter(job=job, status=CouponIssueChunk.Status.PENDING)


@pytest.mark.django_db(transaction=True)
def test_limit_holds_across_workers(postgres_only, queued_only, make_series, org):
    series = make_series(max_issuals=37)
    CustomerFactory.create_batch(100, org=org)
    job = coupon_bulk_issue_start(
        series=series, source=BulkIssueSource(kind=BulkSource.ALL_LOYALTY), chunk_size=4
    )
    bulk.coupon_bulk_issue_plan(job=job)

    results = run_threads(4, lambda index: drain(job.pk))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Coupon.objects.filter(series=series).count() == 37
    assert CouponSeries.objects.get(pk=series.pk).num_issued == 37
    job.refresh_from_db()
    assert (job.processed, job.failed) == (100, 63)


@pytest.mark.django_db(transaction=True)
def test_single_issuals_racing_a_bulk_job_keep_one_per_customer(
    postgres_only, queued_only, make_series, org
):
    # given an offer of one coupon per customer, bulk issued while tills issue it one by one
    series = make_series(allows_multiple_per_customer=False)
    customers = CustomerFactory.create_batch(60, org=org)
    job = coupon_bulk_issue_start(
        series=series, source=BulkIssueSource(kind=BulkSource.ALL_LOYALTY), chunk_size=6
    )
    bulk.coupon_bulk_issue_plan(job=job)

    def work(index: int) -> list[Any]:
        if index < 2:
            return drain(job.pk)
        outcomes = []
        for customer in customers[index - 2 :: 2]:
            try:
                coupon_issue(series=series, customer=customer, actor=None)
                outcomes.append("issued")
            except CustomerIssualLimitReachedError:
                outcomes.append("limit")
        return outcomes

    results = run_threads(4, work)

    # then nobody holds two coupons, whoever came first
    assert not [r for r in results if isinstance(r, Exception)], results
    holders = Counter(Coupon.objects.filter(series=series).values_list("customer_id", flat=True))
    assert len(holders) == 60 and set(holders.values()) == {1}
    assert CouponSeries.objects.get(pk=series.pk).num_issued == 60
