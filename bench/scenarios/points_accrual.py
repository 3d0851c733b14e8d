"""Batched accrual: credits posted through ledger.services.points_allocate_many (the bulk path of
imports and bulk awards: one TransactionAdd credit per request, each its own event, entry and
lot, as points_allocate writes them), one call of `batch_size` credits per database
transaction, from a few worker processes (as Celery's prefork pool runs jobs: threads of one
process would share its interpreter lock) over disjoint customers. The accounts exist already,
so every entry written is a credit. Target: 20,000 entries/s.

Also measured, without a target: the per-call path, one points_allocate per credit (a bill's
credit), several calls per transaction, on one thread.

Reference: the same number of credits written set-wise (events, entries, lots and the balance
update, one statement each, triggers on, foreign keys checked) in a transaction that is then
rolled back: what the rows alone cost on this machine, on one connection, without the commit."""

from __future__ import annotations

import secrets
import time

from django.db import connection, transaction
from django.utils import timezone

from bench.checks import ledger_drift_count
from bench.context import ScenarioContext
from bench.data import customers_create, ledger_history_create
from bench.processes import processes_run
from bench.registry import Scenario, scenario
from bench.sql import analyze, insert_select, rolled_back
from ledger.models import EntryType, EventName, LedgerEntry, LedgerEvent, PointsAccount, PointsLot
from ledger.services import CreditRequest, points_allocate, points_allocate_many
from members.models import Customer, Program

TARGET_ENTRIES_PER_SECOND = 20_000


@scenario
class PointsAccrual(Scenario):
    name = "points_accrual"
    title = "Batched accrual: credits through points_allocate_many, one batch per transaction"
    order = 40
    sizes = {
        "small": {
            "customers": 500,
            "credits": 400,
            "batch_size": 100,
            "workers": 2,
            "per_call_credits": 100,
            "time_limit_seconds": 20,
        },
        "medium": {
            "customers": 5_000,
            "credits": 20_000,
            "batch_size": 1_000,
            "workers": 2,
            "per_call_credits": 1_000,
            "time_limit_seconds": 90,
        },
        "default": {
            "customers": 20_000,
            "credits": 40_000,
            "batch_size": 1_000,
            "workers": 2,
            "per_call_credits": 2_000,
            "time_limit_seconds": 120,
        },
    }

    def run(self, ctx: ScenarioContext) -> None:
        sizes = ctx.sizes
        workers, batch_size = sizes["workers"], sizes["batch_size"]
        bench = ctx.org("points accrual")
        with ctx.timed("data"):
            customers_create(bench, count=sizes["customers"])
            ledger_history_create(bench, credits_per_customer=0)
            analyze(Customer, PointsAccount, LedgerEvent, LedgerEntry, PointsLot)
        customers = list(
            Customer.objects.filter(org=bench.org).select_related("org").order_by("pk")
        )
        program = Program.objects.select_related("org").get(pk=bench.program.pk)
        run_key = secrets.token_hex(4)
        deadline = time.monotonic() + float(sizes["time_limit_seconds"])
        share = sizes["credits"] // workers

        def worker(index: int) -> int:
            # Each worker credits its own slice of customers, round robin, in batches.
            mine = customers[index::workers]
            done = 0
            while done < share and time.monotonic() < deadline:
                count = min(batch_size, share - done)
                credits = [
                    CreditRequest(
                        customer=mine[offset % len(mine)],
                        program=program,
                        points=10,
                        event_name=EventName.TRANSACTION_ADD,
                        idempotency_key=f"bench-accrual-{run_key}-{index}-{offset}",
                    )
                    for offset in range(done, done + count)
                ]
                with transaction.atomic():
                    result = points_allocate_many(credits=credits, actor=None)
                if result.errors:
                    first = next(iter(result.errors.values()))
                    raise RuntimeError(f"{len(result.errors)} credits refused: {first}")
                done += count
            return done

        posted, errors, seconds = processes_run(worker, workers)
        stopped = time.monotonic() >= deadline
        credits = _credit_count(bench)

        # The per-call path: one points_allocate per credit, on the customers not credited yet
        # by the same run key, on this thread.
        per_call = min(sizes["per_call_credits"], len(customers))
        per_call_errors: list[str] = []
        started = time.perf_counter()
        try:
            for start in range(0, per_call, 100):
                with transaction.atomic():
                    for offset in range(start, min(start + 100, per_call)):
                        points_allocate(
                            customer=customers[offset],
                            program=program,
                            points=10,
                            event_name=EventName.TRANSACTION_ADD,
                            actor=None,
                            idempotency_key=f"bench-accrual-{run_key}-single-{offset}",
                        )
        except Exception as exc:  # reported as a failed check
            per_call_errors.append(f"{type(exc).__name__}: {exc}")
        per_call_seconds = time.perf_counter() - started
        per_call_written = _credit_count(bench) - credits

        reference_seconds = _setwise_credits_seconds(bench, count=credits or 1)
        ctx.figure(
            "credit entries posted",
            credits / seconds,
            "entries/s",
            reference=(credits or 1) / reference_seconds,
            reference_name="set-wise INSERT of the same credits",
            target=TARGET_ENTRIES_PER_SECOND,
            samples=credits,
            detail=f"points_allocate_many, {workers} worker processes, {batch_size} per call",
        )
        ctx.figure(
            "credit entries posted one call each",
            per_call_written / per_call_seconds,
            "entries/s",
            reference=(credits or 1) / reference_seconds,
            reference_name="set-wise INSERT of the same credits",
            samples=per_call_written,
            detail="points_allocate, 1 thread, 100 calls per transaction",
        )
        ctx.detail("seconds", round(seconds, 3))
        ctx.detail("per-call seconds", round(per_call_seconds, 3))
        if stopped:
            ctx.note(f"stopped by the {sizes['time_limit_seconds']}s limit at {credits} credits")
        ctx.check(
            "no errors",
            not errors and not per_call_errors,
            "; ".join((errors + per_call_errors)[:3]),
        )
        ctx.check(
            "every credit wrote one credit entry",
            credits == posted and per_call_written == per_call,
            f"{credits} credit entries for {posted} batched credits, {per_call_written} for "
            f"{per_call} calls",
        )
        drift = ledger_drift_count(org_id=bench.org.pk)
        ctx.check("ledger invariants hold", drift == 0, f"{drift} accounts drift")


