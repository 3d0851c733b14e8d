"""Redeem coupons: every API (v1.1, v2 single and bulk) and a bill's coupons go through
`coupon_redeem`, so the offer's rules hold the same way everywhere.

One call redeems all its coupons or none (the v2 bulk contract). Inside one transaction:
the coupons are locked in id order; a retry (same code and bill, or the same idempotency key)
returns the first redemption; rows that decide per-customer rules are locked; every rule is
checked; then the offer's sharded counter takes one unit (its total limit, exact under
concurrency), the redemption row is written and the coupon's count goes up.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from coupons.exceptions import (
    CouponCodeInvalidError,
    CouponNotIssuedToCustomerError,
    CouponRedemptionReplayMismatchError,
    CouponRedemptionRuleError,
    CouponRepeatedInRequestError,
    OfferRedemptionLimitReachedError,
)
from coupons.models import (
    Coupon,
    CouponCustomerUsage,
    CouponRedemption,
    CouponSeries,
)
from coupons.services.codes import normalize_code
from coupons.services.currency import coupon_value_for_store
from coupons.services.redemption.counters import (
    counter_take,
    counter_take_free_statement,
    counters_used,
)
from coupons.services.redemption.rules import (
    RedemptionAsk,
    RedemptionUsage,
    clashing_offers,
    needs_customer_usage,
    needs_transaction_count,
    redemption_failures,
    redemptions_left,
)
from loyalty_site.core.compiled import CompiledQuery, insert_parts, marker_int, marker_str
from members.models import Customer, Till, Transaction
from members.selectors.transactions import customer_transaction_count


@dataclass(frozen=True)
class RedemptionTarget:
    """One coupon to redeem: by code (any case) or by coupon id."""

    code: str = ""
    coupon_id: int | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.code or (str(self.coupon_id) if self.coupon_id is not None else "")


@dataclass
class RedemptionOutcome:
    redemption: CouponRedemption
    coupon: Coupon
    replayed: bool = False


@dataclass
class CouponCheck:
    """The answer of "is redeemable" for one code."""

    code: str
    coupon: Coupon | None
    failures: list[CouponRedemptionRuleError]
    redemptions_left: int = -1
    customer_redemptions: int = 0

    @property
    def is_redeemable(self) -> bool:
        return not self.failures


# Finding the coupons ---------------------------------------------------------------------------
def _live_code_query(*, lock: bool) -> CompiledQuery[Coupon]:
    def build(org_id: int, code: str):
        coupons = Coupon.objects.select_related("series", "series__org")
        if lock:
            coupons = coupons.select_for_update(of=("self",))
        live = coupons.filter(org_id=org_id, code=code, is_common=False, revoked_at__isnull=True)
        return live.order_by("pk")[:1]

    return CompiledQuery(build, org_id=marker_int(), code=marker_str())


# The usual lookup (a live code in one org, with its offer and org) compiled once per process;
# it is on every redemption and check.
_LIVE_CODE = {False: _live_code_query(lock=False), True: _live_code_query(lock=True)}


def _coupon_find(
    org_ids: Sequence[int],
    target: RedemptionTarget,
    customer: Customer,
    *,
    lock: bool = False,
) -> Coupon | None:
    """The coupon a target names, each step an indexed lookup: by id; a live code (the org's
    unique index of live codes); the redeemer's own row of a common code; else a revoked row
    (so the answer can say it was revoked)."""
    coupons = Coupon.objects.select_related("series", "series__org")
    if lock:
        coupons = coupons.select_for_update(of=("self",))
    if target.coupon_id is not None:
        return coupons.filter(org_id__in=org_ids, pk=target.coupon_id).first()
    code = normalize_code(target.code)
    if len(org_ids) == 1:
        coupon = _LIVE_CODE[lock].first(org_id=org_ids[0], code=code)
    else:
        live = coupons.filter(
            org_id__in=org_ids, code=code, is_common=False, revoked_at__isnull=True
        )
        coupon = live.order_by("pk").first()
    if coupon is not None:
        return coupon
    common = CouponSeries.objects.filter(org_id__in=org_ids, generic_code=code).values("pk")
    coupon = coupons.filter(series__in=common, customer_id=customer.pk, is_common=True).first()
    if coupon is not None:
        return coupon
    revoked = coupons.filter(org_id__in=org_ids, code=code, revoked_at__isnull=False)
    return revoked.order_by("-revoked_at", "-pk").first()


def _not_found(org_ids: Sequence[int], target: RedemptionTarget) -> CouponRedemptionRuleError:
    code = normalize_code(target.code) if target.code else ""
    if code and CouponSeries.objects.filter(org_id__in=org_ids, generic_code=code).exists():
        return CouponNotIssuedToCustomerError(
            f"Common code {code} was not issued to this customer", coupon_code=target.label
        )
    return CouponCodeInvalidError(
        f"Coupon {target.label or '(none)'} does not exist", coupon_code=target.label
    )


def _coupons_locked(
    org_ids: Sequence[int], targets: Sequence[RedemptionTarget], customer: Customer
) -> list[Coupon]:
    """The coupons of `targets` in request order, locked in id order (no deadlocks between two
    requests that share coupons). Raises 702/703 for a code that names no coupon."""
    if len(targets) == 1:
        coupon = _coupon_find(org_ids, targets[0], customer, lock=True)
        if coupon is None:
            raise _not_found(org_ids, targets[0])
        return [coupon]
    ids: list[int] = []
    for target in targets:
        coupon = _coupon_find(org_ids, target, customer)
        if coupon is None:
            raise _not_found(org_ids, target)
        ids.append(coupon.pk)
    if len(set(ids)) != len(ids):
        raise CouponRepeatedInRequestError()
    base = Coupon.objects.select_related("series", "series__org").select_for_update(of=("self",))
    locked = {coupon.pk: coupon for coupon in base.filter(pk__in=ids).order_by("pk")}
    return [locked[pk] for pk in ids]


def targets_check_repeats(targets: Sequence[RedemptionTarget]) -> None:
    """716 when one code (any case) or id is given twice in a request."""
    seen: set[tuple[str, Any]] = set()
    for target in targets:
        key = (
            ("id", target.coupon_id)
            if target.coupon_id is not None
            else (
                "code",
                normalize_code(target.code),
            )
        )
        if key in seen:
            raise CouponRepeatedInRequestError(f"Coupon {target.label} is given more than once")
        seen.add(key)


# Usage the rules read --------------------------------------------------------------------------
def _lock_customer(series: CouponSeries, customer: Customer) -> None:
    CouponCustomerUsage.objects.bulk_create(
        [CouponCustomerUsage(series_id=series.pk, customer_id=customer.pk)],
        ignore_conflicts=True,
    )
    CouponCustomerUsage.objects.select_for_update().filter(
        series_id=series.pk, customer_id=customer.pk
    ).exists()


EXCLUSIVE_CACHE_SECONDS = 60


def _exclusive_cache_key(org_id: int) -> str:
    return f"coupons:exclusive-offers:{org_id}"


def exclusive_offers_forget(*, org_id: int) -> None:
    """Drop the cached set of mutually exclusive offers (an offer's settings changed)."""
    cache.delete(_exclusive_cache_key(org_id))


def exclusive_offer_ids(*, org_id: int) -> frozenset[int]:
    """Offers of the org on either side of a mutual exclusion (cached for a minute, dropped
    when an offer is saved), so a bill's other redemptions are read only when they matter."""
    key = _exclusive_cache_key(org_id)
    found = cache.get(key)
    if found is None:
        ids: set[int] = set()
        for series_id, exclusive in CouponSeries.objects.filter(org_id=org_id).values_list(
            "pk", "past_issual_series_ids"
        ):
            if exclusive:
                ids.add(series_id)
                ids.update(int(other) for other in exclusive)
        found = frozenset(ids)
        cache.set(key, found, EXCLUSIVE_CACHE_SECONDS)
    return found


def _exclusive_on_bill(
    *,
    org_ids: Sequence[int],
    customer: Customer,
    transaction_number: str,
    series_ids: Iterable[int],
) -> dict[int, list[int]]:
    """Offers already redeemed on this bill by this customer, with their exclusive offer ids
    (read only when one of `series_ids` takes part in a mutual exclusion)."""
    if not transaction_number:
        return {}
    involved = set().union(*(exclusive_offer_ids(org_id=org_id) for org_id in org_ids))
    if not involved.intersection(series_ids):
        return {}
    rows = (
        CouponRedemption.objects.filter(
            org_id__in=org_ids,
            customer=customer,
            transaction_number=transaction_number,
            is_active=True,
        )
        .values_list("series_id", "series__past_issual_series_ids")
        .distinct()
    )
    return {series_id: list(exclusive or []) for series_id, exclusive in rows}


def redemption_usage(
    *,
    coupon: Coupon,
    customer: Customer,
    on_bill: Mapping[int, Sequence[int]],
    count_offer: bool,
    exclude_transaction_id: int | None = None,
) -> RedemptionUsage:
    """What the rules need about earlier (active) redemptions of `coupon`'s offer."""
    series = coupon.series
    usage = RedemptionUsage()
    # A check reports the customer's redemptions (numberOfRedemptionsByUser) whatever the rules.
    if count_offer or needs_customer_usage(series):
        mine = CouponRedemption.objects.filter(series=series, customer=customer, is_active=True)
        totals = mine.aggregate(count=Count("id"), last=Max("redeemed_at"))
        usage.customer_in_offer = totals["count"]
        usage.customer_last_redeemed_at = totals["last"]
        if series.is_multiple_use_allowed:
            usage.customer_of_coupon = mine.filter(coupon=coupon).count()
    if needs_transaction_count(series):
        usage.customer_transactions = customer_transaction_count(
            customer_id=customer.pk, exclude_id=exclude_transaction_id
        )
    if count_offer and series.max_redemptions is not None:
        usage.offer_used = counters_used(series=series)
    usage.exclusive_offers_on_bill = clashing_offers(series, on_bill)
    return usage


# Checks ----------------------------------------------------------------------------------------
def coupons_check(
    *,
    org_ids: Sequence[int],
    codes: Sequence[str],
    customer: Customer,
    till: Till | None,
    bill_amount: Decimal | None = None,
    transaction_number: str = "",
    at: datetime.datetime | None = None,
) -> list[CouponCheck]:
    """ "Is redeemable" for each code: every rule that fails (nothing is written or locked)."""
    at = at or timezone.now()
    ask = RedemptionAsk(
        customer=customer,
        till=till,
        at=at,
        bill_amount=bill_amount,
        transaction_number=transaction_number,
        is_check=True,
    )
    found: list[tuple[str, Coupon | None, CouponRedemptionRuleError | None]] = []
    seen: set[str] = set()
    for raw in codes:
        code = normalize_code(raw)
        target = RedemptionTarget(code=code)
        if code in seen:
            found.append((code, None, CouponRepeatedInRequestError()))
            continue
        seen.add(code)
        coupon = _coupon_find(org_ids, target, customer)
        found.append((code, coupon, None if coupon else _not_found(org_ids, target)))
    # The bill's other redemptions are the same for every code: read them once.
    on_bill = _exclusive_on_bill(
        org_ids=org_ids,
        customer=customer,
        transaction_number=transaction_number,
        series_ids=[coupon.series_id for _code, coupon, _error in found if coupon],
    )
    checks: list[CouponCheck] = []
    for code, coupon, error in found:
        if coupon is None:
            checks.append(CouponCheck(code, None, [error]))
            continue
        usage = redemption_usage(
            coupon=coupon, customer=customer, on_bill=on_bill, count_offer=True
        )
        failures = redemption_failures(coupon=coupon, ask=ask, usage=usage)
        checks.append(
            CouponCheck(
                code=coupon.code,
                coupon=coupon,
                failures=failures,
                redemptions_left=redemptions_left(coupon, coupon.series, usage),
                customer_redemptions=usage.customer_in_offer,
            )
        )
    return checks


# Redeem ----------------------------------------------------------------------------------------
def _replay(
    coupon: Coupon,
    *,
    customer: Customer,
    transaction_number: str,
    idempotency_key: str | None,
) -> CouponRedemption | None:
    """The earlier redemption this request repeats, if any."""
    earlier = None
    if idempotency_key:
        earlier = CouponRedemption.objects.filter(
            org_id=coupon.org_id, idempotency_key=idempotency_key, coupon=coupon
        ).first()
    if earlier is None and transaction_number and coupon.redemption_count:
        earlier = CouponRedemption.objects.filter(
            coupon=coupon, transaction_number=transaction_number, is_active=True
        ).first()
    if earlier is not None and earlier.customer_id != customer.pk:
        raise CouponRedemptionReplayMismatchError(
            f"Coupon {coupon.code} was redeemed on bill {transaction_number or '-'} by another "
            "customer"
        )
    return earlier


def _redemption_write(
    redemption: CouponRedemption, *, coupon: Coupon, at: datetime.datetime
) -> bool:
    """Count `redemption` in its offer's counter, write it and add one to the coupon's count;
    False when the offer's total limit is reached (nothing written).

    On PostgreSQL the usual case is one round trip: one statement takes a unit from a free
    counter shard, inserts the redemption with that shard and counts it on the coupon. When no
    shard was free (none with room, or every one with room held by a transaction in flight) it
    writes nothing and the counter's waiting path decides, as it does on SQLite."""
    vendor = connection.vendor
    if vendor == "postgresql":
        take_sql, take_params = counter_take_free_statement(series_id=coupon.series_id, at=at)
        columns, row, (values,) = insert_parts([redemption], leave_out="counter_shard")
        # Table and column names come from the models, values are parameters.
        sql = (
            f"WITH taken AS ({take_sql}), "  # noqa: S608
            f"counted AS (UPDATE {Coupon._meta.db_table} "
            "SET redemption_count = redemption_count + 1 "
            "WHERE id = %s AND EXISTS (SELECT 1 FROM taken)) "
            f"INSERT INTO {CouponRedemption._meta.db_table} ({', '.join(columns)}, counter_shard) "
            f"SELECT {row}, taken.shard FROM taken RETURNING id, counter_shard"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*take_params, coupon.pk, *values])
            written = cursor.fetchone()
        if written is not None:
            redemption.pk, redemption.counter_shard = written
            redemption._state.adding = False
            redemption._state.db = connection.alias
            return True
    shard = counter_take(series=coupon.series, at=at, free_tried=vendor == "postgresql")
    if shard is None:
        return False
    redemption.counter_shard = shard
    redemption.save(force_insert=True)
    Coupon.objects.filter(pk=coupon.pk).update(redemption_count=F("redemption_count") + 1)
    return True


