"""An offer's redemption count, sharded so that a hot offer does not serialise on one row.

Each offer has COUPON_REDEMPTION_COUNTER_SHARDS counter rows. Without a total limit their quota
is empty and a redemption adds one to a random shard. With a limit, the limit is split into the
shards' quotas, which always add up to the limit; a redemption takes one unit from the first
shard, starting at a random one, that still has room (`UPDATE ... WHERE used < quota`, the row
locked and re-checked by PostgreSQL when another transaction got there first). No shard with room
means the limit is reached: exact, while 32 concurrent redemptions spread over the shards' row
locks instead of queueing on one. A reversal gives its unit back to the shard it came from.
"""

from __future__ import annotations

import datetime
import random

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum

from coupons.models import CouponRedemptionCounter, CouponSeries

DEFAULT_SHARDS = 16


def shard_count() -> int:
    return max(1, int(getattr(settings, "COUPON_REDEMPTION_COUNTER_SHARDS", DEFAULT_SHARDS)))


def quotas_split(limit: int | None, shards: int) -> list[int | None]:
    """`limit` spread over `shards` (the first ones get the remainder)."""
    if limit is None:
        return [None] * shards
    base, extra = divmod(limit, shards)
    return [base + (1 if index < extra else 0) for index in range(shards)]


def counters_ensure(*, series: CouponSeries) -> None:
    """Create the offer's shards when missing. Quotas are a pure function of the limit, so
    concurrent creators insert the same rows and conflicts are ignored."""
    shards = shard_count()
    CouponRedemptionCounter.objects.bulk_create(
        [
            CouponRedemptionCounter(series_id=series.pk, shard=index, quota=quota)
            for index, quota in enumerate(quotas_split(series.max_redemptions, shards))
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def counters_rebalance(*, series: CouponSeries) -> None:
    """Re-spread the quotas after the offer's total limit changed: each shard keeps what it
    used, and what is left of the new limit is split again."""
    counters_ensure(series=series)
    rows = list(
        CouponRedemptionCounter.objects.select_for_update().filter(series=series).order_by("shard")
    )
    limit = series.max_redemptions
    if limit is None:
        for row in rows:
            row.quota = None
    else:
        used = sum(row.used for row in rows)
        for row, share in zip(rows, quotas_split(max(limit - used, 0), len(rows)), strict=True):
            row.quota = row.used + (share or 0)
    CouponRedemptionCounter.objects.bulk_update(rows, ["quota"])


def _table() -> str:
    return CouponRedemptionCounter._meta.db_table


def _take_any_sql(vendor: str) -> str:
    """One unit from any shard with room, starting at a given one; on PostgreSQL shards whose
    row another transaction holds are skipped, so this never waits (and never deadlocks)."""
    table = _table()
    lock = " FOR UPDATE SKIP LOCKED" if vendor == "postgresql" else ""
    return (
        f"UPDATE {table} SET used = used + 1, latest_redeemed_at = %s "  # noqa: S608
        f"WHERE id = (SELECT id FROM {table} WHERE series_id = %s "
        "AND (quota IS NULL OR used < quota) "
        f"ORDER BY (shard + %s) %% %s LIMIT 1{lock}) "
        "AND (quota IS NULL OR used < quota) RETURNING shard"
    )


def _take_shard_sql() -> str:
    return (
        f"UPDATE {_table()} SET used = used + 1, latest_redeemed_at = %s "  # noqa: S608
        "WHERE series_id = %s AND shard = %s AND (quota IS NULL OR used < quota) RETURNING shard"
    )


def _shards_with_room(series: CouponSeries) -> list[int] | None:
    """Shards with room as committed now (in-flight units count as free); None when the offer
    has no counter rows yet."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT shard, quota IS NULL OR used < quota FROM {_table()} "  # noqa: S608
            "WHERE series_id = %s",
            [series.pk],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    return [shard for shard, has_room in rows if has_room]


def _take_waiting(series: CouponSeries, at: datetime.datetime, shards: list[int]) -> int | None:
    """Try each shard, waiting for its row lock, each in a savepoint: a shard that turned out
    full is rolled back, which releases its row lock before the next one is tried, so two
    transactions never hold one shard each while waiting for the other's."""
    for shard in shards:
        savepoint = transaction.savepoint()
        with connection.cursor() as cursor:
            cursor.execute(_take_shard_sql(), [at, series.pk, shard])
            row = cursor.fetchone()
        if row is not None:
            transaction.savepoint_commit(savepoint)
            return int(row[0])
        transaction.savepoint_rollback(savepoint)
    return None


def counter_take_free_statement(*, series_id: int, at: datetime.datetime) -> tuple[str, list]:
    """`UPDATE ... RETURNING shard` taking one unit from a shard with room that no other
    transaction holds (starting at a random one), and its parameters; no row means none was
    free. Usable as a data-modifying CTE, so the caller's INSERT rides the same round trip."""
    shards = shard_count()
    start = random.randrange(shards)  # noqa: S311 - spreading load, not security
    return _take_any_sql(connection.vendor), [at, series_id, shards - start, shards]


def counter_take(
    *, series: CouponSeries, at: datetime.datetime, free_tried: bool = False
) -> int | None:
    """Count one redemption; returns the shard it was counted in, or None when the offer's
    total limit is reached (every shard full with committed redemptions). Runs inside the
    caller's transaction: the shard row stays locked until it commits or rolls back, and a
    rollback gives the unit back. `free_tried`: the caller already ran
    counter_take_free_statement and found no free shard."""
    if not free_tried:
        sql, params = counter_take_free_statement(series_id=series.pk, at=at)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is not None:
            return int(row[0])
    ensured = False
    while True:
        # Every shard with room is held by a transaction in flight (or the shards were just
        # created): wait for them one at a time until a unit is ours or none is left.
        room = _shards_with_room(series)
        if room is None and not ensured:
            counters_ensure(series=series)
            ensured = True
            continue
        if not room:
            return None
        random.shuffle(room)
        shard = _take_waiting(series, at, room)
        if shard is not None:
            return shard


def counter_give_back(*, series_id: int, shard: int) -> None:
    """Undo one counted redemption (a reversal) in the shard it was taken from."""
    CouponRedemptionCounter.objects.filter(series_id=series_id, shard=shard, used__gt=0).update(
        used=F("used") - 1
    )


def counters_used(*, series: CouponSeries) -> int:
    """An offer's active redemptions: the sum of its counter shards."""
    used = CouponRedemptionCounter.objects.filter(series=series).aggregate(total=Sum("used"))
    return int(used["total"] or 0)
