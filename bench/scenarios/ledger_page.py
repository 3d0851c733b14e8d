"""The ledger page: the 10 newest events (with their entries) of one customer, and the closing
balance, read through the real API views on a real gunicorn on 127.0.0.1, over a ledger of many
entries. References, measured in the same run: the bare indexed SELECT of the same rows, and the
bare SELECT of the account balances.

The page's own database time (the statements ledger_events_list runs: the count, the events,
their entries) is also measured in the harness and compared with the bare SELECT (target: at
most 5x). Latency is measured with one client (requests one after the other, so it is the cost
of a read, not a queue), then throughput and latency with 32 concurrent clients. The history has one
opening balance and N-1 credits per customer, one event each; it has no lots, which these
reads never touch.
"""

from __future__ import annotations

import json
import random
import time
from urllib.parse import urlencode

from django.db import connection

from bench.context import ScenarioContext
from bench.data import customer_rows, customers_create, ledger_history_create
from bench.http import HttpRequest, load_run
from bench.registry import Scenario, scenario
from bench.sql import analyze
from bench.stats import summarize
from bench.timing import sql_latencies
from ledger.models import LedgerEntry, LedgerEvent, PointsAccount
from ledger.selectors import ledger_events_list
from members.models import Customer

PAGE_SIZE = 10
POINTS = 10
PAGE_SQL = """
SELECT e.id, e.event_name, e.created_at, e.occurred_at, e.net_points, e.source, e.till_id,
       n.id, n.entry_type, n.points, n.closing_balance, n.account_id
FROM (
    SELECT * FROM ledger_ledgerevent WHERE customer_id = %s
    ORDER BY created_at DESC, id DESC LIMIT 10
) e
JOIN ledger_ledgerentry n ON n.event_id = e.id
ORDER BY e.created_at DESC, e.id DESC, n.id
"""
BALANCE_SQL = (
    "SELECT program_id, category, balance FROM ledger_pointsaccount WHERE customer_id = %s"
)
RANDOM_SEED = 20240611


