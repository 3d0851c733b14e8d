"""Bulk coupon jobs run by loyalty_site.core.jobs: generating codes for an offer, uploads (a CSV
read in batches, each row issued on its own) and bulk issuance (chunks shared by workers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from coupons.models import CouponSeries, CouponUpload
from coupons.services import bulk, uploads
from coupons.services.codes import coupon_codes_generate
from loyalty_site.core.jobs import BatchOutcome, JobHandler, job_handler
from loyalty_site.core.models import Job

CODE_GENERATION_KIND = "coupon_codes_generate"


@job_handler(CODE_GENERATION_KIND)
class CouponCodesGenerateJob(JobHandler):
    """params {"series_id", "count"}: generate `count` codes in batches; each batch commits with
    the job's cursor (codes generated so far), so a resumed job does not generate twice."""

    batch_size = 50_000

    def total(self, job: Job) -> int | None:
        return int(job.params["count"])

    def batches(self, job: Job, after: str) -> Iterator[tuple[list[Any], str]]:
        done = int(after) if after else 0
        count = int(job.params["count"])
        while done < count:
            size = min(self.batch_size, count - done)
            done += size
            yield [size], str(done)

    def process(self, job: Job, rows: list[Any]) -> BatchOutcome:
        (size,) = rows
        series = CouponSeries.objects.get(pk=job.params["series_id"])
        coupon_codes_generate(series=series, count=size)
        return BatchOutcome(processed=size)


@job_handler(uploads.UPLOAD_KIND)
class CouponUploadJob(JobHandler):
    """An uploaded CSV (coupons.services.uploads), streamed in batches of rows; the cursor is the
    last row number done. Each row is issued (or its code added) on its own; a bad row lands in
    the error report with its row number and the others go on."""

    batch_size = 250
    error_report_columns = ("customer_identifier", "coupon_code")

    def _upload(self, job: Job) -> CouponUpload:
        return CouponUpload.objects.get(job=job)

    def total(self, job: Job) -> int | None:
        return uploads.coupon_upload_row_count(upload=self._upload(job))

    def batches(self, job: Job, after: str) -> Iterator[tuple[list[Any], str]]:
        return uploads.coupon_upload_batches(
            upload=self._upload(job), after=after, size=self.batch_size
        )

    def process(self, job: Job, rows: list[Any]) -> BatchOutcome:
        return uploads.coupon_upload_process(job=job, rows=rows)

    def finish(self, job: Job) -> dict[str, Any]:
        return uploads.coupon_upload_summary(job=job)


@job_handler(bulk.BULK_ISSUE_KIND)
class CouponBulkIssueJob(JobHandler):
    """One coupon to each customer of an audience or segment (coupons.services.bulk). The work
    is fanned out over chunks that every worker may take; this run plans them, queues a task per
    chunk, takes chunks itself and returns when all are done, so the runner then finishes the
    job. It yields no batches: each chunk commits its own progress and row errors."""

    error_report_columns = ("customer_id", "mobile", "email", "external_id")

    def batches(self, job: Job, after: str) -> Iterator[tuple[list[Any], str]]:
        bulk.coupon_bulk_issue_run(job=job)
        return iter(())

    def finish(self, job: Job) -> dict[str, Any]:
        return bulk.coupon_bulk_issue_summary(job=job)
