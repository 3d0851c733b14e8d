"""Fixed-window throttle counters, in Redis and in the database."""

from __future__ import annotations

import pytest
import redis

from loyalty_site.core import throttle

REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture(params=["database", "redis"])
def backend(request, settings, db):
    if request.param == "redis":
        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.ConnectionError:
            pytest.skip("Redis is not running")
        settings.REDIS_URL = REDIS_URL
        redis.Redis.from_url(REDIS_URL).flushdb()
    else:
        settings.REDIS_URL = ""
    return request.param


def test_hits_count_against_every_name_in_one_call(backend):
    names = ["t:till:1", "t:customer:9"]

    assert throttle.throttle_counts(names=names, window_seconds=300) == dict.fromkeys(names, 0)
    assert throttle.throttle_hit_many(names=names, window_seconds=300) == dict.fromkeys(names, 1)
    assert throttle.throttle_hit_many(names=names[:1], window_seconds=300, count=3) == {
        "t:till:1": 4
    }
    assert throttle.throttle_counts(names=names, window_seconds=300) == {
        "t:till:1": 4,
        "t:customer:9": 1,
    }


def test_redis_counters_expire_with_their_window(backend):
    if backend != "redis":
        pytest.skip("database counters are purged by the hourly job instead")
    throttle.throttle_hit_many(names=["t:till:2"], window_seconds=60)
    throttle.throttle_hit_many(names=["t:till:2"], window_seconds=60)

    client = redis.Redis.from_url(REDIS_URL)
    (key,) = client.keys("*t:till:2@*")
    assert 0 < client.ttl(key) <= 61
