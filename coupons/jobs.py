"""Bulk coupon jobs run by loyalty_site.core.jobs: generating codes for an offer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from coupons.models import CouponSeries
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
