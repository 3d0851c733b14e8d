"""Benchmark bulk issuance against PostgreSQL COPY.

Creates N customers (set-based) in a throwaway org, runs a real bulk issue job end to end (on the
Celery workers when a broker is configured, otherwise in this process), checks that every
customer got exactly one coupon, then COPYs the same number of coupon rows into a temporary copy
of the coupons table (same columns, defaults and indexes), into a bare temporary table and into
the coupons table itself (foreign keys checked, rolled back), prints the rates and the ratios, and
deletes everything it created.

    python manage.py coupon_bulk_issue_benchmark --customers 200000
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from coupons.models import CodeType, Coupon, CouponIssueChunk, CouponSeries, ExpiryStrategy
from coupons.services.bulk import (
    COPY_COLUMNS,
    DEFAULT_CHUNK_SIZE,
    BulkIssueSource,
    BulkSource,
    coupon_bulk_issue_start,
)
from coupons.services.codes import CodeShape, alphabet_for
from coupons.services.series import coupon_series_create
from loyalty_site.celery import app as celery_app
from loyalty_site.core.models import Job, JobRowError
from members.models import Customer, Org

CUSTOMER_BATCH = 10_000
TARGET_RATIO = 0.5


class Command(BaseCommand):
    help = "Time a bulk coupon issue job against a raw PostgreSQL COPY of as many coupon rows."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=200_000)
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
        parser.add_argument(
            "--timeout", type=float, default=1800, help="Seconds to wait for the job."
        )
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="Run the job in this process even when a broker is configured.",
        )
        parser.add_argument("--skip-copy", action="store_true", help="Only run the job.")
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (set DATABASE_URL).")
        count = options["customers"]
        if count < 1:
            raise CommandError("--customers must be positive")
        if options["in_process"]:
            celery_app.conf.task_always_eager = True
        org = Org.objects.create(name=f"benchmark-{uuid.uuid4().hex[:12]}", time_zone="UTC")
        try:
            figures = self._run(org, count, options)
        finally:
            self._clean_up(org)
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2, sort_keys=True))
        else:
            self._print(figures)
        if figures["job_status"] != Job.Status.FINISHED or not figures["exactly_one_each"]:
            raise CommandError("The bulk issue job did not issue exactly one coupon per customer")

    # Steps ------------------------------------------------------------------------------------
    def _run(self, org: Org, count: int, options: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        self._create_customers(org, count)
        setup_seconds = time.perf_counter() - started
        series = coupon_series_create(
            org=org,
            actor=None,
            values={
                "description": "Benchmark offer",
                "code_type": CodeType.UNIQUE,
                "code_length": 10,
                "valid_till": timezone.now() + datetime.timedelta(days=365),
                "expiry_strategy": ExpiryStrategy.DAYS,
                "expiry_value": 30,
                "sends_sms": False,
            },
        ).series
        eager = bool(celery_app.conf.task_always_eager)
        started = time.perf_counter()
        job = coupon_bulk_issue_start(
            series=series,
            source=BulkIssueSource(kind=BulkSource.ALL_LOYALTY),
            chunk_size=options["chunk_size"],
        )
        job = self._wait(job, options["timeout"])
        job_seconds = time.perf_counter() - started
        figures: dict[str, Any] = {
            "customers": count,
            "setup_seconds": round(setup_seconds, 3),
            "runs_on": "this process" if eager else "celery workers",
            "job_id": job.pk,
            "job_status": job.status,
            "job_seconds": round(job_seconds, 3),
            "job_rate_per_second": round(count / job_seconds),
            "chunks": CouponIssueChunk.objects.filter(job=job).count(),
            "chunks_by_worker": (job.result or {}).get("chunks_by_worker", {}),
            **self._verify(series, job, count),
        }
        if job.started_at and job.finished_at:
            worked = (job.finished_at - job.started_at).total_seconds()
            figures["job_run_seconds"] = round(worked, 3)
        if not options["skip_copy"]:
            figures.update(self._copy_rates(org, series, count))
            figures["ratio_job_to_copy"] = round(
                figures["job_rate_per_second"] / figures["copy_rate_per_second"], 3
            )
            figures["ratio_job_to_bare_copy"] = round(
                figures["job_rate_per_second"] / figures["bare_copy_rate_per_second"], 3
            )
            figures["ratio_job_to_table_copy"] = round(
                figures["job_rate_per_second"] / figures["table_copy_rate_per_second"], 3
            )
            figures["target_ratio"] = TARGET_RATIO
        return figures

    def _create_customers(self, org: Org, count: int) -> None:
        now = timezone.now()
        prefix = f"{org.pk:06d}"[-6:]
        for start in range(0, count, CUSTOMER_BATCH):
            Customer.objects.bulk_create(
                [
                    Customer(
                        org=org,
                        mobile=f"9{prefix}{number:08d}",
                        registered_at=now,
                        first_name="Bench",
                        last_name=str(number),
                    )
                    for number in range(start, min(start + CUSTOMER_BATCH, count))
                ],
                batch_size=CUSTOMER_BATCH,
            )

    def _wait(self, job: Job, timeout: float) -> Job:
        deadline = time.monotonic() + timeout
        while True:
            job.refresh_from_db()
            if job.status in (Job.Status.FINISHED, Job.Status.FAILED):
                return job
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Job {job.pk} is still {job.status} after {timeout:.0f} s: are workers "
                    "running? (or use --in-process)"
                )
            time.sleep(0.05)

    def _verify(self, series: CouponSeries, job: Job, count: int) -> dict[str, Any]:
        coupons = Coupon.objects.filter(series=series, issue_job=job)
        issued = coupons.count()
        distinct = coupons.values("customer_id").distinct().count()
        without = (
            Customer.objects.filter(org_id=series.org_id).exclude(coupons__series=series).count()
        )
        return {
            "coupons_issued": issued,
            "distinct_customers": distinct,
            "customers_without_coupon": without,
            "row_errors": job.failed,
            "exactly_one_each": issued == distinct == count and without == 0,
        }

    def _copy_rates(self, org: Org, series: CouponSeries, count: int) -> dict[str, Any]:
        """COPY `count` coupon rows (the job's columns and row format) into a temporary table like
        the coupons table (defaults, constraints and indexes: the figure the target is set
        against), into a bare temporary table, and into the coupons table itself with its foreign
        keys checked, rolled back (what any writer of these rows pays)."""
        table = Coupon._meta.db_table
        columns = ", ".join(COPY_COLUMNS)
        now = timezone.now().isoformat()
        valid = (timezone.now() + datetime.timedelta(days=30)).isoformat()
        shape = CodeShape(alphabet=alphabet_for(is_alphanumeric=True), random_length=12)
        customers = Customer.objects.filter(org=org).order_by("pk").values_list("pk", flat=True)
        payload = "".join(
            f"{now}\t{now}\t{org.pk}\t{series.pk}\t{code}\tf\tGENERATED\t{customer}\t{now}\t"
            f"{valid}\t0\t\\N\t\\N\t{{}}\n"
            for customer, code in zip(customers.iterator(), shape.generate(count), strict=True)
        ).encode()
        temp_like = f"CREATE TEMP TABLE bench_coupons (LIKE {table} INCLUDING ALL)"
        temp_bare = f"CREATE TEMP TABLE bench_coupons AS SELECT {columns} FROM {table} WITH NO DATA"  # noqa: S608
        # (name, statement before, target table, statement after: inside the timing)
        targets = (
            ("copy", temp_like, "bench_coupons", None),
            ("bare_copy", temp_bare, "bench_coupons", None),
            # The deferred foreign key checks run when the constraints are made immediate, as
            # they would at commit.
            ("table_copy", None, table, "SET CONSTRAINTS ALL IMMEDIATE"),
        )
        results = {}
        for name, before, target, after in targets:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    if before:
                        cursor.execute(before)
                    started = time.perf_counter()
                    with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
                        copy.write(payload)
                    if after:
                        cursor.execute(after)
                    seconds = time.perf_counter() - started
                transaction.set_rollback(True)
            results[f"{name}_seconds"] = round(seconds, 3)
            results[f"{name}_rate_per_second"] = round(count / seconds)
        return results

    def _clean_up(self, org: Org) -> None:
        """Delete what the run created, set-based (the ORM would load every row)."""
        jobs = list(Job.objects.filter(org=org).values_list("pk", flat=True))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {Coupon._meta.db_table} WHERE org_id = %s", [org.pk])  # noqa: S608
            cursor.execute(
                f"DELETE FROM {JobRowError._meta.db_table} WHERE job_id = ANY(%s)",  # noqa: S608
                [jobs],
            )
            cursor.execute(
                f"DELETE FROM {CouponIssueChunk._meta.db_table} WHERE job_id = ANY(%s)",  # noqa: S608
                [jobs],
            )
            cursor.execute(
                f"DELETE FROM {Customer._meta.db_table} WHERE org_id = %s",  # noqa: S608
                [org.pk],
            )
        Org.objects.filter(pk=org.pk).delete()

    def _print(self, figures: dict[str, Any]) -> None:
        write = self.stdout.write
        write(f"customers:            {figures['customers']:,}")
        write(
            f"bulk issue job:       {figures['job_seconds']:.2f} s = "
            f"{figures['job_rate_per_second']:,} coupons/s ({figures['runs_on']}, "
            f"{figures['chunks']} chunks, {len(figures['chunks_by_worker'])} worker(s))"
        )
        write(
            f"check:                {figures['coupons_issued']:,} coupons, "
            f"{figures['distinct_customers']:,} customers, "
            f"{figures['customers_without_coupon']} without a coupon"
        )
        if "copy_rate_per_second" in figures:
            write(
                f"COPY, coupons-like temp table (indexes): {figures['copy_seconds']:.2f} s = "
                f"{figures['copy_rate_per_second']:,} rows/s"
            )
            write(
                f"COPY, bare temp table (no indexes):      {figures['bare_copy_seconds']:.2f} s = "
                f"{figures['bare_copy_rate_per_second']:,} rows/s"
            )
            write(
                f"COPY, the coupons table (FKs checked):   {figures['table_copy_seconds']:.2f} s = "
                f"{figures['table_copy_rate_per_second']:,} rows/s (rolled back)"
            )
            write(
                f"ratio job / COPY:     {figures['ratio_job_to_copy']:.2f} (target >= "
                f"{TARGET_RATIO}); job / bare COPY: {figures['ratio_job_to_bare_copy']:.2f}; "
                f"job / coupons-table COPY: {figures['ratio_job_to_table_copy']:.2f}"
            )
