"""Celery adapters for the job runner: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from loyalty_site.core import jobs


@shared_task(
    name="loyalty_site.core.tasks.job_run_task",
    autoretry_for=jobs.TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def job_run_task(job_id: int) -> str | None:
    job = jobs.job_run(job_id=job_id)
    return job.status if job is not None else None


@shared_task(
    name="loyalty_site.core.tasks.jobs_resume_stalled_task",
    autoretry_for=jobs.TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=60,
    max_retries=3,
)
def jobs_resume_stalled_task() -> int:
    return len(jobs.jobs_resume_stalled())


@shared_task(name="loyalty_site.core.tasks.throttle_counters_purge_task")
def throttle_counters_purge_task() -> int:
    from loyalty_site.core.throttle import throttle_counters_purge

    return throttle_counters_purge()
