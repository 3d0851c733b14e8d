"""Coupon redemption over HTTP: POST /v2/coupon/redeem to a real gunicorn on 127.0.0.1.

Two scenarios share this file:
- coupon_redeem_http: every request redeems a different customer's coupon of one offer without
  a total limit, from 32 concurrent clients, then from one client (the cost of one call).
  Targets: 1,000 redemptions/s with p99 under 50 ms; single-client p50 under 5 ms.
- coupon_redeem_http_hot_offer: one offer with a total limit, hammered by all 32 clients with
  more requests than the limit: exactly `limit` succeed (checked), the rest are told 714.
  Target: 2,000 requests/s with p99 under 100 ms.

Also measured: the framework's floor, the cheapest request the same server answers (a redirect
with no view work and no database) through the same load generator.

Reference (both): a bare conditional UPDATE of one row (`used = used + 1 WHERE used < quota`)
from 32 threads in the harness, the physical floor of "take one if there is one" on this
machine, without HTTP, auth or the redemption itself.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from bench.context import ScenarioContext
from bench.data import BenchOrg, customers_create
from bench.http import HttpRequest, load_run
from bench.registry import Scenario, scenario
from bench.sql import analyze
from bench.stats import summarize
from bench.timing import hammer
from coupons.models import (
    Coupon,
    CouponRedemption,
    CouponRedemptionCounter,
    CouponSeries,
    DiscountType,
    ExpiryStrategy,
)
from members.models import Customer

BILL_AMOUNT = "500"
# Expected refusals (the hot offer's 714s) must not trip the failed-validation throttle.
UNTHROTTLED = {"COUPON_THROTTLE_TILL_FAILURES": "1000000000"}


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def offer_create(bench: BenchOrg, *, limit: int | None, label: str) -> CouponSeries:
    return CouponSeries.objects.create(
        org=bench.org,
        series_code=secrets.token_hex(4),
        description=f"Bench {label}",
        discount_type=DiscountType.ABSOLUTE,
        discount_value=10,
        expiry_strategy=ExpiryStrategy.DAYS,
        expiry_value=30,
        max_redemptions=limit,
        sends_sms=False,
    )


def coupons_issue(bench: BenchOrg, series: CouponSeries) -> int:
    """One issued coupon per customer of the org, code `B<customer id>`, written set-wise."""
    table = Coupon._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (created_at, updated_at, org_id, series_id, code, is_common, "  # noqa: S608
            "source, customer_id, issued_at, valid_till, issue_metadata, redemption_count) "
            "SELECT now(), now(), %s, %s, 'B' || id, false, 'GENERATED', id, now(), "
            "now() + interval '30 days', '{}', 0 FROM members_customer WHERE org_id = %s",
            [bench.org.pk, series.pk, bench.org.pk],
        )
        count = cursor.rowcount
    analyze(Coupon)
    return count


def conditional_update_reference(ctx: ScenarioContext, bench: BenchOrg, *, attempts: int):
    """The floor: one counter row decremented by 32 threads with a bare conditional UPDATE."""
    series = offer_create(bench, limit=attempts, label="reference")
    row = CouponRedemptionCounter.objects.create(series=series, shard=0, quota=attempts)
    sql = (
        f"UPDATE {CouponRedemptionCounter._meta.db_table} SET used = used + 1 "  # noqa: S608
        "WHERE id = %s AND used < quota"
    )

    def take(number: int) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])
            return cursor.rowcount == 1

    return hammer(
        threads=ctx.sizes["clients"],
        total=attempts,
        operation=take,
        time_limit=float(ctx.sizes["time_limit_seconds"]),
    )


def redeem_request(codes: list[tuple[str, int]], run_key: str, headers: dict[str, str]):
    def make(number: int) -> HttpRequest:
        code, customer_id = codes[number % len(codes)]
        body = {
            "redemptionRequestList": [{"code": code}],
            "user": {"id": str(customer_id)},
            "transactionNumber": f"R{run_key}-{number}",
            "billAmount": BILL_AMOUNT,
        }
        return HttpRequest("POST", "/v2/coupon/redeem", json.dumps(body).encode(), headers)

    return make


def _codes(bench: BenchOrg) -> list[tuple[str, int]]:
    ids = Customer.objects.filter(org=bench.org).order_by("pk").values_list("pk", flat=True)
    return [(f"B{customer_id}", customer_id) for customer_id in ids]


@scenario
class CouponRedeemHttp(Scenario):
    name = "coupon_redeem_http"
    title = "Coupon redemption over HTTP, 32 clients, different coupons (limits held)"
    order = 70
    sizes = {
        "small": {
            "customers": 1_200,
            "requests": 600,
            "single": 200,
            "clients": 32,
            "warmup": 64,
            "time_limit_seconds": 40,
        },
        "medium": {
            "customers": 8_000,
            "requests": 5_000,
            "single": 1_000,
            "clients": 32,
            "warmup": 200,
            "time_limit_seconds": 120,
        },
        "default": {
            "customers": 30_000,
            "requests": 20_000,
            "single": 2_000,
            "clients": 32,
            "warmup": 300,
            "time_limit_seconds": 300,
        },
    }

    def run(self, ctx: ScenarioContext) -> None:
        sizes = ctx.sizes
        bench = ctx.org("coupon redeem")
        with ctx.timed("data"):
            customers_create(bench, count=sizes["customers"])
            analyze(Customer)
            series = offer_create(bench, limit=None, label="different coupons")
            issued = coupons_issue(bench, series)
        codes = _codes(bench)
        needed = sizes["warmup"] * 2 + sizes["requests"] + sizes["single"]
        ctx.check("enough coupons", issued >= needed, f"{issued} coupons for {needed} requests")
        reference = conditional_update_reference(ctx, bench, attempts=sizes["requests"])

        run_key = secrets.token_hex(3)
        headers = {"Authorization": bench.authorization}
        make = redeem_request(codes, run_key, headers)
        errors: list[str] = []

        def answered(number: int, status: int, body: bytes) -> str | None:
            if status != 200:
                return f"request {number}: HTTP {status}: {body[:300]!r}"
            return None

        with environment(UNTHROTTLED):
            server = ctx.server()
        many = load_run(
            port=server.port,
            make_request=make,
            check=answered,
            total=sizes["requests"],
            clients=sizes["clients"],
            warmup=sizes["warmup"],
            time_limit=float(sizes["time_limit_seconds"]),
        )
        offset = sizes["warmup"] + sizes["requests"]
        single = load_run(
            port=server.port,
            make_request=lambda number: make(offset + number),
            check=answered,
            total=sizes["single"],
            clients=1,
            warmup=min(50, sizes["warmup"]),
            time_limit=float(sizes["time_limit_seconds"]),
        )
        # The framework's floor: the cheapest request this server answers (the root's redirect:
        # Django's middleware, no view work, no database), through the same load generator.
        floor = load_run(
            port=server.port,
            make_request=lambda number: HttpRequest("GET", "/"),
            total=sizes["requests"],
            clients=sizes["clients"],
            warmup=sizes["warmup"],
            time_limit=float(sizes["time_limit_seconds"]),
        )
        errors = many.errors + single.errors
        ctx.figure(
            f"floor: GET / (a redirect, no view work), {floor.clients} clients",
            floor.throughput,
            "req/s",
            samples=floor.requests,
            detail="what gunicorn, Django and the load generator cost with nothing to do",
        )
        ctx.figure(
            f"redemptions, {many.clients} clients",
            many.throughput,
            "req/s",
            reference=reference.throughput,
            reference_name="bare conditional UPDATE, 32 threads",
            target=1000,
            samples=many.requests,
        )
        ctx.latency(
            f"redemption, {many.clients} clients",
            many.latencies_ms,
            reference_ms=reference.latencies_ms,
            reference_name="bare conditional UPDATE",
            target_p99_ms=50,
        )
        ctx.latency("redemption, 1 client", single.latencies_ms)
        ctx.figure(
            "redemption, 1 client p50 (target)",
            summarize(single.latencies_ms).p50 if single.latencies_ms else 0.0,
            "ms",
            higher_is_better=False,
            target=5,
            samples=len(single.latencies_ms),
        )
        sent = many.requests + many.warmup_requests + single.requests + single.warmup_requests
        stored = CouponRedemption.objects.filter(series=series, is_active=True).count()
        ctx.check("every redemption answered 200", not errors, "; ".join(errors[:3]))
        ctx.check(
            "one redemption per request",
            stored == sent,
            f"{stored} redemptions for {sent} requests",
        )
        doubled = Coupon.objects.filter(series=series, redemption_count__gt=1).count()
        ctx.check("no coupon redeemed twice", doubled == 0, f"{doubled} coupons with 2+")
        ctx.note(
            f"gunicorn {server.workers} sync workers on 127.0.0.1; load generator: Python "
            "threads with http.client in the harness process (it shares the 2 cores)"
        )


@scenario
class CouponRedeemHttpHotOffer(Scenario):
    name = "coupon_redeem_http_hot_offer"
    title = "Coupon redemption over HTTP, 32 clients, one hot capped offer (limits held)"
    order = 71
    sizes = {
        "small": {
            "customers": 1_000,
            "limit": 400,
            "requests": 800,
            "clients": 32,
            "warmup": 0,
            "time_limit_seconds": 40,
        },
        "medium": {
            "customers": 6_000,
            "limit": 3_000,
            "requests": 5_000,
            "clients": 32,
            "warmup": 0,
            "time_limit_seconds": 120,
        },
        "default": {
            "customers": 25_000,
            "limit": 10_000,
            "requests": 20_000,
            "clients": 32,
            "warmup": 0,
            "time_limit_seconds": 300,
        },
    }

    def run(self, ctx: ScenarioContext) -> None:
        sizes = ctx.sizes
        bench = ctx.org("coupon hot offer")
        limit = sizes["limit"]
        with ctx.timed("data"):
            customers_create(bench, count=sizes["customers"])
            analyze(Customer)
            series = offer_create(bench, limit=limit, label="hot offer")
            coupons_issue(bench, series)
        codes = _codes(bench)
        reference = conditional_update_reference(ctx, bench, attempts=sizes["requests"])
        make = redeem_request(codes, secrets.token_hex(3), {"Authorization": bench.authorization})

        def answered(number: int, status: int, body: bytes) -> str | None:
            if status == 200:
                return None
            if status == 400 and b'"code":714' in body.replace(b" ", b""):
                return None  # the offer's limit: expected once it is reached
            return f"request {number}: HTTP {status}: {body[:300]!r}"

        with environment(UNTHROTTLED):
            server = ctx.server()
        result = load_run(
            port=server.port,
            make_request=make,
            check=answered,
            total=sizes["requests"],
            clients=sizes["clients"],
            warmup=0,
            time_limit=float(sizes["time_limit_seconds"]),
        )
        ctx.figure(
            f"hot-offer requests, {result.clients} clients",
            result.throughput,
            "req/s",
            reference=reference.throughput,
            reference_name="bare conditional UPDATE, 32 threads",
            target=2000,
            samples=result.requests,
        )
        ctx.latency(
            f"hot-offer request, {result.clients} clients",
            result.latencies_ms,
            reference_ms=reference.latencies_ms,
            reference_name="bare conditional UPDATE",
            target_p99_ms=100,
        )
        ctx.detail("statuses", dict(result.statuses))
        successes = result.statuses.get(200, 0)
        stored = CouponRedemption.objects.filter(series=series, is_active=True).count()
        counted = sum(
            CouponRedemptionCounter.objects.filter(series=series).values_list("used", flat=True)
        )
        expected = min(limit, result.requests)
        ctx.check("only 200 or 714 answers", result.failures == 0, "; ".join(result.errors[:3]))
        ctx.check(
            "the offer's limit held exactly",
            successes == expected and stored == expected and counted == expected,
            f"{successes} answered 200, {stored} stored, {counted} counted, limit {limit} "
            f"for {result.requests} requests",
        )
        ctx.note(
            f"limit {limit:,} of {result.requests:,} requests; gunicorn {server.workers} sync "
            "workers; the counter is split into COUPON_REDEMPTION_COUNTER_SHARDS row shards"
        )
