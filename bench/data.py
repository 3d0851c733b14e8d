"""Benchmark data, built set-wise: a throwaway org with a store, a till and a program, its
customers (generate_series) and their ledgers (events, entries, lots joined from the rows just
written). Every row satisfies the models' constraints; the ledger histories also keep the
ledger's invariants (balance = sum of entries, running closing balances, and lots = balance when
they are written with lots)."""

from __future__ import annotations

import base64
import datetime
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from bench.cleanup import BENCH_ORG_PREFIX
from bench.sql import analyze, insert_select, triggers_off
from ledger.models import EntryType, EventName, LedgerEntry, LedgerEvent, PointsAccount, PointsLot
from loyalty_site.api.authentication import md5_hex
from members.models import (
    Customer,
    Org,
    PointsCategory,
    PointsExpiryPolicy,
    Program,
    RegistrationSource,
    Store,
    Till,
)

MOBILE_PREFIX = "8"  # mobiles are 8 followed by 11 digits of the customer's number
HOUR = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class BenchOrg:
    org: Org
    store: Store
    till: Till
    program: Program
    till_password: str

    @property
    def authorization(self) -> str:
        """The Basic authorization header value for the till (contract §8)."""
        token = f"{self.till.code}:{md5_hex(self.till_password)}".encode()
        return "Basic " + base64.b64encode(token).decode()


@transaction.atomic
def bench_org_create(*, label: str) -> BenchOrg:
    """A fresh org with one store, one till (with an API password) and a default program."""
    token = secrets.token_hex(4)
    org = Org.objects.create(name=f"{BENCH_ORG_PREFIX}{label} {token}", time_zone="UTC")
    store = Store.objects.create(
        org=org, code=f"bench-{token}", name=f"Bench store {token}", currency="USD"
    )
    password = secrets.token_urlsafe(16)
    till = Till.objects.create(
        org=org,
        store=store,
        code=f"bench-{token}.till",
        name="Bench till",
        password_hash=make_password(md5_hex(password)),
    )
    program = Program.objects.create(
        org=org,
        name="Bench program",
        is_default=True,
        expiry_policy=PointsExpiryPolicy.NONE,
    )
    return BenchOrg(org=org, store=store, till=till, program=program, till_password=password)


def bench_org_forget_credentials(bench: BenchOrg) -> None:
    """Drop the cached Basic-auth check of the till (it would expire after a few minutes)."""
    from django.core.cache import cache

    from loyalty_site.api import authentication

    key_for = getattr(authentication, "_basic_cache_key", None)
    if key_for is not None:
        cache.delete(key_for(bench.till, md5_hex(bench.till_password)))


def customers_create(bench: BenchOrg, *, count: int) -> int:
    """`count` customers numbered 1..count: mobile 8<number, 11 digits>, externalId bench-<n>."""
    with triggers_off():
        return insert_select(
            Customer,
            values={
                "org": "%(org)s",
                "mobile": f"'{MOBILE_PREFIX}' || lpad(g::text, 11, '0')",
                "external_id": "'bench-' || g",
                "first_name": "'Bench'",
                "last_name": "'Customer ' || g",
                "registration_source": "%(source)s",
                "registered_at": "now()",
                "registered_till": "%(till)s",
                "registered_store": "%(store)s",
            },
            source="generate_series(1, %(count)s) AS g",
            params={
                "org": bench.org.pk,
                "count": count,
                "source": RegistrationSource.INSTORE,
                "till": bench.till.pk,
                "store": bench.store.pk,
            },
        )


def customer_rows(bench: BenchOrg) -> list[tuple[int, str]]:
    """(id, mobile) of the org's customers, by id."""
    return list(Customer.objects.filter(org=bench.org).order_by("pk").values_list("pk", "mobile"))


