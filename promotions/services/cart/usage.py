"""Usage limits of cart promotions: counters, holds, use and give-back.

A limited promotion has restrictions per level (Code, Customer, Promotion) and KPI (REDEMPTION,
TRANSACTION, DISCOUNT), each over the promotion's life or a repeating window (frequency DAYS,
WEEKS or MONTHS, `minTimeBetweenRepeat` of them long, counted from the promotion's start date in
the org's time zone). One counter row per (promotion, level, scope, period, window) keeps what
bills used; pending evaluations hold usage in CartEvaluationUsage rows until `held_until`.

What is left = limit - used - held, read under the counter's row lock (SELECT ... FOR UPDATE in
pk order, so evaluations and bills touching several counters never deadlock). Evaluating a cart
holds usage within what is left; adding the bill that carries the evaluation turns the hold into
use (when the hold has expired, what is left is checked again); a return gives the use back.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, Sum

from promotions.models import (
    CartEvaluationPromotion,
    CartEvaluationUsage,
    CartPromotionCounter,
)
from promotions.models.cart import LIFETIME_WINDOW
from promotions.services.cart.engine import CompiledCartPromotion, CounterRestriction

ZERO = Decimal(0)
LEVELS = {
    "Code": CartPromotionCounter.Level.CODE,
    "Customer": CartPromotionCounter.Level.CUSTOMER,
    "Promotion": CartPromotionCounter.Level.PROMOTION,
}
KPI_WORDS = {"REDEMPTION": "redemptions", "TRANSACTION": "transactions", "DISCOUNT": "discount"}

CounterKey = tuple[int, str, str, str, datetime.datetime]


def period_of(restriction: CounterRestriction) -> str:
    return f"{restriction.frequency}:{restriction.repeat}" if restriction.frequency else ""


def window_start(
    *,
    restriction: CounterRestriction,
    promotion_start: datetime.datetime,
    moment: datetime.datetime,
    tz: zoneinfo.ZoneInfo,
) -> datetime.datetime:
    """The start of the restriction's window holding `moment` (windows count from the day the
    promotion starts, in the org's time zone)."""
    if not restriction.frequency:
        return LIFETIME_WINDOW
    first = promotion_start.astimezone(tz).date()
    today = moment.astimezone(tz).date()
    if restriction.frequency == "MONTHS":
        months = (today.year - first.year) * 12 + today.month - first.month
        start_months = first.year * 12 + first.month - 1 + months - months % restriction.repeat
        day = datetime.date(start_months // 12, start_months % 12 + 1, 1)
        if day < first:
            day = first
    else:
        length = restriction.repeat * (7 if restriction.frequency == "WEEKS" else 1)
        days = (today - first).days
        day = first + datetime.timedelta(days=days - days % length)
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz).astimezone(datetime.UTC)


@dataclass
class CounterNeed:
    """A counter a candidate touches and the restrictions it is checked against (`counter_id`
    once the counter is locked)."""

    key: CounterKey
    level_name: str  # Code, Customer, Promotion
    restrictions: tuple[CounterRestriction, ...]
    counter_id: int | None = None


def counter_needs(
    promotion: CompiledCartPromotion,
    *,
    customer_id: int | None,
    code_id: int | None,
    moment: datetime.datetime,
    tz: zoneinfo.ZoneInfo,
) -> list[CounterNeed] | None:
    """The counters of a limited promotion for this customer and code; None when a restriction
    cannot be checked (a customer restriction without a customer, a code one without a code)."""
    grouped: dict[CounterKey, list[CounterRestriction]] = defaultdict(list)
    names: dict[CounterKey, str] = {}
    for restriction in promotion.counter_restrictions:
        if restriction.level == "Code":
            if code_id is None:
                return None
            scope = str(code_id)
        elif restriction.level == "Customer":
            if customer_id is None:
                return None
            scope = str(customer_id)
        else:
            scope = ""
        key = (
            promotion.id,
            LEVELS[restriction.level],
            scope,
            period_of(restriction),
            window_start(
                restriction=restriction,
                promotion_start=promotion.starts_at,
                moment=moment,
                tz=tz,
            ),
        )
        grouped[key].append(restriction)
        names[key] = restriction.level
    return [
        CounterNeed(key=key, level_name=names[key], restrictions=tuple(items))
        for key, items in grouped.items()
    ]


def _covering(keys: Sequence[CounterKey]):
    """Counters whose every field is among the keys' values: a small superset of the keys that
    compiles to five IN lists (an OR of one clause per key is slow to build)."""
    promotion_ids, levels, scopes, periods, starts = (
        set(values) for values in zip(*keys, strict=True)
    )
    return CartPromotionCounter.objects.filter(
        promotion_id__in=promotion_ids,
        level__in=levels,
        scope_key__in=scopes,
        period__in=periods,
        window_start__in=starts,
    )


def _key_of(row: CartPromotionCounter) -> CounterKey:
    return (row.promotion_id, row.level, row.scope_key, row.period, row.window_start)


