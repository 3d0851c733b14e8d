"""Celery adapters for the ledger: they call one service. Schedule them in loyalty_site/celery.py
(e.g. expiry hourly, so each org's run starts soon after its local midnight; maturity hourly)."""

from __future__ import annotations

from celery import shared_task

from ledger.services.schedule import points_expiry_jobs_create, promised_maturity_jobs_create


@shared_task(name="ledger.tasks.points_expiry_jobs_create_task")
def points_expiry_jobs_create_task() -> int:
    return len(points_expiry_jobs_create())


@shared_task(name="ledger.tasks.promised_maturity_jobs_create_task")
def promised_maturity_jobs_create_task() -> int:
    return len(promised_maturity_jobs_create())
