"""Bulk issuance: one coupon of a new offer to every loyalty customer of the org through the real
job (coupons.services.bulk: planned in chunks, each chunk a Celery task), timed from enqueue to
finished on a worker with one and with two processes (REDIS_URL; in-process without it), against
a raw COPY of as many issued coupon rows into the coupons table (rolled back)."""

from __future__ import annotations

import datetime
import time

from django.db.models import Count
from django.utils import timezone

from bench.context import ScenarioContext
from bench.data import BenchOrg, customer_rows, customers_create
from bench.jobs import uses_worker
from bench.registry import Scenario, scenario
from bench.sql import analyze, copy_rows, rolled_back
from coupons.models import CodeType, Coupon, CouponSeries, ExpiryStrategy
from coupons.services.bulk import BulkIssueSource, BulkSource, coupon_bulk_issue_start
from coupons.services.series import coupon_series_create
from loyalty_site.core.models import Job
from members.models import Customer


@scenario
class CouponBulkIssue(Scenario):
    name = "coupon_bulk_issue"
    title = "Bulk issuance (job, enqueue to finished, 1 and 2 workers) vs raw COPY"
    order = 60
    sizes = {
        "small": {"customers": 10_000, "processes": [1, 2]},
        "medium": {"customers": 100_000, "processes": [1, 2]},
        "default": {"customers": 1_000_000, "processes": [1, 2]},
    }

    def run(self, ctx: ScenarioContext) -> None:
        count = ctx.sizes["customers"]
        bench = ctx.org("coupon bulk issue")
        with ctx.timed("customers"):
            customers_create(bench, count=count)
            analyze(Customer)
        reference = count / _copy_seconds(bench, count)
        processes = ctx.sizes["processes"] if uses_worker() else [1]
        if not uses_worker():
            ctx.note("in-process (no REDIS_URL): one run, no worker processes to compare")
        for number in processes:
            workers = f"{number} worker process{'es' if number > 1 else ''}"
            series = _series(bench, f"Bench bulk offer ({workers})")

            def start(series: CouponSeries = series) -> Job:
                return coupon_bulk_issue_start(
                    series=series, source=BulkIssueSource(kind=BulkSource.ALL_LOYALTY)
                )

            run = ctx.run_job(start=start, processes=number)
            job = run.job
            ctx.figure(
                f"coupons issued, {workers}",
                count / run.seconds,
                "coupons/s",
                reference=reference,
                reference_name="raw COPY of issued coupon rows",
                samples=count,
            )
            ctx.detail(f"job seconds, {workers}", round(run.seconds, 3))
            issued = Coupon.objects.filter(series=series).aggregate(
                rows=Count("pk"), customers=Count("customer", distinct=True)
            )
            ctx.check(
                f"job finished without row errors ({workers})",
                job.status == Job.Status.FINISHED and job.failed == 0,
                f"{job.status}, {job.failed} failed rows, {job.error_message}",
            )
            ctx.check(
                f"one coupon per customer ({workers})",
                issued["rows"] == issued["customers"] == count,
                f"{issued['rows']} coupons for {issued['customers']} of {count} customers",
            )


def _series(bench: BenchOrg, description: str) -> CouponSeries:
    return coupon_series_create(
        org=bench.org,
        actor=bench.till,
        values={
            "description": description,
            "code_type": CodeType.UNIQUE,
            "code_length": 10,
            "valid_till": timezone.now() + datetime.timedelta(days=365),
            "expiry_strategy": ExpiryStrategy.DAYS,
            "expiry_value": 30,
            "sends_sms": False,
        },
    ).series


def _copy_seconds(bench: BenchOrg, count: int) -> float:
    """Seconds to COPY one issued coupon per customer into the coupons table (foreign keys and
    indexes as any writer pays them), rolled back."""
    series = _series(bench, "Bench reference offer")
    now = timezone.now()
    valid_till = now + datetime.timedelta(days=30)
    rows = [
        (customer_id, f"REF{number:012d}", now, valid_till)
        for number, (customer_id, _) in enumerate(customer_rows(bench))
    ][:count]
    started = time.perf_counter()
    with rolled_back():
        copy_rows(
            Coupon,
            fields=["customer", "code", "issued_at", "valid_till"],
            rows=rows,
            constants={
                "org": bench.org.pk,
                "series": series.pk,
                "source": Coupon.Source.GENERATED,
            },
        )
    return time.perf_counter() - started
