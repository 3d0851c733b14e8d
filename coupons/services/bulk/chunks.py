"""The bulk issue job: starting it, planning its chunks, issuing one chunk in one transaction,
and the run that shares the chunks with every worker (see the package docstring)."""

from __future__ import annotations

import datetime
import os
import socket
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone

from coupons.exceptions import (
    CouponBulkIssueInvalidError,
    CouponSeriesExpiredError,
    SeriesIssualLimitReachedError,
)
from coupons.models import CouponIssueChunk, CouponSeries
from coupons.services.bulk.rules import (
    ChunkContext,
    chunk_candidates,
    claim_issuals,
    reason_message,
)
from coupons.services.bulk.sources import (
    BulkIssueSource,
    bulk_issue_customers,
    bulk_issue_source_check,
)
from coupons.services.bulk.writes import write_coupons
from coupons.services.issue import coupon_issual_threshold_notify
from loyalty_site.core.jobs import job_create
from loyalty_site.core.models import Job, JobRowError
from loyalty_site.core.transactions import enqueue_on_commit

BULK_ISSUE_KIND = "coupon_bulk_issue"
DEFAULT_CHUNK_SIZE = 10_000
MAX_CHUNK_SIZE = 100_000
POLL_SECONDS = 0.25
MAX_ROW_NUMBER = 2**31 - 1  # JobRowError.row_number is a 32-bit integer
ERROR_BATCH_SIZE = 5000
STALL_TIMEOUT = datetime.timedelta(seconds=getattr(settings, "JOBS_STALE_AFTER_SECONDS", 600))


class BulkIssueStalledError(RuntimeError):
    """Chunks held by other workers made no progress for too long (the job fails; retry it)."""


