"""Points expiry over many lots through the real job (ledger.jobs PointsExpiryJob: keyset
batches of 200 owners, each batch expired set-wise by points_expire_many: one PointsExpiry event
per owner, a debit per account and a movement per lot, written with a few statements per batch),
timed from enqueue to finished, on a Celery worker when REDIS_URL is set. Every lot has lapsed,
so every lot is taken. Target: 20,000 lots/s."""

from __future__ import annotations

import datetime

from django.db.models import Sum
from django.utils import timezone

from bench.checks import ledger_drift_count
from bench.context import ScenarioContext
from bench.data import customers_create, ledger_history_create
from bench.registry import Scenario, scenario
from bench.sql import analyze
from ledger.jobs import EXPIRY_KIND
from ledger.models import LedgerEntry, LedgerEvent, PointsAccount, PointsLot
from loyalty_site.core.models import Job
from members.models import Customer

TARGET_LOTS_PER_SECOND = 20_000


@scenario
class PointsExpiry(Scenario):
    name = "points_expiry"
    title = "Points expiry job over lapsed lots (enqueue to finished)"
    order = 20
    sizes = {
        "small": {"customers": 300, "lots_per_customer": 10},
        "medium": {"customers": 3_000, "lots_per_customer": 10},
        "default": {"customers": 100_000, "lots_per_customer": 10},
    }

    def run(self, ctx: ScenarioContext) -> None:
        customers = ctx.sizes["customers"]
        per_customer = ctx.sizes["lots_per_customer"]
        bench = ctx.org("points expiry")
        lapsed = timezone.now() - datetime.timedelta(days=2)
        with ctx.timed("data"):
            customers_create(bench, count=customers)
            written = ledger_history_create(
                bench, credits_per_customer=per_customer, lot_expires_at=lapsed
            )
            analyze(Customer, PointsAccount, LedgerEvent, LedgerEntry, PointsLot)
        ctx.detail("rows written", written)
        lots = written["lots"]
        ctx.result.parameters["lots"] = lots

        as_of = timezone.localdate(timezone.now(), bench.org.tzinfo).isoformat()
        run = ctx.run_job(kind=EXPIRY_KIND, org=bench.org, params={"as_of": as_of})
        job = run.job
        ctx.figure(
            "lots expired",
            lots / run.seconds,
            "lots/s",
            target=TARGET_LOTS_PER_SECOND,
            samples=lots,
        )
        ctx.figure("owners", customers / run.seconds, "owners/s", samples=customers)
        ctx.detail("job seconds", round(run.seconds, 3))

        left = PointsLot.objects.filter(account__org=bench.org, remaining_points__gt=0).count()
        balance = PointsAccount.objects.filter(org=bench.org).aggregate(total=Sum("balance"))
        ctx.check(
            "job finished without row errors",
            job.status == Job.Status.FINISHED and job.failed == 0,
            f"{job.status}, {job.failed} failed rows, {job.error_message}",
        )
        ctx.check("every lapsed lot expired", left == 0, f"{left} lots still open")
        ctx.check("balances are zero", balance["total"] == 0, f"sum of balances {balance['total']}")
        drift = ledger_drift_count(org_id=bench.org.pk)
        ctx.check("ledger invariants hold", drift == 0, f"{drift} accounts drift")
