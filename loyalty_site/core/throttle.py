"""Fixed-window counters for throttling (failed coupon validations per till, per customer, ...).

With Redis (REDIS_URL) the counters are Redis keys (in the cache's database, under its key
prefix), read with one MGET and counted with one pipeline of INCRBY and EXPIRE NX (the window as
their time to live) however many subjects a failure counts against; without Redis they are
ThrottleCounter rows upserted with `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, atomic on
PostgreSQL and SQLite alike. A key names the subject and the window it falls in, so a new window
starts at zero by itself.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Sequence

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from loyalty_site.core.models import ThrottleCounter

CACHE_PREFIX = "throttle:"


def _uses_redis() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


_redis_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients.setdefault(url, redis.Redis.from_url(url))
    return client


def _redis_key(key: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:{CACHE_PREFIX}{key}"


def _window_key(name: str, window_seconds: int, now: float) -> str:
    return f"{name}@{int(now // window_seconds)}"


def throttle_counts(*, names: Sequence[str], window_seconds: int) -> dict[str, int]:
    """The current window's count of each counter name (0 when never hit)."""
    now = time.time()
    keys = {_window_key(name, window_seconds, now): name for name in names}
    if _uses_redis():
        found = _redis().mget([_redis_key(key) for key in keys])
        return {name: int(value or 0) for name, value in zip(keys.values(), found, strict=True)}
    rows = dict(ThrottleCounter.objects.filter(key__in=list(keys)).values_list("key", "count"))
    return {name: rows.get(key, 0) for key, name in keys.items()}


def throttle_hit_many(
    *, names: Sequence[str], window_seconds: int, count: int = 1
) -> dict[str, int]:
    """Count `count` events against each of `names` in the current window; returns each
    window's new count."""
    now = time.time()
    keys = {_window_key(name, window_seconds, now): name for name in names}
    if _uses_redis():
        pipeline = _redis().pipeline(transaction=False)
        for key in keys:
            pipeline.incrby(_redis_key(key), count)
            pipeline.expire(_redis_key(key), window_seconds + 1, nx=True)
        replies = pipeline.execute()
        return {name: int(replies[2 * index]) for index, name in enumerate(keys.values())}
    expires_at = timezone.now() + datetime.timedelta(seconds=window_seconds + 1)
    table = ThrottleCounter._meta.db_table
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        for key, name in keys.items():
            cursor.execute(
                f"INSERT INTO {table} (key, count, expires_at) VALUES (%s, %s, %s) "  # noqa: S608
                f"ON CONFLICT (key) DO UPDATE SET count = {table}.count + EXCLUDED.count "
                "RETURNING count",
                [key, count, expires_at],
            )
            counts[name] = int(cursor.fetchone()[0])
    return counts


def throttle_counters_purge(*, now: datetime.datetime | None = None) -> int:
    """Drop database counters whose window has passed; returns how many."""
    deleted, _ = ThrottleCounter.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