def ledger_history_create(
    bench: BenchOrg,
    *,
    category: str = PointsCategory.REGULAR,
    credits_per_customer: int,
    points: Decimal | int = 10,
    opening_points: Decimal | int = 0,
    lot_expires_at: datetime.datetime | None = None,
    lot_matures_at: datetime.datetime | None = None,
    with_lots: bool = True,
    customer_ids: list[int] | None = None,
) -> dict[str, int]:
    """Give each customer of the org (or of `customer_ids`) one account of `category` in the
    bench program with an opening-balance event (`opening_points`) followed by
    `credits_per_customer` credit events of `points`, one hour apart, ending an hour ago.
    With `with_lots`, every entry with points gets its lot (expiring / maturing as given).
    Returns the rows written per table."""
    steps = credits_per_customer + 1
    # Sequence n's event is at base + n hours; entries recover n from the event time.
    base = timezone.now().replace(microsecond=0) - (steps + 1) * HOUR
    marker = f"bench:{category}:{secrets.token_hex(6)}"
    params = {
        "org": bench.org.pk,
        "program": bench.program.pk,
        "category": category,
        "steps": steps,
        "points": Decimal(points),
        "opening": Decimal(opening_points),
        "base": base,
        "marker": marker,
        "till": bench.till.pk,
        "store": bench.store.pk,
        "ids": customer_ids,
        "opening_event": EventName.CUSTOMER_REGISTRATION,
        "credit_event": EventName.TRANSACTION_ADD,
        "opening_type": EntryType.OPENING_BALANCE,
        "credit_type": EntryType.CREDIT,
        "expires": lot_expires_at,
        "matures": lot_matures_at,
    }
    chosen = "c.org_id = %(org)s"
    if customer_ids is not None:
        chosen += " AND c.id = ANY(%(ids)s)"
    written: dict[str, int] = {}
    with triggers_off():
        written["accounts"] = insert_select(
            PointsAccount,
            values={
                "org": "c.org_id",
                "customer": "c.id",
                "program": "%(program)s",
                "category": "%(category)s",
                "balance": "%(opening)s + (%(steps)s - 1) * %(points)s",
                "last_sequence": "%(steps)s",
            },
            source=f"members_customer c WHERE {chosen}",
            params=params,
        )
        # Fresh statistics, so that the joins below plan as hash joins, not nested loops.
        analyze(PointsAccount)
        event_time = "%(base)s + s.n * interval '1 hour'"
        written["events"] = insert_select(
            LedgerEvent,
            values={
                "org": "c.org_id",
                "customer": "c.id",
                "event_name": "CASE WHEN s.n = 1 THEN %(opening_event)s ELSE %(credit_event)s END",
                "occurred_at": event_time,
                "net_points": "CASE WHEN s.n = 1 THEN 0 ELSE %(points)s END",
                "source": "'INSTORE'",
                "till": "%(till)s",
                "store": "%(store)s",
                "reason": "%(marker)s",
                "created_at": event_time,
                "updated_at": event_time,
            },
            source=(
                "members_customer c CROSS JOIN generate_series(1, %(steps)s) AS s(n) "
                f"WHERE {chosen} ORDER BY c.id, s.n"
            ),
            params=params,
        )
        analyze(LedgerEvent)
        written["entries"] = insert_select(
            LedgerEntry,
            values={
                "event": "e.id",
                "account": "a.id",
                "entry_type": "CASE WHEN q.n = 1 THEN %(opening_type)s ELSE %(credit_type)s END",
                "sequence": "q.n",
                "points": "CASE WHEN q.n = 1 THEN %(opening)s ELSE %(points)s END",
                "closing_balance": "%(opening)s + (q.n - 1) * %(points)s",
                "created_at": "e.created_at",
            },
            source=(
                "ledger_ledgerevent e "
                "CROSS JOIN LATERAL (SELECT round(extract(epoch FROM e.created_at - %(base)s) "
                "/ 3600)::integer AS n) q "
                "JOIN ledger_pointsaccount a ON a.customer_id = e.customer_id "
                "AND a.program_id = %(program)s AND a.category = %(category)s "
                "WHERE e.org_id = %(org)s AND e.reason = %(marker)s ORDER BY e.id"
            ),
            params=params,
        )
        if with_lots:
            written["lots"] = insert_select(
                PointsLot,
                values={
                    "account": "en.account_id",
                    "source_entry": "en.id",
                    "original_points": "en.points",
                    "remaining_points": "en.points",
                    "expires_at": "%(expires)s::timestamptz",
                    "matures_at": "%(matures)s::timestamptz",
                    "created_at": "en.created_at",
                },
                source=(
                    "ledger_ledgerentry en JOIN ledger_ledgerevent e ON e.id = en.event_id "
                    "WHERE e.org_id = %(org)s AND e.reason = %(marker)s AND en.points > 0 "
                    "ORDER BY en.id"
                ),
                params=params,
            )
    return written