def _credit_count(bench) -> int:
    return LedgerEntry.objects.filter(account__org=bench.org, entry_type=EntryType.CREDIT).count()


def _setwise_credits_seconds(bench, *, count: int) -> float:
    """Seconds to write `count` credits set-wise (one event, entry and lot each, spread over
    the org's accounts, balances updated), rolled back afterwards."""
    params = {
        "org": bench.org.pk,
        "count": count,
        "marker": f"bench:reference:{secrets.token_hex(4)}",
        "event": EventName.TRANSACTION_ADD,
        "credit": EntryType.CREDIT,
        "now": timezone.now(),
    }
    # Credit g goes to account number g mod (accounts): an equality join, so a hash join.
    params["slots"] = PointsAccount.objects.filter(org=bench.org).count()
    accounts = (
        "generate_series(0, %(count)s - 1) g JOIN (SELECT a.id, a.customer_id, a.last_sequence, "
        "row_number() OVER (ORDER BY a.id) - 1 AS slot FROM ledger_pointsaccount a "
        "WHERE a.org_id = %(org)s) a ON a.slot = g %% %(slots)s"
    )
    started = time.perf_counter()
    with rolled_back():
        insert_select(
            LedgerEvent,
            values={
                "org": "%(org)s",
                "customer": "a.customer_id",
                "event_name": "%(event)s",
                "occurred_at": "%(now)s",
                "net_points": "10",
                "reason": "%(marker)s",
                "details": "jsonb_build_object('n', g)",
            },
            source=accounts,
            params=params,
        )
        # The events just written are not in the planner's statistics (it expects one row), so
        # it may join them to the series of credits with a nested loop that reads the series
        # once per event: quadratic. This join is a hash join.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_nestloop = off")
        insert_select(
            LedgerEntry,
            values={
                "event": "e.id",
                "account": "a.id",
                "entry_type": "%(credit)s",
                "sequence": "a.last_sequence + 1 + g / %(slots)s",
                "points": "10",
                "closing_balance": "10 * (1 + g / %(slots)s)",
            },
            source=f"{accounts} JOIN ledger_ledgerevent e ON e.org_id = %(org)s "
            "AND e.reason = %(marker)s AND (e.details->>'n')::bigint = g",
            params=params,
        )
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_nestloop = on")
        insert_select(
            PointsLot,
            values={
                "account": "n.account_id",
                "source_entry": "n.id",
                "original_points": "n.points",
                "remaining_points": "n.points",
            },
            source="ledger_ledgerentry n JOIN ledger_ledgerevent e ON e.id = n.event_id "
            "WHERE e.org_id = %(org)s AND e.reason = %(marker)s",
            params=params,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE ledger_pointsaccount a SET balance = a.balance + t.total, "
                "last_sequence = a.last_sequence + t.entries FROM (SELECT n.account_id, "
                "sum(n.points) AS total, count(*) AS entries FROM ledger_ledgerentry n "
                "JOIN ledger_ledgerevent e ON e.id = n.event_id WHERE e.org_id = %(org)s "
                "AND e.reason = %(marker)s GROUP BY n.account_id) t WHERE a.id = t.account_id",
                params,
            )
            # The foreign keys are checked at commit (deferred); this transaction is rolled
            # back, so check them now, as a commit would.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return time.perf_counter() - started