def counters_lock(
    *, org_id: int, keys: Iterable[CounterKey]
) -> dict[CounterKey, CartPromotionCounter]:
    """Create the missing counters, then lock them in pk order: by id when this process knows
    them all, else through their keys (with the few others of the covering set, harmless)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    known_ids = [_known_counters[key] for key in wanted if key in _known_counters]
    if len(known_ids) == len(wanted):
        by_id = _counters_select_for_update_by_id(known_ids)
        locked = {
            key: row
            for key, counter_id in zip(wanted, known_ids, strict=True)
            if (row := by_id.get(counter_id)) is not None and _key_of(row) == key
        }
        if len(locked) == len(wanted):
            return locked
        # A counter this process knew is gone (its promotion was deleted, or a test rolled it
        # back): look the keys up again below, as on a first use.
        _known_counters.clear()
    if any(key not in _known_counters for key in wanted):
        _counters_create(org_id=org_id, keys=wanted)
    found = _counters_select_for_update(wanted)
    if len(found) < len(wanted):
        # A counter this process knew is gone (its promotion was deleted and made again).
        _known_counters.clear()
        _counters_create(org_id=org_id, keys=wanted)
        found = _counters_select_for_update(wanted)
    if len(_known_counters) > MAX_KNOWN_COUNTERS:
        _known_counters.clear()
    _known_counters.update((key, found[key].pk) for key in wanted)
    return {key: found[key] for key in wanted}


# Counters this process has seen exist, with their ids (a counter's key never changes): their
# creation check (one query) is skipped and they are locked by id. Creating happens before any
# lock is taken, so that first uses never lock out of pk order.
_known_counters: dict[CounterKey, int] = {}
MAX_KNOWN_COUNTERS = 100_000


def _counters_create(*, org_id: int, keys: Sequence[CounterKey]) -> None:
    existing = set(
        _covering(keys)
        .order_by()
        .values_list("promotion_id", "level", "scope_key", "period", "window_start")
    )
    missing = [key for key in keys if key not in existing]
    if missing:
        CartPromotionCounter.objects.bulk_create(
            [
                CartPromotionCounter(
                    org_id=org_id,
                    promotion_id=promotion_id,
                    level=level,
                    scope_key=scope,
                    period=period,
                    window_start=start,
                )
                for promotion_id, level, scope, period, start in missing
            ],
            ignore_conflicts=True,
        )


def _counters_select_for_update(
    keys: Sequence[CounterKey],
) -> dict[CounterKey, CartPromotionCounter]:
    rows = _covering(keys).select_for_update().order_by("pk")
    wanted = set(keys)
    return {key: row for row in rows if (key := _key_of(row)) in wanted}


def _counters_select_for_update_by_id(
    counter_ids: Sequence[int],
) -> dict[int, CartPromotionCounter]:
    """Lock the counters in pk order. Plain SQL: the ORM would spend several times what the
    database does on this query, which every limited evaluation runs."""
    table = CartPromotionCounter._meta.db_table
    columns = ", ".join(field.column for field in CartPromotionCounter._meta.concrete_fields)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    placeholders = ", ".join(["%s"] * len(counter_ids))
    rows = CartPromotionCounter.objects.raw(
        f"SELECT {columns} FROM {table} WHERE id IN ({placeholders}) ORDER BY id{lock}",  # noqa: S608
        list(counter_ids),
    )
    return {row.pk: row for row in rows}


def counters_lock_by_id(counter_ids: Iterable[int]) -> dict[int, CartPromotionCounter]:
    rows = CartPromotionCounter.objects.select_for_update().filter(pk__in=set(counter_ids))
    return {row.pk: row for row in rows.order_by("pk")}


@dataclass
class Held:
    redemptions: int = 0
    transactions: int = 0
    discount: Decimal = ZERO


def held_by_counter(
    counter_ids: Iterable[int],
    *,
    now: datetime.datetime,
    excluding_evaluation_id: int | None = None,
) -> dict[int, Held]:
    """What live holds (not yet expired) take of each counter."""
    ids = sorted(set(counter_ids))
    if not ids:
        return {}
    if excluding_evaluation_id is None:
        return _held_sums(ids, now=now)
    # order_by(): the models' default orderings would join four tables into the sum.
    sums = (
        CartEvaluationUsage.objects.filter(counter_id__in=ids, held_until__gt=now)
        .exclude(applied__evaluation_id=excluding_evaluation_id)
        .order_by()
        .values("counter_id")
        .annotate(
            redemptions=Sum("redemptions"),
            transactions=Sum("transactions"),
            discount=Sum("discount"),
        )
    )
    return {
        row["counter_id"]: Held(
            redemptions=row["redemptions"] or 0,
            transactions=row["transactions"] or 0,
            discount=row["discount"] or ZERO,
        )
        for row in sums
    }


def _held_sums(counter_ids: Sequence[int], *, now: datetime.datetime) -> dict[int, Held]:
    """held_by_counter in plain SQL (every limited evaluation runs it, and the ORM would take
    several times the database's time); the discount goes through the field's converters."""
    table = CartEvaluationUsage._meta.db_table
    field = CartEvaluationUsage._meta.get_field("discount")
    column = field.get_col(table)
    converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
    placeholders = ", ".join(["%s"] * len(counter_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT counter_id, SUM(redemptions), SUM(transactions), SUM(discount) "  # noqa: S608
            f"FROM {table} WHERE counter_id IN ({placeholders}) AND held_until > %s "
            "GROUP BY counter_id",
            [*counter_ids, connection.ops.adapt_datetimefield_value(now)],
        )
        rows = cursor.fetchall()
    held = {}
    for counter_id, redemptions, transactions, discount in rows:
        for converter in converters:
            discount = converter(discount, column, connection)
        held[counter_id] = Held(
            redemptions=int(redemptions or 0),
            transactions=int(transactions or 0),
            discount=discount or ZERO,
        )
    return held


def left_of(counter: CartPromotionCounter, held: Held | None, kpi: str, limit: Decimal) -> Decimal:
    held = held or Held()
    if kpi == "REDEMPTION":
        return limit - counter.used_redemptions - held.redemptions
    if kpi == "TRANSACTION":
        return limit - counter.used_transactions - held.transactions
    return limit - counter.used_discount - held.discount


def limit_message(need: CounterNeed, restriction: CounterRestriction, *, code: str) -> str:
    per = (
        f" per {restriction.repeat} {restriction.frequency.lower()}"
        if restriction.frequency
        else ""
    )
    limit = restriction.limit
    amount = f"{limit.normalize():f}" if restriction.kpi == "DISCOUNT" else f"{int(limit):,}"
    what = KPI_WORDS[restriction.kpi]
    if need.level_name == "Code":
        return f"Code {code} has reached its limit of {amount} {what}{per}"
    if need.level_name == "Customer":
        return f"The customer has reached the limit of {amount} {what}{per} for this promotion"
    return f"The promotion has reached its limit of {amount} {what}{per}"


@dataclass
class Capacity:
    """What a candidate may still take: None means no limit; `refusal` names a reached limit."""

    max_redemptions: int | None = None
    max_discount: Decimal | None = None
    refusal: str = ""


def capacity_of(
    needs: Sequence[CounterNeed],
    counters: dict[CounterKey, CartPromotionCounter],
    held: dict[int, Held],
    *,
    code: str,
) -> Capacity:
    capacity = Capacity()
    for need in needs:
        counter = counters[need.key]
        for restriction in need.restrictions:
            left = left_of(counter, held.get(counter.pk), restriction.kpi, restriction.limit)
            if (restriction.kpi == "DISCOUNT" and left <= 0) or (
                restriction.kpi != "DISCOUNT" and left < 1
            ):
                capacity.refusal = limit_message(need, restriction, code=code)
                return capacity
            if restriction.kpi == "REDEMPTION":
                whole = int(left)
                capacity.max_redemptions = (
                    whole
                    if capacity.max_redemptions is None
                    else min(capacity.max_redemptions, whole)
                )
            elif restriction.kpi == "DISCOUNT":
                capacity.max_discount = (
                    left if capacity.max_discount is None else min(capacity.max_discount, left)
                )
    return capacity


def usage_fits(
    usage: CartEvaluationUsage,
    counter: CartPromotionCounter,
    held: Held | None,
    restrictions: Sequence[CounterRestriction],
) -> bool:
    """Whether the usage still fits the counter's restrictions (a hold that expired)."""
    for restriction in restrictions:
        left = left_of(counter, held, restriction.kpi, restriction.limit)
        need = {
            "REDEMPTION": Decimal(usage.redemptions),
            "TRANSACTION": Decimal(usage.transactions),
            "DISCOUNT": usage.discount,
        }[restriction.kpi]
        if need > left:
            return False
    return True


def counter_restrictions(
    counter: CartPromotionCounter, promotion: CompiledCartPromotion | None
) -> list[CounterRestriction]:
    """The promotion's current restrictions that this counter is checked against."""
    if promotion is None:
        return []
    return [
        restriction
        for restriction in promotion.counter_restrictions
        if LEVELS[restriction.level] == counter.level and period_of(restriction) == counter.period
    ]


def counters_add(usages: Iterable[CartEvaluationUsage], *, sign: int) -> None:
    """Add (sign 1) or take back (sign -1) the usages' amounts on their counters, which the
    caller has locked."""
    totals: dict[int, list] = defaultdict(lambda: [0, 0, ZERO])
    for usage in usages:
        total = totals[usage.counter_id]
        total[0] += usage.redemptions
        total[1] += usage.transactions
        total[2] += usage.discount
    for counter_id, (redemptions, transactions, discount) in sorted(totals.items()):
        CartPromotionCounter.objects.filter(pk=counter_id).update(
            used_redemptions=F("used_redemptions") + sign * redemptions,
            used_transactions=F("used_transactions") + sign * transactions,
            used_discount=F("used_discount") + sign * discount,
        )


def applied_usages(applied: Iterable[CartEvaluationPromotion]) -> list[CartEvaluationUsage]:
    return list(
        CartEvaluationUsage.objects.filter(applied__in=list(applied)).order_by("counter_id", "pk")
    )