@transaction.atomic
def coupon_redeem(
    *,
    org_ids: Iterable[int],
    targets: Sequence[RedemptionTarget],
    customer: Customer,
    actor: Till | None,
    bill_amount: Decimal | None = None,
    transaction_number: str = "",
    redeemed_at: datetime.datetime | None = None,
    bill: Transaction | None = None,
    idempotency_key: str | None = None,
) -> list[RedemptionOutcome]:
    """Redeem every coupon of `targets` for `customer` on one bill, or none of them.

    Raises the first failed rule of the first coupon that fails (a CouponRedemptionRuleError
    whose `failures` lists every failed rule of that coupon), 702/703 for an unknown code, 716
    for a code given twice, 751 when the bill's redemption of the code was someone else's.
    """
    org_ids = list(org_ids)
    targets_check_repeats(targets)
    now = timezone.now()
    at = redeemed_at or now
    transaction_number = (transaction_number or "").strip()
    coupons = _coupons_locked(org_ids, targets, customer)
    outcomes: list[RedemptionOutcome | None] = []
    for coupon in coupons:
        earlier = _replay(
            coupon,
            customer=customer,
            transaction_number=transaction_number,
            idempotency_key=idempotency_key,
        )
        outcomes.append(
            RedemptionOutcome(redemption=earlier, coupon=coupon, replayed=True) if earlier else None
        )
    fresh = [coupon for coupon, outcome in zip(coupons, outcomes, strict=True) if outcome is None]
    if not fresh:
        return [outcome for outcome in outcomes if outcome is not None]

    for series in sorted(
        {coupon.series_id: coupon.series for coupon in fresh}.values(), key=lambda s: s.pk
    ):
        if needs_customer_usage(series):
            _lock_customer(series, customer)

    ask = RedemptionAsk(
        customer=customer,
        till=actor,
        at=at,
        bill_amount=bill_amount,
        transaction_number=transaction_number,
    )
    on_bill = _exclusive_on_bill(
        org_ids=org_ids,
        customer=customer,
        transaction_number=transaction_number,
        series_ids=[coupon.series_id for coupon in fresh],
    )
    in_request = {
        coupon.series_id: list(coupon.series.past_issual_series_ids or []) for coupon in fresh
    }
    for coupon in fresh:
        others = {**on_bill, **{k: v for k, v in in_request.items() if k != coupon.series_id}}
        usage = redemption_usage(
            coupon=coupon,
            customer=customer,
            on_bill=others,
            count_offer=False,
            exclude_transaction_id=bill.pk if bill is not None else None,
        )
        failures = redemption_failures(coupon=coupon, ask=ask, usage=usage, check_offer_limit=False)
        if failures:
            first = failures[0]
            raise type(first)(
                f"{coupon.code}: {first.message}" if len(coupons) > 1 else first.message,
                failures=failures,
                coupon_code=coupon.code,
            )

    store = actor.store if actor is not None else None
    for index, coupon in enumerate(coupons):
        if outcomes[index] is not None:
            continue
        series = coupon.series
        value = coupon_value_for_store(series=series, store=store) if store is not None else None
        redemption = CouponRedemption(
            org_id=coupon.org_id,
            coupon=coupon,
            series=series,
            customer=customer,
            till=actor,
            store=store,
            transaction_number=transaction_number,
            transaction=bill,
            bill_amount=bill_amount,
            coupon_value=value.value if value is not None else series.discount_value,
            currency=value.currency if value is not None else series.effective_currency,
            redeemed_at=at,
            custom_fields=dict(targets[index].custom_fields or {}),
            last_status_change_on=now,
            idempotency_key=idempotency_key,
        )
        if not _redemption_write(redemption, coupon=coupon, at=now):
            raise OfferRedemptionLimitReachedError(
                f"{coupon.code}: {OfferRedemptionLimitReachedError.message}"
                if len(coupons) > 1
                else None,
                failures=[OfferRedemptionLimitReachedError()],
                coupon_code=coupon.code,
            )
        coupon.redemption_count += 1
        outcomes[index] = RedemptionOutcome(redemption=redemption, coupon=coupon)
    return [outcome for outcome in outcomes if outcome is not None]
