"""The bulk job runner: batches on a keyset cursor, progress, row errors, crash and resume,
the claim that keeps two workers off one job, and the sweep that requeues stalled jobs."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.db.models import F
from django.utils import timezone

from loyalty_site.core import jobs
from loyalty_site.core.exceptions import DomainError
from loyalty_site.core.jobs import (
    BatchOutcome,
    JobHandler,
    RowError,
    UnknownJobKindError,
    job_create,
    job_error_report_csv,
    job_handler,
    job_retry,
    job_run,
    jobs_resume_stalled,
    queryset_batches,
    sequence_batches,
)
from loyalty_site.core.models import Job
from loyalty_site.core.tasks import job_run_task, jobs_resume_stalled_task
from members.models import Customer
from tests.members.factories import CustomerFactory

# Every process() / process_row() call, as (job attempt, row key): proves what was (re)done.
CALLS: list[tuple[int, object]] = []
CALLS_LOCK = threading.Lock()


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()
    yield
    CALLS.clear()


@job_handler("test.numbers")
class NumbersHandler(JobHandler):
    """Sums numbers from job.params; negative numbers are bad rows."""

    error_report_columns = ("value",)

    def total(self, job):
        return len(job.params["numbers"])

    def batches(self, job, after):
        size = job.params.get("batch_size", 3)
        for number, batch in enumerate(
            sequence_batches(job.params["numbers"], after=after, size=size), start=1
        ):
            yield batch
            if number == job.params.get("steal_after_batch"):
                # Another worker claims the job between two batches of this one.
                Job.objects.filter(pk=job.pk).update(attempts=F("attempts") + 1)

    def process(self, job, rows):
        with CALLS_LOCK:
            CALLS.append((job.attempts, rows[0][0]))
        if job.params.get("transient_on_row") in [n for n, _ in rows] and job.attempts == 1:
            raise OperationalError("server closed the connection unexpectedly")
        if job.params.get("bad_outcome"):
            return BatchOutcome(processed=1, failed=2)
        errors = [
            RowError(
                message="Negative number",
                code="NEGATIVE",
                row_number=row_number,
                row_key=f"n{row_number}",
                row_data={"value": value, "code": "=cmd()"},
            )
            for row_number, value in rows
            if value < 0
        ]
        return BatchOutcome(processed=len(rows), failed=len(errors), row_errors=errors)

    def finish(self, job):
        return {"sum": sum(value for value in job.params["numbers"] if value >= 0)}


@job_handler("test.customers.relabel")
class RelabelCustomersHandler(JobHandler):
    """Sets status_label on an org's customers; a customer without email is a bad row.
    With params crash_on_pk, the first attempt dies on that customer (after earlier writes)."""

    def total(self, job):
        return Customer.objects.filter(org_id=job.org_id).count()

    def batches(self, job, after):
        queryset = Customer.objects.filter(org_id=job.org_id)
        return queryset_batches(queryset, after=after, size=job.params["batch_size"])

    def process_row(self, job, customer):
        CALLS.append((job.attempts, customer.pk))
        if customer.pk == job.params.get("crash_on_pk") and job.attempts == 1:
            raise RuntimeError("worker lost its mind")
        if not customer.email:
            raise DomainError("Customer has no email", code=8013)
        customer.status_label = job.params["label"]
        customer.save(update_fields=["status_label"])

    def row_error(self, customer, exc):
        return RowError(
            message=exc.message,
            code=str(exc.code),
            row_key=str(customer.pk),
            row_data={"mobile": customer.mobile},
        )

    def finish(self, job):
        relabelled = Customer.objects.filter(org_id=job.org_id, status_label=job.params["label"])
        return {"relabelled": relabelled.count()}


def numbers_job(org, numbers, **params):
    return Job.objects.create(
        kind="test.numbers", org=org, params={"numbers": numbers, "batch_size": 3, **params}
    )


# --- create and full run ---------------------------------------------------------------------


@pytest.mark.django_db
def test_job_create_rejects_an_unknown_kind(org):
    # when / then
    with pytest.raises(UnknownJobKindError):
        job_create(kind="test.nope", org=org, params={})
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_job_create_runs_the_job_once_the_transaction_commits(
    org, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = job_create(kind="test.numbers", org=org, params={"numbers": [1, 2, 3, 4]})
        assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED

    # then
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED
    assert (job.total, job.processed, job.failed) == (4, 4, 0)


@pytest.mark.django_db
def test_full_run_records_progress_row_errors_and_result(org):
    # given 10 numbers in batches of 3, two of them bad
    job = numbers_job(org, [1, 2, -3, 4, 5, 6, 7, -8, 9, 10])

    # when
    returned = job_run(job_id=job.pk)

    # then
    job.refresh_from_db()
    assert returned == job
    assert job.status == Job.Status.FINISHED
    assert (job.total, job.processed, job.failed) == (10, 10, 2)
    assert job.cursor == "10"
    assert job.attempts == 1
    assert job.started_at and job.finished_at and job.heartbeat_at
    assert job.error_message == ""
    assert job.progress_percent == 100
    assert job.result == {
        "total": 10,
        "processed": 10,
        "succeeded": 8,
        "failed": 2,
        "attempts": 1,
        "sum": 1 + 2 + 4 + 5 + 6 + 7 + 9 + 10,
    }
    assert [first_row for _, first_row in CALLS] == [1, 4, 7, 10]
    errors = list(job.row_errors.values_list("row_number", "row_key", "code", "message"))
    assert errors == [
        (3, "n3", "NEGATIVE", "Negative number"),
        (8, "n8", "NEGATIVE", "Negative number"),
    ]


@pytest.mark.django_db
def test_handler_over_a_table_writes_rows_and_records_bad_ones(org, other_org):
    # given 5 customers of the org (one without email) and one of another org
    customers = CustomerFactory.create_batch(5, org=org)
    Customer.objects.filter(pk=customers[1].pk).update(email=None)
    outsider = CustomerFactory(org=other_org)
    job = Job.objects.create(
        kind="test.customers.relabel", org=org, params={"batch_size": 2, "label": "Migrated"}
    )

    # when
    job_run(job_id=job.pk)

    # then
    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED
    assert (job.total, job.processed, job.failed) == (5, 5, 1)
    assert job.result["relabelled"] == 4
    assert job.cursor == str(customers[-1].pk)
    error = job.row_errors.get()
    assert (error.row_key, error.code, error.message) == (
        str(customers[1].pk),
        "8013",
        "Customer has no email",
    )
    assert Customer.objects.get(pk=customers[1].pk).status_label == "Active"
    assert Customer.objects.get(pk=outsider.pk).status_label == "Active"


# --- error report ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_error_report_csv_lists_every_row_error_with_its_data(org):
    # given
    job = numbers_job(org, [1, -2, 3, -4])
    job_run(job_id=job.pk)
    job.refresh_from_db()

    # when
    report = job_error_report_csv(job)

    # then the data's own "code" column does not clash and formulas are defused
    rows = list(csv.reader(io.StringIO(report)))
    assert rows == [
        ["row_number", "row_key", "code", "message", "value", "data_code"],
        ["2", "n2", "NEGATIVE", "Negative number", "-2", "'=cmd()"],
        ["4", "n4", "NEGATIVE", "Negative number", "-4", "'=cmd()"],
    ]


@pytest.mark.django_db
def test_error_report_of_a_clean_job_is_just_the_header(org):
    job = numbers_job(org, [1, 2])
    job_run(job_id=job.pk)

    assert job_error_report_csv(job) == "row_number,row_key,code,message\r\n"


# --- crash and resume ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_crash_in_batch_three_keeps_batches_one_and_two_and_resumes_after_them(org):
    # given 8 customers in batches of 2; customer 6 (2nd row of batch 3) kills the first attempt
    customers = CustomerFactory.create_batch(8, org=org)
    Customer.objects.filter(pk__in=[customers[0].pk, customers[6].pk]).update(email=None)
    pks = [customer.pk for customer in customers]
    job = Job.objects.create(
        kind="test.customers.relabel",
        org=org,
        params={"batch_size": 2, "label": "Migrated", "crash_on_pk": pks[5]},
    )

    # when the first attempt runs
    job_run(job_id=job.pk)

    # then the job failed, batches 1-2 are committed, batch 3's first write was rolled back
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error_message == "RuntimeError: worker lost its mind"
    assert (job.processed, job.failed, job.cursor) == (4, 1, str(pks[3]))
    assert list(job.row_errors.values_list("row_key", flat=True)) == [str(pks[0])]
    labels = dict(Customer.objects.values_list("pk", "status_label"))
    assert [labels[pk] for pk in pks] == ["Active"] + ["Migrated"] * 3 + ["Active"] * 4
    assert CALLS == [(1, pk) for pk in pks[:6]]

    # when it runs again
    CALLS.clear()
    job_run(job_id=job.pk)

    # then it resumed at batch 3 and recorded each bad row once
    job.refresh_from_db()
    assert CALLS == [(2, pk) for pk in pks[4:]]
    assert job.status == Job.Status.FINISHED
    assert job.error_message == ""
    assert (job.total, job.processed, job.failed, job.attempts) == (8, 8, 2, 2)
    assert list(job.row_errors.values_list("row_key", flat=True)) == [str(pks[0]), str(pks[6])]
    assert job.result["relabelled"] == 6


@pytest.mark.django_db
def test_transient_error_fails_the_job_and_is_raised_for_the_task_to_retry(org):
    # given row 4 (batch 2) hits a dropped connection on the first attempt
    job = numbers_job(org, [1, 2, 3, 4, 5, 6, -7], transient_on_row=4)

    # when / then
    with pytest.raises(OperationalError):
        job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert (job.processed, job.cursor) == (3, "3")

    # and the retry resumes at batch 2
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED
    assert [first_row for _, first_row in CALLS] == [1, 4, 4, 7]
    assert (job.processed, job.failed, job.row_errors.count()) == (7, 1, 1)


@pytest.fixture
def eager_retries():
    """Eager tasks retry in-process only when errors do not propagate (as on a worker)."""
    conf = job_run_task.app.conf
    before = conf.task_eager_propagates
    conf.task_eager_propagates = False
    yield
    conf.task_eager_propagates = before


@pytest.mark.django_db
def test_job_run_task_retries_a_transient_error(org, eager_retries):
    # given job_run fails twice with a dropped connection, then succeeds
    job = numbers_job(org, [1])
    outcomes = [OperationalError("gone"), OperationalError("gone"), job]

    # when
    with mock.patch.object(jobs, "job_run", side_effect=outcomes) as job_run_mock:
        result = job_run_task.apply(kwargs={"job_id": job.pk})

    # then
    assert job_run_mock.call_count == 3
    assert result.get() == Job.Status.QUEUED


@pytest.mark.django_db
def test_job_run_task_gives_up_after_its_retry_cap(org, eager_retries):
    job = numbers_job(org, [1])

    with mock.patch.object(jobs, "job_run", side_effect=OperationalError("gone")) as job_run_mock:
        result = job_run_task.apply(kwargs={"job_id": job.pk})

    assert job_run_mock.call_count == job_run_task.max_retries + 1
    assert result.failed()


@pytest.mark.django_db
def test_job_run_task_does_not_retry_other_errors(org):
    job = numbers_job(org, [1])

    with mock.patch.object(jobs, "job_run", side_effect=ValueError("bug")) as job_run_mock:
        with pytest.raises(ValueError):
            job_run_task.apply(kwargs={"job_id": job.pk})

    assert job_run_mock.call_count == 1


@pytest.mark.django_db
def test_invalid_batch_outcome_fails_the_job_without_progress(org):
    job = numbers_job(org, [1, 2], bad_outcome=True)

    job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "Invalid batch outcome" in job.error_message
    assert (job.processed, job.failed, job.cursor) == (0, 0, "")


@pytest.mark.django_db
def test_job_of_an_unregistered_kind_fails(org):
    job = Job.objects.create(kind="test.gone", org=org)

    job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "Unknown job kind 'test.gone'" in job.error_message


@pytest.mark.django_db
def test_job_retry_requeues_a_failed_job_only(org, django_capture_on_commit_callbacks):
    # given
    failed = numbers_job(org, [1, 2], bad_outcome=True)
    job_run(job_id=failed.pk)
    finished = numbers_job(org, [1])
    job_run(job_id=finished.pk)
    Job.objects.filter(pk=failed.pk).update(params={"numbers": [1, 2]})

    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert job_retry(job_id=failed.pk) is True
        assert job_retry(job_id=finished.pk) is False

    # then
    failed.refresh_from_db()
    assert failed.status == Job.Status.FINISHED
    assert failed.attempts == 2
    assert Job.objects.get(pk=finished.pk).attempts == 1


# --- run twice, claim ------------------------------------------------------------------------


@pytest.mark.django_db
def test_running_a_finished_job_again_does_nothing(org):
    # given
    job = numbers_job(org, [1, -2, 3, 4])
    job_run(job_id=job.pk)
    job.refresh_from_db()
    before = (job.processed, job.failed, job.attempts, job.finished_at, job.result)
    CALLS.clear()

    # when
    job_run(job_id=job.pk)

    # then
    job.refresh_from_db()
    assert CALLS == []
    assert (job.processed, job.failed, job.attempts, job.finished_at, job.result) == before
    assert job.row_errors.count() == 1


@pytest.mark.django_db
def test_running_a_deleted_job_does_nothing():
    assert job_run(job_id=987654) is None


@pytest.mark.django_db
def test_a_job_running_elsewhere_is_not_run_twice(org):
    # given another worker holds the job (RUNNING with a fresh heartbeat)
    job = numbers_job(org, [1, 2, 3, 4])
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, attempts=1, heartbeat_at=timezone.now()
    )

    # when
    returned = job_run(job_id=job.pk)

    # then
    assert CALLS == []
    assert returned.status == Job.Status.RUNNING
    assert (returned.attempts, returned.processed) == (1, 0)


@pytest.mark.django_db
def test_a_stale_running_job_is_taken_over_and_resumed(org):
    # given a worker died after batch 1 (cursor 3) and its heartbeat is 11 minutes old
    job = numbers_job(org, [1, 2, 3, 4, 5])
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        attempts=1,
        total=5,
        processed=3,
        cursor="3",
        heartbeat_at=timezone.now() - timedelta(minutes=11),
    )

    # when
    job_run(job_id=job.pk)

    # then
    job.refresh_from_db()
    assert CALLS == [(2, 4)]
    assert (job.status, job.processed, job.attempts) == (Job.Status.FINISHED, 5, 2)


@pytest.mark.django_db
def test_a_worker_that_lost_its_claim_stops_writing(org):
    # given another worker claims the job right after batch 1 commits
    job = numbers_job(org, [1, 2, 3, -4, 5, 6], steal_after_batch=1)

    # when
    job_run(job_id=job.pk)

    # then batch 2 was not processed and the job was left to the new owner
    job.refresh_from_db()
    assert CALLS == [(1, 1)]
    assert (job.status, job.attempts, job.processed, job.cursor) == (
        Job.Status.RUNNING,
        2,
        3,
        "3",
    )
    assert not job.row_errors.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_starting_the_same_job_process_it_once(org, postgres_only):
    # given
    job = numbers_job(org, list(range(1, 31)), batch_size=5)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        try:
            start.wait(timeout=10)
            job_run(job_id=job.pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then
    assert errors == []
    job.refresh_from_db()
    assert (job.status, job.processed, job.attempts) == (Job.Status.FINISHED, 30, 1)
    assert sorted(first_row for _, first_row in CALLS) == [1, 6, 11, 16, 21, 26]


# --- stalled jobs ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_resume_stalled_requeues_stale_running_and_lost_queued_jobs(
    org, django_capture_on_commit_callbacks
):
    # given
    old = timezone.now() - timedelta(minutes=15)
    fresh = timezone.now() - timedelta(minutes=1)
    stale_running = numbers_job(org, [1, 2, 3, 4])
    Job.objects.filter(pk=stale_running.pk).update(
        status=Job.Status.RUNNING, attempts=1, processed=3, cursor="3", heartbeat_at=old
    )
    live_running = numbers_job(org, [1])
    Job.objects.filter(pk=live_running.pk).update(
        status=Job.Status.RUNNING, attempts=1, heartbeat_at=fresh
    )
    lost_queued = numbers_job(org, [5])
    Job.objects.filter(pk=lost_queued.pk).update(created_at=old)
    new_queued = numbers_job(org, [6])
    done = numbers_job(org, [7])
    Job.objects.filter(pk=done.pk).update(status=Job.Status.FINISHED, heartbeat_at=old)
    failed = numbers_job(org, [8])
    Job.objects.filter(pk=failed.pk).update(status=Job.Status.FAILED, heartbeat_at=old)

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        requeued = jobs_resume_stalled()

    # then only the stalled jobs are queued again, and not twice in a row
    assert requeued == [stale_running.pk, lost_queued.pk]
    assert len(callbacks) == 2
    assert jobs_resume_stalled() == []
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses[stale_running.pk] == Job.Status.QUEUED
    assert statuses[live_running.pk] == Job.Status.RUNNING
    assert statuses[new_queued.pk] == Job.Status.QUEUED

    # and when their messages run, they finish (the stale one resumes after its cursor)
    for callback in callbacks:
        callback()
    stale_running.refresh_from_db()
    assert (stale_running.status, stale_running.processed) == (Job.Status.FINISHED, 4)
    assert Job.objects.get(pk=lost_queued.pk).status == Job.Status.FINISHED
    assert CALLS == [(2, 4), (1, 1)]


@pytest.mark.django_db
def test_resume_stalled_task_reports_how_many_jobs_it_requeued(org):
    job = numbers_job(org, [1])
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))

    result = jobs_resume_stalled_task.apply()

    assert result.get() == 1
    assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED


def test_registering_a_second_handler_for_a_kind_is_refused():
    with pytest.raises(ValueError, match="already handled"):

        @job_handler("test.numbers")
        class OtherHandler(JobHandler):
            pass


def test_the_beat_schedule_names_the_resume_task():
    from loyalty_site.celery import app

    entry = app.conf.beat_schedule["core-jobs-resume-stalled"]
    assert entry["task"] == jobs_resume_stalled_task.name
