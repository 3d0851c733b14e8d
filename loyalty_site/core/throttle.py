"""Fixed-window counters for throttling (failed coupon validations per till, per customer, ...).

With Redis (REDIS_URL) the counters are Redis keys incremented atomically through the cache with
the window as their time to live; without it they are ThrottleCounter rows upserted with
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, atomic on PostgreSQL and SQLite alike. A key
names the subject and the window it falls in, so a new window starts at zero by itself.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from loyalty_site.core.models import ThrottleCounter

CACHE_PREFIX = "throttle:"


def _uses_redis() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


def _window_key(name: str, window_seconds: int, now: float) -> str:
    return f"{name}@{int(now // window_seconds)}"


def throttle_counts(*, names: Sequence[str], window_seconds: int) -> dict[str, int]:
    """The current window's count of each counter name (0 when never hit)."""
    now = time.time()
    keys = {_window_key(name, window_seconds, now): name for name in names}
    if _uses_redis():
        found = cache.get_many([CACHE_PREFIX + key for key in keys])
        return {name: int(found.get(CACHE_PREFIX + key) or 0) for key, name in keys.items()}
    rows = dict(ThrottleCounter.objects.filter(key__in=list(keys)).values_list("key", "count"))
    return {name: rows.get(key, 0) for key, name in keys.items()}


def throttle_hit(*, name: str, window_seconds: int) -> int:
    """Count one event against `name` in the current window; returns the window's new count."""
    now = time.time()
    key = _window_key(name, window_seconds, now)
    if _uses_redis():
        cache_key = CACHE_PREFIX + key
        cache.add(cache_key, 0, timeout=window_seconds + 1)
        try:
            return int(cache.incr(cache_key))
        except ValueError:  # expired between add and incr: start the window again
            cache.add(cache_key, 1, timeout=window_seconds + 1)
            return 1
    expires_at = timezone.now() + datetime.timedelta(seconds=window_seconds + 1)
    table = ThrottleCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, count, expires_at) VALUES (%s, 1, %s) "  # noqa: S608
            f"ON CONFLICT (key) DO UPDATE SET count = {table}.count + 1 RETURNING count",
            [key, expires_at],
        )
        return int(cursor.fetchone()[0])


def throttle_counters_purge(*, now: datetime.datetime | None = None) -> int:
    """Drop database counters whose window has passed; returns how many."""
    deleted, _ = ThrottleCounter.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
