"""Start the periodic ledger jobs (one per org): points expiry and promised-points maturity."""

from __future__ import annotations

import datetime

from django.db import transaction as db_transaction
from django.utils import timezone

from ledger.jobs import EXPIRY_KIND, MATURITY_KIND
from loyalty_site.core.jobs import job_create
from loyalty_site.core.models import Job
from members.models import Org

OPEN_STATUSES = (Job.Status.QUEUED, Job.Status.RUNNING)


@db_transaction.atomic
def points_expiry_jobs_create(*, now: datetime.datetime | None = None) -> list[Job]:
    """One expiry job per active org for its local "today" (lots that lapsed before today
    expire); an org that already has that day's job gets none."""
    now = now or timezone.now()
    jobs = []
    for org in Org.objects.filter(is_active=True).order_by("pk"):
        as_of = timezone.localtime(now, org.tzinfo).date().isoformat()
        if Job.objects.filter(kind=EXPIRY_KIND, org=org, params__as_of=as_of).exists():
            continue
        jobs.append(job_create(kind=EXPIRY_KIND, org=org, params={"as_of": as_of}))
    return jobs


@db_transaction.atomic
def promised_maturity_jobs_create(*, now: datetime.datetime | None = None) -> list[Job]:
    """One maturity job per active org (as of `now`) unless one is still queued or running."""
    now = now or timezone.now()
    jobs = []
    for org in Org.objects.filter(is_active=True).order_by("pk"):
        if Job.objects.filter(kind=MATURITY_KIND, org=org, status__in=OPEN_STATUSES).exists():
            continue
        jobs.append(job_create(kind=MATURITY_KIND, org=org, params={"as_of": now.isoformat()}))
    return jobs