@transaction.atomic
def coupon_bulk_issue_start(
    *,
    series: CouponSeries,
    source: BulkIssueSource,
    started_by: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Job:
    """Queue a job issuing one coupon of `series` to each customer of `source` (it starts when
    the transaction commits). Raises CouponBulkIssueInvalidError (400) and
    CouponSeriesExpiredError (712) before any job exists."""
    bulk_issue_source_check(series, source)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise CouponBulkIssueInvalidError(
            f"The chunk size must be 1 to {MAX_CHUNK_SIZE}", field="chunk_size"
        )
    if series.valid_till is not None and series.valid_till <= timezone.now():
        raise CouponSeriesExpiredError(f"Offer {series.pk} has ended")
    return job_create(
        kind=BULK_ISSUE_KIND,
        org=series.org,
        params={"series_id": series.pk, "source": source.to_params(), "chunk_size": chunk_size},
        started_by=started_by,
    )


def coupon_bulk_issue_plan(*, job: Job) -> int:
    """Split the job's customers into id-range chunks of `chunk_size` customers, once; returns
    the number of chunks and sets the job's total. Streams: one query per chunk boundary."""
    with transaction.atomic():
        # One planner per job; a second one (a resumed job) finds the chunks and stops here.
        job = Job.objects.select_for_update().get(pk=job.pk)
        planned = CouponIssueChunk.objects.filter(job=job).count()
        if planned:
            return planned
        series = CouponSeries.objects.select_related("org").get(pk=job.params["series_id"])
        size = int(job.params.get("chunk_size") or DEFAULT_CHUNK_SIZE)
        source = BulkIssueSource.from_params(job.params["source"])
        ids = (
            bulk_issue_customers(org_id=series.org_id, tz=series.org.tzinfo, source=source)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        chunks: list[CouponIssueChunk] = []
        last_end = 0
        while True:
            rest = ids.filter(pk__gt=last_end)
            boundary = list(rest[size - 1 : size])
            if boundary:
                end_id, count = boundary[0], size
            else:
                tail = rest.aggregate(end=Max("pk"), count=Count("pk"))
                if not tail["count"]:
                    break
                end_id, count = tail["end"], tail["count"]
            chunks.append(
                CouponIssueChunk(
                    job=job,
                    sequence=len(chunks) + 1,
                    start_id=last_end + 1,
                    end_id=end_id,
                    size=count,
                )
            )
            last_end = end_id
            if count < size:
                break
        CouponIssueChunk.objects.bulk_create(chunks, batch_size=1000)
        Job.objects.filter(pk=job.pk).update(
            total=sum(chunk.size for chunk in chunks), updated_at=timezone.now()
        )
    return len(chunks)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _share_lock_series(series_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {CouponSeries._meta.db_table} WHERE id = %s FOR KEY SHARE",  # noqa: S608
                [series_id],
            )


def _record_errors(
    context: ChunkContext,
    failures: Iterable[tuple[int, int, str]],
    identifiers: dict[int, tuple[str | None, str | None, str | None]],
) -> int:
    rows = []
    for customer, code, message in failures:
        mobile, email, external_id = identifiers.get(customer, (None, None, None))
        rows.append(
            JobRowError(
                job_id=context.job.pk,
                row_number=customer if customer <= MAX_ROW_NUMBER else None,
                row_key=str(customer),
                code=str(code),
                message=message,
                row_data={
                    "customer_id": customer,
                    "mobile": mobile or "",
                    "email": email or "",
                    "external_id": external_id or "",
                },
            )
        )
    JobRowError.objects.bulk_create(rows, batch_size=ERROR_BATCH_SIZE)
    return len(rows)


def _issue_chunk(context: ChunkContext) -> None:
    series, chunk = context.series, context.chunk
    _share_lock_series(series.pk)
    rows = chunk_candidates(context)
    identifiers = {row[0]: row[2:] for row in rows}
    failures: list[tuple[int, int, str]] = [
        (customer, reason, reason_message(series, reason))
        for customer, reason, *_identifiers in rows
        if reason is not None
    ]
    eligible = [customer for customer, reason, *_identifiers in rows if reason is None]
    if series.valid_till is not None and series.valid_till <= context.now:
        message = reason_message(series, CouponSeriesExpiredError.code)
        failures += [(customer, CouponSeriesExpiredError.code, message) for customer in eligible]
        eligible = []
    granted = claim_issuals(series, len(eligible))
    over_limit = eligible[granted:]
    if over_limit:
        message = reason_message(series, SeriesIssualLimitReachedError.code)
        failures += [(c, SeriesIssualLimitReachedError.code, message) for c in over_limit]
    written = write_coupons(context, eligible[:granted])
    failures += written.failures
    failed = _record_errors(context, failures, identifiers)
    # Counters: the claim already counted a limited offer's issuals; give back what was unused.
    delta = written.issued - granted if series.max_issuals is not None else written.issued
    if delta or written.generated or written.uploaded_taken or written.issued:
        CouponSeries.objects.filter(pk=series.pk).update(
            num_issued=F("num_issued") + delta,
            num_codes=F("num_codes") + written.generated,
            num_uploaded_non_issued=F("num_uploaded_non_issued") - written.uploaded_taken,
            latest_issued_at=context.now,
            updated_at=context.now,
        )
    if written.issued and series.issual_limit_notify_remaining is not None:
        series.num_issued = CouponSeries.objects.values_list("num_issued", flat=True).get(
            pk=series.pk
        )
        coupon_issual_threshold_notify(series=series, now=context.now)
    finished = timezone.now()
    chunk.status = CouponIssueChunk.Status.DONE
    chunk.issued = written.issued
    chunk.failed = failed
    chunk.worker = _worker_name()[:255]
    chunk.finished_at = finished
    chunk.save(update_fields=["status", "issued", "failed", "worker", "finished_at", "updated_at"])
    Job.objects.filter(pk=context.job.pk).update(
        processed=F("processed") + written.issued + failed,
        failed=F("failed") + failed,
        heartbeat_at=finished,
        updated_at=finished,
    )


def coupon_issue_chunk_run(
    *, job_id: int, chunk_id: int | None = None, newest_first: bool = False
) -> CouponIssueChunk | None:
    """Claim a pending chunk of the job (`chunk_id`, or any: oldest first, or newest first) with
    FOR UPDATE SKIP LOCKED and issue it in one transaction. None when nothing was claimable:
    every chunk is done or held by another worker."""
    with transaction.atomic():
        pending = CouponIssueChunk.objects.select_for_update(skip_locked=True).filter(
            job_id=job_id, status=CouponIssueChunk.Status.PENDING
        )
        if chunk_id is not None:
            pending = pending.filter(pk=chunk_id)
        chunk = pending.order_by("-sequence" if newest_first else "sequence").first()
        if chunk is None:
            return None
        job = Job.objects.get(pk=job_id)
        series = CouponSeries.objects.select_related("org").get(pk=job.params["series_id"])
        context = ChunkContext(
            job=job,
            chunk=chunk,
            series=series,
            source=BulkIssueSource.from_params(job.params["source"]),
            now=timezone.now(),
        )
        _issue_chunk(context)
    return chunk


def coupon_bulk_issue_run(
    *,
    job: Job,
    stall_timeout: datetime.timedelta = STALL_TIMEOUT,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Plan the job's chunks (once), queue a task per pending chunk, and take chunks in this
    worker too (newest first, while the tasks start from the oldest) until every chunk is done;
    chunks held by other workers are waited for. Raises BulkIssueStalledError when those make no
    progress for `stall_timeout` (a worker that died released its chunk: it is taken here)."""
    from coupons.tasks import coupon_issue_chunk_task

    coupon_bulk_issue_plan(job=job)
    pending = list(
        CouponIssueChunk.objects.filter(job_id=job.pk, status=CouponIssueChunk.Status.PENDING)
        .order_by("sequence")
        .values_list("pk", flat=True)
    )
    for chunk_id in pending:
        enqueue_on_commit(coupon_issue_chunk_task, job_id=job.pk, chunk_id=chunk_id)
    last_done, last_progress = -1, time.monotonic()
    while True:
        if coupon_issue_chunk_run(job_id=job.pk, newest_first=True) is not None:
            continue
        counts = CouponIssueChunk.objects.filter(job_id=job.pk).aggregate(
            left=Count("pk", filter=models.Q(status=CouponIssueChunk.Status.PENDING)),
            done=Count("pk", filter=models.Q(status=CouponIssueChunk.Status.DONE)),
        )
        if not counts["left"]:
            return
        if counts["done"] != last_done:
            last_done, last_progress = counts["done"], time.monotonic()
        elif time.monotonic() - last_progress > stall_timeout.total_seconds():
            raise BulkIssueStalledError(
                f"{counts['left']} chunk(s) held by other workers made no progress for "
                f"{stall_timeout}"
            )
        time.sleep(poll_seconds)


def coupon_bulk_issue_summary(*, job: Job) -> dict[str, Any]:
    """Extra keys of the finished job's result: coupons issued, chunks, chunks per worker."""
    chunks = CouponIssueChunk.objects.filter(job=job)
    totals = chunks.aggregate(issued=Sum("issued"), count=Count("pk"))
    workers = {
        worker: count
        for worker, count in chunks.order_by()
        .values_list("worker")
        .annotate(count=Count("pk"))
        .values_list("worker", "count")
    }
    return {
        "coupons_issued": totals["issued"] or 0,
        "chunks": totals["count"],
        "chunks_by_worker": workers,
    }
