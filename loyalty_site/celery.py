"""Celery application. The beat schedule lives in code (CELERY_BEAT_SCHEDULE below)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")

app = Celery("loyalty_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work, added here as the domains that need it land (expiry reminders, points expiry).
app.conf.beat_schedule = {
    "core-jobs-resume-stalled": {
        "task": "loyalty_site.core.tasks.jobs_resume_stalled_task",
        "schedule": 300.0,
    },
    # Hourly, so each org's expiry run starts within an hour of its local midnight; one job per org
    # and local day (ledger.services.schedule).
    "core-throttle-counters-purge": {
        "task": "loyalty_site.core.tasks.throttle_counters_purge_task",
        "schedule": crontab(minute=50),
    },
    "ledger-points-expiry": {
        "task": "ledger.tasks.points_expiry_jobs_create_task",
        "schedule": crontab(minute=5),
    },
    "ledger-promised-maturity": {
        "task": "ledger.tasks.promised_maturity_jobs_create_task",
        "schedule": crontab(minute=35),
    },
    # Every 15 minutes, so a reminder goes out within 15 minutes of its local send time.
    "coupons-expiry-reminders": {
        "task": "coupons.tasks.coupon_expiry_reminders_send_task",
        "schedule": crontab(minute="*/15"),
    },
}
