"""Points redemption on one hot account: ledger.services.points_redeem called from many threads
at once against a bare conditional UPDATE of one row (the physical floor of "take one if there
is one"). Both run balance + overflow attempts of one point, so the last ones must be refused;
the checks prove that the limit held (successes = balance, never below zero)."""

from __future__ import annotations

import secrets

from django.db import connection
from django.db.models import Case, DecimalField, F, Min, Sum, When

from bench.context import ScenarioContext
from bench.data import customer_rows, customers_create, ledger_history_create
from bench.registry import Scenario, scenario
from bench.timing import hammer
from ledger.exceptions import InsufficientPointsError
from ledger.models import EntryType, LedgerEntry, PointsAccount, PointsRedemption
from ledger.services import points_redeem
from members.models import Customer

CONDITIONAL_UPDATE = (
    "UPDATE ledger_pointsaccount SET balance = balance - 1 WHERE id = %s AND balance >= 1"
)


@scenario
class PointsRedeem(Scenario):
    name = "points_redeem"
    title = "Points redemption, one hot account, threads calling points_redeem vs bare UPDATE"
    order = 50
    sizes = {
        "small": {"threads": 16, "balance": 200, "overflow": 50, "time_limit_seconds": 60},
        "medium": {"threads": 32, "balance": 1000, "overflow": 100, "time_limit_seconds": 180},
        "default": {"threads": 32, "balance": 4000, "overflow": 400, "time_limit_seconds": 300},
    }

    def run(self, ctx: ScenarioContext) -> None:
        threads = ctx.sizes["threads"]
        balance = ctx.sizes["balance"]
        attempts = balance + ctx.sizes["overflow"]
        time_limit = float(ctx.sizes["time_limit_seconds"])
        bench = ctx.org("points redeem")
        customers_create(bench, count=2)
        (hot_id, _), (reference_id, _) = customer_rows(bench)
        ledger_history_create(
            bench,
            credits_per_customer=0,
            opening_points=balance,
            customer_ids=[hot_id, reference_id],
        )

        # The reference: the throwaway second account's row, decremented with no ledger at all.
        reference_account = PointsAccount.objects.get(customer_id=reference_id)

        def conditional_update(number: int) -> bool:
            with connection.cursor() as cursor:
                cursor.execute(CONDITIONAL_UPDATE, [reference_account.pk])
                return cursor.rowcount == 1

        reference = hammer(
            threads=threads, total=attempts, operation=conditional_update, time_limit=time_limit
        )

        customer = Customer.objects.select_related("org").get(pk=hot_id)
        program = bench.program
        run_key = secrets.token_hex(4)

        def redeem(number: int) -> bool:
            try:
                points_redeem(
                    customer=customer,
                    program=program,
                    points=1,
                    actor=bench.till,
                    idempotency_key=f"bench-redeem-{run_key}-{number}",
                )
            except InsufficientPointsError:
                return False
            return True

        service = hammer(threads=threads, total=attempts, operation=redeem, time_limit=time_limit)

        detail = f"{service.successes:,} redeemed, {service.refusals:,} refused"
        ctx.figure(
            "redeem calls",
            service.throughput,
            "calls/s",
            reference=reference.throughput,
            reference_name="bare conditional UPDATE",
            samples=service.attempted,
            detail=detail,
        )
        ctx.latency(
            f"redeem call, {threads} threads",
            service.latencies_ms,
            reference_ms=reference.latencies_ms,
            reference_name="bare conditional UPDATE",
        )
        ctx.detail("service", _hammer_details(service))
        ctx.detail("reference", _hammer_details(reference))

        account = PointsAccount.objects.get(customer_id=hot_id)
        expected = min(balance, service.attempted)
        entries = LedgerEntry.objects.filter(account=account).aggregate(
            lowest=Min("closing_balance"),
            total=Sum(
                Case(
                    When(entry_type=EntryType.DEBIT, then=-F("points")),
                    default=F("points"),
                    output_field=DecimalField(max_digits=20, decimal_places=3),
                )
            ),
        )
        redemptions = PointsRedemption.objects.filter(customer_id=hot_id).count()
        ctx.check(
            "no unexpected errors",
            service.error_count == 0 and reference.error_count == 0,
            "; ".join(service.errors + reference.errors),
        )
        ctx.check(
            "successes = balance (limit held)",
            service.successes == expected and redemptions == expected,
            f"{service.successes} successes, {redemptions} redemption rows, expected {expected}",
        )
        ctx.check(
            "balance never negative",
            account.balance == balance - service.successes and entries["lowest"] >= 0,
            f"final {account.balance}, lowest closing balance {entries['lowest']}",
        )
        ctx.check(
            "balance = sum of entries",
            entries["total"] == account.balance,
            f"entries sum to {entries['total']}, balance {account.balance}",
        )
        reference_account.refresh_from_db()
        ctx.check(
            "reference limit held",
            reference.successes == min(balance, reference.attempted)
            and reference_account.balance == balance - reference.successes,
            f"{reference.successes} successes, final balance {reference_account.balance}",
        )
        if service.stopped_by_time or reference.stopped_by_time:
            ctx.note(f"stopped by the {time_limit:.0f}s time limit before all attempts")


def _hammer_details(result) -> dict:
    return {
        "threads": result.threads,
        "attempted": result.attempted,
        "successes": result.successes,
        "refusals": result.refusals,
        "errors": result.error_count,
        "seconds": round(result.elapsed_seconds, 3),
        "stopped_by_time": result.stopped_by_time,
    }
