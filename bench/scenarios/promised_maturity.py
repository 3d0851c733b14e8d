"""Promised-points maturity through the real job (ledger.jobs PromisedMaturityJob: keyset
batches of 200 owners, each batch converted set-wise by points_promised_mature_many: one
DelayedAccrual event per owner with a PROMISED debit and a REGULAR credit, a regular lot per
matured lot), timed from enqueue to finished, on a Celery worker when REDIS_URL is set."""

from __future__ import annotations

import datetime

from django.db.models import Sum
from django.utils import timezone

from bench.checks import ledger_drift_count
from bench.context import ScenarioContext
from bench.data import customers_create, ledger_history_create
from bench.registry import Scenario, scenario
from bench.sql import analyze
from ledger.jobs import MATURITY_KIND
from ledger.models import LedgerEntry, LedgerEvent, PointsAccount, PointsLot
from loyalty_site.core.models import Job
from members.models import Customer, PointsCategory

POINTS = 10


@scenario
class PromisedMaturity(Scenario):
    name = "promised_maturity"
    title = "Promised-points maturity job (enqueue to finished)"
    order = 30
    sizes = {
        "small": {"customers": 300, "lots_per_customer": 5},
        "medium": {"customers": 2_500, "lots_per_customer": 5},
        "default": {"customers": 40_000, "lots_per_customer": 5},
    }

    def run(self, ctx: ScenarioContext) -> None:
        customers = ctx.sizes["customers"]
        per_customer = ctx.sizes["lots_per_customer"]
        bench = ctx.org("promised maturity")
        matured = timezone.now() - datetime.timedelta(hours=1)
        with ctx.timed("data"):
            customers_create(bench, count=customers)
            written = ledger_history_create(
                bench,
                category=PointsCategory.PROMISED,
                credits_per_customer=per_customer,
                points=POINTS,
                lot_matures_at=matured,
            )
            # The REGULAR accounts exist already, as they would for members who earned before.
            ledger_history_create(bench, credits_per_customer=0)
            analyze(Customer, PointsAccount, LedgerEvent, LedgerEntry, PointsLot)
        ctx.detail("rows written", written)
        lots = written["lots"]
        ctx.result.parameters["lots"] = lots

        run = ctx.run_job(
            kind=MATURITY_KIND, org=bench.org, params={"as_of": timezone.now().isoformat()}
        )
        job = run.job
        ctx.figure("lots matured", lots / run.seconds, "lots/s", samples=lots)
        ctx.figure("owners", customers / run.seconds, "owners/s", samples=customers)
        ctx.detail("job seconds", round(run.seconds, 3))

        balances = dict(
            PointsAccount.objects.filter(org=bench.org)
            .values_list("category")
            .annotate(total=Sum("balance"))
            .values_list("category", "total")
        )
        expected = customers * per_customer * POINTS
        ctx.check(
            "job finished without row errors",
            job.status == Job.Status.FINISHED and job.failed == 0,
            f"{job.status}, {job.failed} failed rows, {job.error_message}",
        )
        ctx.check(
            "every promised point became regular",
            balances.get(PointsCategory.PROMISED) == 0
            and balances.get(PointsCategory.REGULAR) == expected,
            f"balances {balances}, expected {expected} regular",
        )
        drift = ledger_drift_count(org_id=bench.org.pk)
        ctx.check("ledger invariants hold", drift == 0, f"{drift} accounts drift")