@scenario
class LedgerPage(Scenario):
    name = "ledger_page"
    title = "Ledger page (10 newest events) and closing balance over HTTP vs bare indexed SELECT"
    order = 10
    sizes = {
        "small": {
            "customers": 1_000,
            "entries_per_customer": 100,
            "latency_samples": 150,
            "load_requests": 200,
            "clients": 32,
            "warmup": 30,
            "time_limit_seconds": 60,
        },
        "medium": {
            "customers": 10_000,
            "entries_per_customer": 100,
            "latency_samples": 1_000,
            "load_requests": 2_000,
            "clients": 32,
            "warmup": 100,
            "time_limit_seconds": 120,
        },
        "default": {
            "customers": 100_000,
            "entries_per_customer": 100,
            "latency_samples": 3_000,
            "load_requests": 5_000,
            "clients": 32,
            "warmup": 100,
            "time_limit_seconds": 180,
        },
    }

    def run(self, ctx: ScenarioContext) -> None:
        sizes = ctx.sizes
        per_customer = sizes["entries_per_customer"]
        samples, warmup = sizes["latency_samples"], sizes["warmup"]
        time_limit = float(sizes["time_limit_seconds"])
        bench = ctx.org("ledger page")
        with ctx.timed("customers"):
            customers_create(bench, count=sizes["customers"])
        with ctx.timed("ledger history"):
            written = ledger_history_create(
                bench, credits_per_customer=per_customer - 1, points=POINTS, with_lots=False
            )
        with ctx.timed("analyze"):
            analyze(Customer, PointsAccount, LedgerEvent, LedgerEntry)
        ctx.detail("rows written", written)
        ctx.result.parameters["entries"] = written["entries"]

        customers = customer_rows(bench)
        chooser = random.Random(RANDOM_SEED)
        picks = [chooser.choice(customers) for _ in range(warmup + samples)]

        def pick(number: int) -> tuple[int, str]:
            if number < len(picks):
                return picks[number]
            return customers[(number * 7919) % len(customers)]

        reference_page = sql_latencies(PAGE_SQL, [[cid] for cid, _ in picks], warmup=warmup)
        reference_balance = sql_latencies(BALANCE_SQL, [[cid] for cid, _ in picks], warmup=warmup)

        headers = {"Authorization": bench.authorization}

        def page(number: int) -> HttpRequest:
            query = _owner_query(pick(number)[1]) | {"limit": PAGE_SIZE}
            return HttpRequest(
                "GET", f"/v2/pointsLedger/getCustomerLedgerInfo?{urlencode(query)}", None, headers
            )

        def balance(number: int) -> HttpRequest:
            query = urlencode(_owner_query(pick(number)[1]))
            return HttpRequest(
                "GET", f"/v2/pointsLedger/getCustomerLedgerBalance?{query}", None, headers
            )

        expected_balance = f"{(per_customer - 1) * POINTS:.3f}"

        def page_ok(number: int, status: int, body: bytes) -> str | None:
            if status != 200:
                return f"page {number}: HTTP {status}: {body[:200]!r}"
            data = json.loads(body)
            entries = data.get("ledgerEntries") or []
            total = data.get("ledgerDetails", {}).get("totalEntries")
            if len(entries) != PAGE_SIZE or total != per_customer:
                return f"page {number}: {len(entries)} entries, totalEntries {total}"
            return None

        def balance_ok(number: int, status: int, body: bytes) -> str | None:
            if status != 200:
                return f"balance {number}: HTTP {status}: {body[:200]!r}"
            balances = json.loads(body).get("ledgerDetails", {}).get("ledgerClosingBalance") or []
            found = [item.get("closingBalance") for item in balances]
            if found != [expected_balance]:
                return f"balance {number}: {found}, expected [{expected_balance}]"
            return None

        server = ctx.server()
        sequential = {"total": samples, "clients": 1, "warmup": warmup, "time_limit": time_limit}
        page_run = load_run(port=server.port, make_request=page, check=page_ok, **sequential)
        balance_run = load_run(
            port=server.port, make_request=balance, check=balance_ok, **sequential
        )
        loaded = load_run(
            port=server.port,
            make_request=page,
            check=page_ok,
            total=sizes["load_requests"],
            clients=sizes["clients"],
            warmup=warmup,
            time_limit=time_limit,
        )

        ctx.latency(
            "page, 1 client",
            page_run.latencies_ms,
            reference_ms=reference_page,
            reference_name="bare indexed SELECT",
            target_p99_ms=10,
        )
        queries_ms = page_queries_latencies([cid for cid, _ in picks], warmup=warmup)
        ctx.latency(
            "page queries (database time of the page read)",
            queries_ms,
            reference_ms=reference_page,
            reference_name="bare indexed SELECT",
        )
        ratio = summarize(queries_ms).p50 / max(summarize(reference_page).p50, 1e-9)
        ctx.figure(
            "page queries / bare SELECT, p50",
            ratio,
            "x",
            higher_is_better=False,
            target=5,
            samples=len(queries_ms),
            detail="the count, the 10 events and their entries, as ledger_events_list reads them",
        )
        ctx.latency(
            "closing balance, 1 client",
            balance_run.latencies_ms,
            reference_ms=reference_balance,
            reference_name="bare account SELECT",
        )
        ctx.figure(
            f"page, {loaded.clients} clients",
            loaded.throughput,
            "req/s",
            samples=loaded.requests,
        )
        ctx.latency(f"page, {loaded.clients} clients", loaded.latencies_ms)
        for label, run in (("page", page_run), ("balance", balance_run), ("loaded", loaded)):
            ctx.detail(f"{label} statuses", dict(run.statuses))
            if run.stopped_by_time:
                ctx.note(f"{label}: stopped by the {time_limit:.0f}s limit at {run.requests}")
        failures = page_run.failures + balance_run.failures + loaded.failures
        ctx.check(
            "every read answered 200 with the right rows",
            failures == 0,
            "; ".join((page_run.errors + balance_run.errors + loaded.errors)[:3]),
        )
        ctx.note(
            f"gunicorn {server.workers} sync workers on 127.0.0.1; load generator: Python "
            "threads with http.client in the harness process"
        )


def page_queries_latencies(customer_ids: list[int], *, warmup: int) -> list[float]:
    """The database time of each page read (ledger_events_list's statements: the count, the
    events and their entries), in this process, summed per page from the statements' own
    timings; the owner lookup and the HTTP and rendering work are left out."""
    customers = Customer.objects.in_bulk(customer_ids)
    spent: list[float] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append((time.perf_counter() - started) * 1000)

    latencies: list[float] = []
    with connection.execute_wrapper(timed):
        for number, customer_id in enumerate(customer_ids):
            spent.clear()
            ledger_events_list(customer=customers[customer_id], page_size=PAGE_SIZE)
            if number >= warmup:
                latencies.append(sum(spent))
    return latencies


def _owner_query(mobile: str) -> dict[str, str | int]:
    return {"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile}
