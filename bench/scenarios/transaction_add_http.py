"""Transaction add over HTTP: POST /v2/transactions (one REGULAR bill with two line items for
one of many customers) from 32 concurrent clients to a real gunicorn on 127.0.0.1, bounded in
request count and in time. The TRANSACTION_ADD pipeline runs as configured; the bench org has no
promotion, so this is the bill alone (transaction_add_earning_http adds 200 promotions)."""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlencode

from bench.context import ScenarioContext
from bench.data import BenchOrg, customer_rows, customers_create
from bench.http import HttpRequest, LoadResult, load_run
from bench.registry import Scenario, scenario
from bench.sql import analyze
from members.models import Customer, Transaction

BILL_AMOUNT = 350
SIZES = {
    "small": {
        "customers": 500,
        "requests": 200,
        "clients": 32,
        "warmup": 32,
        "time_limit_seconds": 40,
    },
    "medium": {
        "customers": 5_000,
        "requests": 3_000,
        "clients": 32,
        "warmup": 100,
        "time_limit_seconds": 120,
    },
    "default": {
        "customers": 20_000,
        "requests": 10_000,
        "clients": 32,
        "warmup": 200,
        "time_limit_seconds": 300,
    },
}


def bills_customers_create(ctx: ScenarioContext, bench: BenchOrg) -> None:
    with ctx.timed("customers"):
        customers_create(bench, count=ctx.sizes["customers"])
        analyze(Customer)


def bills_post(ctx: ScenarioContext, bench: BenchOrg, *, label: str) -> LoadResult:
    """Post the bills through gunicorn, record throughput and latency, and check that every
    request stored one bill."""
    sizes = ctx.sizes
    mobiles = [mobile for _, mobile in customer_rows(bench)]
    run_key = secrets.token_hex(3)
    headers = {"Authorization": bench.authorization}

    def bill(number: int) -> HttpRequest:
        query = urlencode(
            {
                "source": "INSTORE",
                "identifierName": "mobile",
                "identifierValue": mobiles[(number * 7919) % len(mobiles)],
            }
        )
        body = {
            "type": "REGULAR",
            "billNumber": f"B{run_key}-{number}",
            "billAmount": str(BILL_AMOUNT),
            "lineItemsV2": [
                {"itemCode": "sku-1", "qty": 1, "rate": 250, "value": 250, "amount": 250},
                {"itemCode": "sku-2", "qty": 2, "rate": 50, "value": 100, "amount": 100},
            ],
        }
        return HttpRequest("POST", f"/v2/transactions?{query}", json.dumps(body).encode(), headers)

    def answered(number: int, status: int, body: bytes) -> str | None:
        if status != 200:
            return f"bill {number}: HTTP {status}: {body[:300]!r}"
        return None

    server = ctx.server()
    result = load_run(
        port=server.port,
        make_request=bill,
        check=answered,
        total=sizes["requests"],
        clients=sizes["clients"],
        warmup=sizes["warmup"],
        time_limit=float(sizes["time_limit_seconds"]),
    )
    ctx.figure(
        f"{label}, {result.clients} clients", result.throughput, "req/s", samples=result.requests
    )
    ctx.latency(f"{label}, {result.clients} clients", result.latencies_ms)
    ctx.detail("statuses", dict(result.statuses))
    if result.stopped_by_time:
        ctx.note(f"stopped by the {sizes['time_limit_seconds']}s limit")
    stored = Transaction.objects.filter(org=bench.org).count()
    sent = result.requests + result.warmup_requests
    ctx.check("every bill answered 200", result.failures == 0, "; ".join(result.errors[:3]))
    ctx.check(
        "one stored bill per request",
        stored == sent,
        f"{stored} stored for {sent} requests ({result.statuses_text()})",
    )
    ctx.note(
        f"gunicorn {server.workers} sync workers on 127.0.0.1; load generator: Python threads "
        "with http.client in the harness process"
    )
    return result


@scenario
class TransactionAddHttp(Scenario):
    name = "transaction_add_http"
    title = "Transaction add over HTTP (POST /v2/transactions), 32 clients, no promotion"
    order = 45
    sizes = SIZES

    def run(self, ctx: ScenarioContext) -> None:
        bench = ctx.org("transaction add")
        bills_customers_create(ctx, bench)
        bills_post(ctx, bench, label="bills")
