"""The Redis cache backend keeps one client per connection pool."""

from __future__ import annotations

import os
import secrets

import pytest
import redis

from loyalty_site.core.cache import ReusedClientRedisCache

REDIS_LOCATION = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def _backend() -> ReusedClientRedisCache:
    return ReusedClientRedisCache(REDIS_LOCATION, {"KEY_PREFIX": f"t-{secrets.token_hex(4)}"})


def test_one_client_per_pool_for_reads_and_writes():
    cache = _backend()
    client = cache._cache.get_client()

    assert cache._cache.get_client() is client
    assert cache._cache.get_client(write=True) is client  # one server: one pool


def test_values_round_trip_through_the_shared_client():
    cache = _backend()
    try:
        cache.set("answer", {"value": 42}, 30)
    except redis.ConnectionError:
        pytest.skip("Redis is not running")
    assert cache.get("answer") == {"value": 42}
    assert cache.get_many(["answer", "missing"]) == {"answer": {"value": 42}}
    assert cache.add("answer-count", 1, 30)
    assert cache.incr("answer-count") == 2
    cache.delete_many(["answer", "answer-count"])
    assert cache.get("answer") is None
