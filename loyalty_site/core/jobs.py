"""The bulk job runner: a registry of job handlers and the resumable, batched run loop.

A handler is a class registered with `@job_handler("kind")` (put it in `<app>/jobs.py`; those
modules are imported on first use). It yields batches from a keyset cursor and processes them:

    total(job) -> int | None                     optional row count for the progress bar
    batches(job, after) -> Iterator[(rows, cursor)]  rows after `after` ("" at start), in order,
                                                  each batch with the cursor of its last row
    process(job, rows) -> BatchOutcome           or implement process_row(job, row) instead
    finish(job) -> dict                          optional extra keys for the result summary

`job_run` processes each batch and records its progress (counters, cursor, heartbeat, row errors)
in ONE transaction, so a crash resumes after the last committed batch without redoing it. The
`attempts` counter is the claim: a worker writes only while the job is RUNNING with its attempt.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from loyalty_site.core.exceptions import DomainError
from loyalty_site.core.models import Job, JobRowError
from loyalty_site.core.transactions import enqueue_on_commit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from members.models import Org

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
# A RUNNING job whose heartbeat is older than this is presumed dead (its worker crashed); a
# QUEUED job this old lost its message. Keep one batch well below this.
DEFAULT_STALE_AFTER = timedelta(seconds=getattr(settings, "JOBS_STALE_AFTER_SECONDS", 600))
# Errors worth another attempt (the task retries them with backoff); anything else fails the job.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError,)

ERROR_REPORT_COLUMNS = ("row_number", "row_key", "code", "message")


class UnknownJobKindError(DomainError):
    code = 400
    message = "Unknown job kind"


class JobClaimLostError(Exception):
    """Another worker took the job over (or it was requeued); this worker must stop writing."""


@dataclass(frozen=True)
class RowError:
    """One failed input row; becomes a JobRowError and a line of the error report."""

    message: str
    code: str = ""
    row_number: int | None = None
    row_key: str = ""
    row_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchOutcome:
    processed: int
    failed: int = 0
    row_errors: list[RowError] = field(default_factory=list)


class JobHandler:
    """Base class for handlers. Subclasses implement `batches` and `process` or `process_row`."""

    # For the handler's own batches(): queryset_batches(..., size=self.batch_size).
    batch_size: int = DEFAULT_BATCH_SIZE
    # Order of the row_data columns in the error report (e.g. the uploaded file's header).
    error_report_columns: tuple[str, ...] = ()

    def total(self, job: Job) -> int | None:
        return None

    def batches(self, job: Job, after: str) -> Iterator[tuple[list[Any], str]]:
        raise NotImplementedError

    def process(self, job: Job, rows: list[Any]) -> BatchOutcome:
        """Apply `process_row` to each row in a savepoint; a DomainError fails only that row."""
        errors: list[RowError] = []
        for row in rows:
            try:
                with transaction.atomic():
                    self.process_row(job, row)
            except DomainError as exc:
                errors.append(self.row_error(row, exc))
        return BatchOutcome(processed=len(rows), failed=len(errors), row_errors=errors)

    def process_row(self, job: Job, row: Any) -> None:
        raise NotImplementedError

    def row_error(self, row: Any, exc: DomainError) -> RowError:
        """Describe a failed row for the error report; override to add row_number/row_data."""
        return RowError(
            message=exc.message, code=str(exc.code), row_key=str(getattr(row, "pk", ""))
        )

    def finish(self, job: Job) -> dict[str, Any]:
        return {}


_registry: dict[str, type[JobHandler]] = {}
_discovered = False


HandlerClass = TypeVar("HandlerClass", bound=type[JobHandler])


def job_handler(kind: str) -> Callable[[HandlerClass], HandlerClass]:
    """Class decorator registering a handler for jobs of `kind`."""

    def register(handler_class: HandlerClass) -> HandlerClass:
        existing = _registry.get(kind)
        if existing is not None and _class_path(existing) != _class_path(handler_class):
            raise ValueError(f"Job kind {kind!r} is already handled by {_class_path(existing)}")
        _registry[kind] = handler_class
        return handler_class

    return register


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def job_handler_get(*, kind: str) -> JobHandler:
    """A fresh handler for `kind`. Raises UnknownJobKindError."""
    global _discovered
    if kind not in _registry and not _discovered:
        # Handlers live in each app's jobs.py; a worker process has imported none of them yet.
        autodiscover_modules("jobs")
        _discovered = True
    try:
        return _registry[kind]()
    except KeyError:
        raise UnknownJobKindError(f"Unknown job kind {kind!r}", field="kind")


def queryset_batches(
    queryset: QuerySet, *, after: str, size: int = DEFAULT_BATCH_SIZE
) -> Iterator[tuple[list[Any], str]]:
    """Keyset batches of `queryset` by primary key (`pk > after`), for handlers over a table."""
    last_pk = int(after) if after else None
    while True:
        page = queryset.order_by("pk")
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        rows = list(page[:size])
        if not rows:
            return
        last_pk = rows[-1].pk
        yield rows, str(last_pk)
        if len(rows) < size:
            return


def sequence_batches(
    items: Sequence[Any], *, after: str, size: int = DEFAULT_BATCH_SIZE
) -> Iterator[tuple[list[tuple[int, Any]], str]]:
    """Batches of (row_number, item) from a fixed sequence; the cursor is the last row number."""
    start = int(after) if after else 0
    for offset in range(start, len(items), size):
        chunk = items[offset : offset + size]
        rows = [(offset + index + 1, item) for index, item in enumerate(chunk)]
        yield rows, str(offset + len(chunk))


@transaction.atomic
def job_create(
    *,
    kind: str,
    org: Org | None,
    params: dict[str, Any] | None = None,
    started_by: AbstractBaseUser | None = None,
) -> Job:
    """Create a QUEUED job and run it once the transaction commits. Raises UnknownJobKindError."""
    from loyalty_site.core.tasks import job_run_task

    job_handler_get(kind=kind)
    job = Job.objects.create(kind=kind, org=org, params=params or {}, started_by=started_by)
    enqueue_on_commit(job_run_task, job_id=job.pk)
    return job


@transaction.atomic
def job_retry(*, job_id: int) -> bool:
    """Queue a FAILED job again; it resumes after its last committed batch. False if not FAILED."""
    from loyalty_site.core.tasks import job_run_task

    requeued = Job.objects.filter(pk=job_id, status=Job.Status.FAILED).update(
        status=Job.Status.QUEUED, heartbeat_at=timezone.now(), error_message=""
    )
    if requeued:
        enqueue_on_commit(job_run_task, job_id=job_id)
    return bool(requeued)


def job_run(*, job_id: int, stale_after: timedelta = DEFAULT_STALE_AFTER) -> Job | None:
    """Run a QUEUED job, or resume a FAILED or stale RUNNING one after its cursor, to FINISHED
    or FAILED; a no-op when another worker holds it or it has finished. Returns the job as it is
    afterwards (None if deleted). A handler error marks the job FAILED and is re-raised only
    when transient, so that the task retries it."""
    attempt = _job_claim(job_id=job_id, stale_after=stale_after)
    if attempt is None:
        job = Job.objects.filter(pk=job_id).first()
        if job is not None:
            logger.info("Job %s not claimed: %s", job_id, job.status)
        return job

    try:
        job = Job.objects.get(pk=job_id)
        handler = job_handler_get(kind=job.kind)
        if not job.cursor and job.processed == 0:
            total = handler.total(job)
            if total is not None:
                _job_write(job_id=job_id, attempt=attempt, total=total)
                job.total = total
        for rows, cursor in handler.batches(job, job.cursor):
            if rows:
                job = _job_commit_batch(
                    job_id=job_id, attempt=attempt, handler=handler, rows=rows, cursor=cursor
                )
        _job_finish(job_id=job_id, attempt=attempt, handler=handler)
    except JobClaimLostError:
        logger.warning("Job %s attempt %s lost its claim; stopping", job_id, attempt)
    except Exception as exc:
        logger.exception("Job %s attempt %s failed", job_id, attempt)
        _job_mark_failed(job_id=job_id, attempt=attempt, exc=exc)
        if isinstance(exc, TRANSIENT_ERRORS):
            raise
    return Job.objects.filter(pk=job_id).first()


def _job_claim(*, job_id: int, stale_after: timedelta) -> int | None:
    """Mark the job RUNNING for this worker with one conditional UPDATE; its attempt number."""
    now = timezone.now()
    claimable = (
        Q(status__in=[Job.Status.QUEUED, Job.Status.FAILED])
        | Q(status=Job.Status.RUNNING, heartbeat_at__lt=now - stale_after)
        | Q(status=Job.Status.RUNNING, heartbeat_at__isnull=True)
    )
    with transaction.atomic():
        claimed = Job.objects.filter(claimable, pk=job_id).update(
            status=Job.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=Coalesce(F("started_at"), now),
            heartbeat_at=now,
            finished_at=None,
            error_message="",
            updated_at=now,
        )
        if not claimed:
            return None
        return Job.objects.filter(pk=job_id).values_list("attempts", flat=True).get()


def _job_lock(*, job_id: int, attempt: int) -> Job:
    """Lock the job row if this worker still holds it. Raises JobClaimLostError."""
    job = (
        Job.objects.select_for_update()
        .filter(pk=job_id, status=Job.Status.RUNNING, attempts=attempt)
        .first()
    )
    if job is None:
        raise JobClaimLostError(job_id)
    return job


def _job_write(*, job_id: int, attempt: int, **values: Any) -> None:
    now = timezone.now()
    updated = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, attempts=attempt).update(
        heartbeat_at=now, updated_at=now, **values
    )
    if not updated:
        raise JobClaimLostError(job_id)


def _job_commit_batch(
    *, job_id: int, attempt: int, handler: JobHandler, rows: list[Any], cursor: str
) -> Job:
    # The handler's writes, the row errors and the cursor commit together or not at all.
    with transaction.atomic():
        job = _job_lock(job_id=job_id, attempt=attempt)
        outcome = handler.process(job, rows)
        if outcome.processed < 0 or not 0 <= outcome.failed <= outcome.processed:
            raise ValueError(f"Invalid batch outcome {outcome!r}")
        JobRowError.objects.bulk_create(
            [
                JobRowError(
                    job_id=job_id,
                    row_number=error.row_number,
                    row_key=str(error.row_key)[:255],
                    code=str(error.code)[:32],
                    message=error.message,
                    row_data=error.row_data,
                )
                for error in outcome.row_errors
            ]
        )
        _job_write(
            job_id=job_id,
            attempt=attempt,
            processed=F("processed") + outcome.processed,
            failed=F("failed") + outcome.failed,
            cursor=cursor,
        )
    job.refresh_from_db()
    return job


def _job_finish(*, job_id: int, attempt: int, handler: JobHandler) -> None:
    with transaction.atomic():
        job = _job_lock(job_id=job_id, attempt=attempt)
        result = {
            "total": job.total,
            "processed": job.processed,
            "succeeded": job.processed - job.failed,
            "failed": job.failed,
            "attempts": job.attempts,
            **(handler.finish(job) or {}),
        }
        now = timezone.now()
        _job_write(
            job_id=job_id,
            attempt=attempt,
            status=Job.Status.FINISHED,
            result=result,
            finished_at=now,
            error_message="",
        )


def _job_mark_failed(*, job_id: int, attempt: int, exc: BaseException) -> None:
    now = timezone.now()
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, attempts=attempt).update(
        status=Job.Status.FAILED,
        error_message=f"{type(exc).__name__}: {exc}",
        finished_at=now,
        heartbeat_at=now,
        updated_at=now,
    )


@transaction.atomic
def jobs_resume_stalled(*, stale_after: timedelta = DEFAULT_STALE_AFTER) -> list[int]:
    """Requeue RUNNING jobs with a stale heartbeat and QUEUED jobs whose message was lost;
    returns their ids. `heartbeat_at` of a QUEUED job is when it was last (re)queued."""
    from loyalty_site.core.tasks import job_run_task

    cutoff = timezone.now() - stale_after
    stalled = (
        Q(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff)
        | Q(status=Job.Status.RUNNING, heartbeat_at__isnull=True, updated_at__lt=cutoff)
        | Q(status=Job.Status.QUEUED, heartbeat_at__lt=cutoff)
        | Q(status=Job.Status.QUEUED, heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    requeued: list[int] = []
    now = timezone.now()
    candidates = list(Job.objects.filter(stalled).order_by("pk").values_list("pk", flat=True))
    for job_id in candidates:
        # Conditional per job: a worker may have claimed or finished it since the select.
        if Job.objects.filter(stalled, pk=job_id).update(
            status=Job.Status.QUEUED, heartbeat_at=now, updated_at=now
        ):
            enqueue_on_commit(job_run_task, job_id=job_id)
            requeued.append(job_id)
    if requeued:
        logger.warning("Requeued stalled jobs %s", requeued)
    return requeued


def job_error_report_csv(job: Job) -> str:
    """The job's row errors as CSV: row_number,row_key,code,message, then the row data columns."""
    errors = list(
        job.row_errors.order_by("id").values_list(
            "row_number", "row_key", "code", "message", "row_data"
        )
    )
    # PostgreSQL's jsonb does not keep key order: the handler's declared columns come first,
    # then any other keys sorted.
    found = {key for *_, row_data in errors if isinstance(row_data, dict) for key in row_data}
    try:
        declared = job_handler_get(kind=job.kind).error_report_columns
    except UnknownJobKindError:
        declared = ()
    ordered = [key for key in declared if key in found] + sorted(found - set(declared))
    # A data column named like a fixed one (a coupon's "code") gets a prefix.
    data_keys = {key: f"data_{key}" if key in ERROR_REPORT_COLUMNS else key for key in ordered}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*ERROR_REPORT_COLUMNS, *data_keys.values()])
    for row_number, row_key, code, message, row_data in errors:
        data = row_data if isinstance(row_data, dict) else {}
        writer.writerow(
            [
                _csv_cell(row_number),
                _csv_cell(row_key),
                _csv_cell(code),
                _csv_cell(message),
                *(_csv_cell(data.get(key)) for key in data_keys),
            ]
        )
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    # Uploaded cells starting like a formula would run in a spreadsheet (CSV injection).
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
