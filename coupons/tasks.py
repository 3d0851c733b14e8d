"""Celery adapters of the coupons domain: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from coupons.services import bulk
from coupons.services.reminders import coupon_expiry_reminders_send
from loyalty_site.core.jobs import TRANSIENT_ERRORS


@shared_task(
    name="coupons.tasks.coupon_issue_chunk_task",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def coupon_issue_chunk_task(job_id: int, chunk_id: int) -> str:
    """Issue one chunk of a bulk issue job; a no-op when it is done or another worker has it."""
    chunk = bulk.coupon_issue_chunk_run(job_id=job_id, chunk_id=chunk_id)
    return "done" if chunk is not None else "skipped"


@shared_task(name="coupons.tasks.coupon_expiry_reminders_send_task")
def coupon_expiry_reminders_send_task() -> dict[str, int]:
    """Send the expiry reminders due now (beat, every 15 minutes); safe to run twice."""
    return coupon_expiry_reminders_send().as_dict()
