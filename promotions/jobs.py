"""Bulk promotion jobs run by loyalty_site.core.jobs: generating promo codes for a CODE
promotion and uploading them from a CSV (promotions.services.cart.codes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from loyalty_site.core.jobs import BatchOutcome, JobHandler, job_handler
from loyalty_site.core.models import Job
from promotions.models import CartPromotion
from promotions.services.cart import codes


@job_handler(codes.GENERATE_KIND)
class PromoCodesGenerateJob(JobHandler):
    """params {"promotion_id", "count", "length", "prefix", "is_alphanumeric"}: generate in
    batches; each batch commits with the cursor (codes so far), so a resume does not redo it."""

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
        codes.promo_codes_generate(
            promotion=CartPromotion.objects.get(pk=job.params["promotion_id"]),
            count=size,
            length=int(job.params.get("length", 8)),
            prefix=job.params.get("prefix", ""),
            is_alphanumeric=bool(job.params.get("is_alphanumeric", True)),
            job=job,
        )
        return BatchOutcome(processed=size)


@job_handler(codes.UPLOAD_KIND)
class PromoCodesUploadJob(JobHandler):
    """params {"promotion_id", "file", "file_name"}: the CSV's codes in batches of 1,000 rows;
    the cursor is the last row number done; bad rows go to the error report."""

    batch_size = 1000
    error_report_columns = codes.UPLOAD_ERROR_COLUMNS

    def total(self, job: Job) -> int | None:
        return sum(1 for _row in codes.upload_rows(job=job))

    def batches(self, job: Job, after: str) -> Iterator[tuple[list[Any], str]]:
        return codes.upload_batches(job=job, after=after, size=self.batch_size)

    def process(self, job: Job, rows: list[Any]) -> BatchOutcome:
        return codes.upload_process(job=job, rows=rows)

    def finish(self, job: Job) -> dict[str, Any]:
        return codes.upload_summary(job=job)
